package protocol

import "github.com/sioredis/sioredis/jsvalue"

// writer is the jsvalue.Writer that every encoder of this package writes
// with; the parts of messages (packets, options, flags) are its methods.
type writer struct{ jsvalue.Writer }

// Package protocol is the one place where the wire format of the Socket.IO
// Redis adapters is written down: channel and stream names, the message
// layouts of the classic, sharded, streams and legacy adapters with their
// encoders (byte for byte what the Node adapters and emitters write), and the
// decoders of every message they publish into a Message.
//
// Event arguments inside the messages are encoded by the rule of package
// jsvalue, and decoded messages carry their objects as jsvalue.Object in
// wire order.
//
// The functions of this package are safe for concurrent use.
package protocol

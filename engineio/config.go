package engineio

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// Transport names, as in the "transport" query parameter.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Config configures a Server. The zero value is valid: every zero field takes the default of the reference
// server, noted on the field.
type Config struct {
	// PingInterval is the time between two pings sent by the server, from the handshake or the client's last
	// pong. A ping goes out up to 50 ms early (a quarter of the shorter of PingInterval and PingTimeout if less),
	// so that a client that stops answering is closed PingTimeout after the ping and by PingInterval +
	// PingTimeout, what clients and the protocol's test suite expect, despite timer latency. Default 25 s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong answering a ping before closing the connection
	// with ReasonPingTimeout, counted from the moment the ping is sent (never less). A client that sends any
	// other packet meanwhile is alive: the first such packet after a ping starts the wait again (once per ping),
	// as the reference server does since engine.io 6.6.11. Default 20 s.
	PingTimeout time.Duration
	// MaxHTTPBufferSize is the largest message a client may send, in bytes: the largest long-polling request
	// body and the largest WebSocket message. It is announced to clients as maxPayload. A larger long-polling
	// body is answered 413 and closes the session, as engine.io 6.6.13 does. Default 1,000,000.
	MaxHTTPBufferSize int64
	// MaxHeaderBytes bounds the request line and headers of every request the server handles, counted as
	// Node's HTTP parser counts them against its maxHeaderSize: the bytes of the request target and of each
	// header name and value (Host included). A request of MaxHeaderBytes or more is answered 431 Request Header
	// Fields Too Large with "Connection: close", as Node's HTTP server answers it, before anything else is
	// done with it (OnConnectionError is not called: the reference server never sees such a request). The
	// http.Server's own MaxHeaderBytes (1 MB by default) applies first; this bound holds whatever that is, and
	// so bounds what a session keeps of its handshake (see Conn.Request). Default 16384 (Node's maxHeaderSize).
	MaxHeaderBytes int
	// HTTPRequestBodyTimeout bounds the reading of a long-polling POST's body, from the moment the server
	// starts reading it: a body that takes longer is answered 408 Request Timeout and the session is closed
	// with ReasonTransportError, as engine.io 6.6.13 does with its httpRequestBodyTimeout. It only ever
	// shortens the http.Server's own read deadline. Default 30 s (Node's httpRequestBodyTimeout).
	HTTPRequestBodyTimeout time.Duration
	// Transports lists the transports accepted, among TransportPolling and TransportWebSocket. Default both.
	Transports []string
	// DisableUpgrades refuses the upgrade from long-polling to WebSocket (the handshake then announces no upgrade).
	DisableUpgrades bool
	// UpgradeTimeout bounds the upgrade of a long-polling connection, from the WebSocket handshake to the
	// "upgrade" packet. Default 10 s.
	UpgradeTimeout time.Duration
	// AllowedOrigins lists the origins of browser pages allowed to connect from another site, such as
	// "https://example.com", or host patterns matched with path.Match such as "*.example.com"; "*" allows
	// every origin. A request without an Origin header, or whose origin is the server's own host, is always
	// allowed; any other origin is refused with 403. Allowed cross-origin requests get the CORS headers.
	AllowedOrigins []string
	// TrustedProxies lists the addresses (CIDR prefixes such as 127.0.0.1/32 or 10.0.0.0/8) of the reverse
	// proxies in front of the server. A request from one of them is taken as the client sent it to the proxy
	// (see FromTrustedProxyHeader): its Host from X-Forwarded-Host, which the origin check compares with
	// Origin, and its client address from X-Forwarded-For (or Forwarded's host= and for=, see ProxyHeader).
	// Empty: no header is trusted and the connection's own address and Host are used.
	TrustedProxies []netip.Prefix
	// ProxyHeader is the family of forwarding headers the TrustedProxies set: XForwardedFor (the default) or
	// Forwarded. The other family is never read.
	ProxyHeader ProxyHeader
	// AllowCredentials adds "Access-Control-Allow-Credentials: true" to CORS responses.
	AllowCredentials bool
	// AllowRequest, if not nil, is called for each handshake request; a non-nil error refuses it, with the
	// status and code of a *RequestError or else 403 Forbidden.
	AllowRequest func(r *http.Request) error
	// MaxQueuedMessages bounds the outgoing queue of each connection, in packets, the pongs answering the
	// client's WebSocket pings (and a v3 client's pings) included. When it is full, volatile messages are dropped first; if that is not
	// enough, the client is too slow and the connection is closed with ReasonSlowClient. Default 1024.
	MaxQueuedMessages int
	// CloseTimeout bounds a graceful close (Conn.Close), which first sends what is queued. Default 10 s.
	CloseTimeout time.Duration
	// Logger receives debug and warning records; default slog.Default().
	Logger *slog.Logger
	// InitialHeaders, if not nil, is called with the headers of the response that opens a session (the
	// handshake's long-polling response, or the 101 of a session that starts on WebSocket) and may change them,
	// e.g. to set a cookie; r is the handshake request. The reference server's "initial_headers" event. It runs
	// before Headers.
	InitialHeaders func(h http.Header, r *http.Request)
	// Headers, if not nil, is called with the headers of every successful Engine.IO response (each long-polling
	// response, each WebSocket 101, the handshake's included) and may change them; r is the request. The
	// reference server's "headers" event. Refused requests (see OnConnectionError) do not get it. On a
	// WebSocket 101, fields that are no valid header, or that would replace Upgrade, Connection or
	// Sec-WebSocket-Accept, are left out.
	Headers func(h http.Header, r *http.Request)
	// OnConnectionError, if not nil, is called for each request the server refuses before it reaches a session
	// (unknown transport or session, bad handshake method, a forbidden origin or AllowRequest refusal,
	// unsupported protocol version): the reference server's "connection_error" event. It runs on the request's
	// goroutine before the refusal is written, and must not keep e.Request past its return.
	//
	// InitialHeaders, Headers and OnConnectionError run on the goroutines of the requests, so concurrently with
	// each other: they must be safe for concurrent use.
	OnConnectionError func(e *ConnectionError)
	// AllowEIO3 accepts the clients of Engine.IO protocol v3 (engine.io-client 3.x, under socket.io-client 2.x):
	// a request whose EIO query parameter is not "4" is then served in v3 (its payload framing, binary
	// encoding and reversed heartbeat: the client pings every PingInterval, and the server closes a client that
	// has not pinged for PingInterval + PingTimeout with ReasonPingTimeout). Default false, as the reference
	// server's allowEIO3: such a request is refused with 400 and CodeUnsupportedVersion.
	AllowEIO3 bool
	// Metrics, if not nil, receives the server's observations (connections by transport, messages, bytes,
	// dropped volatile messages, closes by reason: see Metrics). Default nil: nothing is observed.
	Metrics Metrics

	noPoller bool // tests: read every WebSocket with a goroutine, as on systems without a poller
}

func (c Config) withDefaults() (Config, error) {
	if c.PingInterval == 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.MaxHTTPBufferSize == 0 {
		c.MaxHTTPBufferSize = 1_000_000
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = 16384
	}
	if c.HTTPRequestBodyTimeout == 0 {
		c.HTTPRequestBodyTimeout = 30 * time.Second
	}
	if c.UpgradeTimeout == 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxQueuedMessages == 0 {
		c.MaxQueuedMessages = 1024
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{TransportPolling, TransportWebSocket}
	}
	if c.PingInterval < 0 || c.PingTimeout < 0 || c.MaxHTTPBufferSize < 0 || c.UpgradeTimeout < 0 ||
		c.MaxQueuedMessages < 0 || c.CloseTimeout < 0 || c.MaxHeaderBytes < 0 || c.HTTPRequestBodyTimeout < 0 {
		return c, fmt.Errorf("%w: negative duration or size", ErrConfig)
	}
	for _, t := range c.Transports {
		if t != TransportPolling && t != TransportWebSocket {
			return c, fmt.Errorf("%w: unknown transport %q", ErrConfig, t)
		}
	}
	switch c.ProxyHeader {
	case "":
		c.ProxyHeader = XForwardedFor
	case XForwardedFor, Forwarded:
	default:
		return c, fmt.Errorf("%w: ProxyHeader %q (want %q or %q)", ErrConfig, c.ProxyHeader, XForwardedFor, Forwarded)
	}
	return c, nil
}

// ErrConfig is wrapped by the error of NewServer for an invalid Config.
var ErrConfig = errors.New("engineio: invalid config")

func (c *Config) allows(transport string) bool {
	for _, t := range c.Transports {
		if t == transport {
			return true
		}
	}
	return false
}

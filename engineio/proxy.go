package engineio

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ProxyHeader names the forwarding headers that the trusted reverse proxies set (Config.ProxyHeader). Only
// that family is read: a proxy passes on the headers it does not set as the client wrote them, so reading the
// other family would believe the client.
type ProxyHeader string

// The families of forwarding headers.
const (
	// XForwardedFor is X-Forwarded-For (to which each proxy appends the address it got the request from),
	// X-Forwarded-Host and X-Forwarded-Proto, as nginx, HAProxy, Go's httputil.ReverseProxy and most load
	// balancers set them, and the only ones Node's Express reads: the default.
	XForwardedFor ProxyHeader = "X-Forwarded-For"
	// Forwarded is RFC 7239's Forwarded header (for=, host=, proto=).
	Forwarded ProxyHeader = "Forwarded"
)

// FromTrustedProxy is FromTrustedProxyHeader with the X-Forwarded-* headers.
func FromTrustedProxy(r *http.Request, trusted []netip.Prefix) *http.Request {
	return FromTrustedProxyHeader(r, trusted, XForwardedFor)
}

// FromTrustedProxyHeader returns r as the client sent it to the reverse proxy in front of the server, when r
// comes from one of the trusted proxies (its RemoteAddr in one of the prefixes); otherwise, or with no prefix,
// r itself. The proxies' headers are those of family h (XForwardedFor when empty): the host is taken from the
// last X-Forwarded-Host (Forwarded: the last host=), the scheme (r.URL.Scheme) from X-Forwarded-Proto (proto=),
// and the client address (r.RemoteAddr, with port 0 when the proxy gives none) from the rightmost
// X-Forwarded-For entry (for=) that is not itself a trusted proxy: the entries to its left were written by
// the client. The other family is ignored, and so are all headers from any other address: a client could
// write them. The returned request is a shallow copy.
func FromTrustedProxyHeader(r *http.Request, trusted []netip.Prefix, h ProxyHeader) *http.Request {
	if len(trusted) == 0 {
		return r
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok || !isTrusted(peer) {
		return r
	}
	var host, proto string
	var chain []string // client first, as proxies append
	if h == Forwarded {
		for _, elem := range strings.Split(strings.Join(r.Header.Values("Forwarded"), ","), ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok {
					continue
				}
				v = strings.Trim(v, `"`)
				switch strings.ToLower(k) {
				case "for":
					chain = append(chain, v)
				case "host":
					host = v // the last proxy's word, the one we trust
				case "proto":
					proto = v
				}
			}
		}
	} else {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, a := range strings.Split(v, ",") {
				chain = append(chain, strings.TrimSpace(a))
			}
		}
		host = lastValue(r.Header.Values("X-Forwarded-Host"))
		proto = lastValue(r.Header.Values("X-Forwarded-Proto"))
	}
	out := r.Clone(r.Context())
	if host != "" {
		out.Host = host
	}
	if proto == "http" || proto == "https" {
		out.URL.Scheme = proto
	}
	for i := len(chain) - 1; i >= 0; i-- {
		a, ok := parseAddr(chain[i])
		if !ok {
			break // "unknown" or an obfuscated name: nothing further left can be trusted
		}
		out.RemoteAddr = chain[i]
		if _, _, err := net.SplitHostPort(chain[i]); err != nil {
			out.RemoteAddr = netip.AddrPortFrom(a, 0).String()
		}
		if !isTrusted(a) {
			break
		}
	}
	return out
}

func lastValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	parts := strings.Split(vs[len(vs)-1], ",")
	return strings.TrimSpace(parts[len(parts)-1])
}

// parseAddr parses "IP", "IP:port", "[IPv6]" or "[IPv6]:port".
func parseAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	return a.Unmap(), err == nil
}

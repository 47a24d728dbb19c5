package engineio

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// FromTrustedProxy returns r as the client sent it to the reverse proxy in front of the server, when r comes
// from one of the trusted proxies (its RemoteAddr in one of the prefixes); otherwise, or with no prefix, r
// itself. The host is taken from the Forwarded header's host= or else X-Forwarded-Host, the scheme (r.URL.Scheme)
// from proto= or X-Forwarded-Proto, and the client address (r.RemoteAddr, with port 0 when the proxy gives
// none) from the rightmost for= or X-Forwarded-For entry that is not itself a trusted proxy. Headers from any
// other address are ignored: a client could write them. The returned request is a shallow copy.
func FromTrustedProxy(r *http.Request, trusted []netip.Prefix) *http.Request {
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
	if fw := r.Header.Values("Forwarded"); len(fw) > 0 {
		for _, elem := range strings.Split(strings.Join(fw, ","), ",") {
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

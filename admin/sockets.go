package admin

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/sioredis/sioredis/jsvalue"
	"github.com/sioredis/sioredis/socketio"
)

// serializedSocket is a socket as the UI reads it (SerializedSocket of the UI's typings).
type serializedSocket struct {
	ID        string              `json:"id"`
	ClientID  string              `json:"clientId,omitempty"`
	Transport string              `json:"transport,omitempty"`
	Nsp       string              `json:"nsp"`
	Data      any                 `json:"data"`
	Handshake serializedHandshake `json:"handshake"`
	Rooms     []string            `json:"rooms"`
}

// serializedHandshake is socket.handshake as Node's admin serializes it (auth left out).
type serializedHandshake struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	Issued  int64             `json:"issued"`
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

func serializeHandshake(h socketio.Handshake) serializedHandshake {
	out := serializedHandshake{
		Headers: make(map[string]string, len(h.Headers)),
		Query:   make(map[string]string, len(h.Query)),
		Issued:  h.Time.UnixMilli(),
		Secure:  h.Secure,
		Time:    h.Time.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)"), // Date.toString()
		URL:     h.URL,
		XDomain: h.Headers.Get("Origin") != "",
	}
	for k, v := range h.Headers {
		out.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	for k, v := range h.Query {
		if len(v) > 0 {
			out.Query[k] = v[0]
		}
	}
	// As Node's admin: a CDN's or proxy's client address first, then the peer's (without its port).
	out.Address = h.Headers.Get("Cf-Connecting-Ip")
	if out.Address == "" {
		out.Address = h.Headers.Get("X-Forwarded-For")
	}
	if out.Address == "" {
		out.Address = h.Address
		if host, _, err := net.SplitHostPort(h.Address); err == nil {
			out.Address = host
		}
	}
	return out
}

// serializeLocal describes a socket of this server.
func serializeLocal(s *socketio.Socket) serializedSocket {
	c := s.Conn()
	return serializedSocket{
		ID:        s.ID(),
		ClientID:  clientID(c.ID()),
		Transport: c.Transport(),
		Nsp:       s.Namespace().Name(),
		Data:      userData(s.Data()),
		Handshake: serializeHandshake(s.Handshake()),
		Rooms:     s.Rooms(),
	}
}

// serializeRemote describes a socket found by FetchSockets on another server. A Node server's instrumented
// socket carries its client id and transport in data._admin, which is not shown as data.
func serializeRemote(nsp string, r socketio.RemoteSocket) serializedSocket {
	out := serializedSocket{ID: r.ID, Nsp: nsp, Data: userData(r.Data), Handshake: serializeHandshake(r.Handshake),
		Rooms: r.Rooms}
	if meta, ok := member(r.Data, "_admin"); ok {
		if v, ok := member(meta, "clientId"); ok {
			out.ClientID, _ = v.(string)
		}
		if v, ok := member(meta, "transport"); ok {
			out.Transport, _ = v.(string)
		}
	}
	if out.ClientID == "" {
		out.ClientID = clientID(r.ID) // a client of its own
	}
	if out.Rooms == nil {
		out.Rooms = []string{}
	}
	return out
}

// clientID is the client id the UI shows: the first 12 characters of the Engine.IO id, as Node's admin.
func clientID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// member returns the value of key in a JavaScript object as decoded (a map or a jsvalue.Object).
func member(v any, key string) (any, bool) {
	switch o := v.(type) {
	case map[string]any:
		x, ok := o[key]
		return x, ok
	case jsvalue.Object:
		for _, m := range o {
			if m.Key == key {
				return m.Value, true
			}
		}
	}
	return nil, false
}

// userData is the socket's data without the admin's own _admin member; nil is {} as Node's socket.data.
func userData(v any) any {
	switch o := v.(type) {
	case nil:
		return map[string]any{}
	case map[string]any:
		if _, ok := o["_admin"]; !ok {
			return o
		}
		out := make(map[string]any, len(o))
		for k, x := range o {
			if k != "_admin" {
				out[k] = x
			}
		}
		return out
	case jsvalue.Object:
		out := make(jsvalue.Object, 0, len(o))
		for _, m := range o {
			if m.Key != "_admin" {
				out = append(out, m)
			}
		}
		return out
	}
	return v
}

// allSockets is the "all_sockets" event's value: the sockets of every namespace of the cluster. A namespace whose
// other servers do not all answer in time gives the sockets that did.
func (a *Admin) allSockets(ctx context.Context) []serializedSocket {
	out := []serializedSocket{}
	for _, ns := range a.srv.Namespaces() {
		socks, err := ns.FetchSockets(ctx)
		if err != nil {
			a.log.Warn("admin: fetching the sockets of a namespace", "nsp", ns.Name(), "err", err)
		}
		for _, r := range socks {
			if s := ns.Socket(r.ID); s != nil {
				out = append(out, serializeLocal(s))
			} else {
				out = append(out, serializeRemote(ns.Name(), r))
			}
		}
	}
	return out
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MemorySessions is a SessionStore in memory: the sessions of one server (a UI reconnecting to another server of
// the cluster logs in again). Safe for concurrent use.
type MemorySessions struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	order *list.List // of memSession, oldest first
	byID  map[string]*list.Element
}

type memSession struct {
	id      string
	expires time.Time
}

// NewMemorySessions returns a store keeping each session for ttl, and at most max sessions (the oldest is
// forgotten first).
func NewMemorySessions(ttl time.Duration, max int) *MemorySessions {
	return &MemorySessions{ttl: ttl, max: max, order: list.New(), byID: make(map[string]*list.Element)}
}

// SaveSession keeps id for the store's ttl.
func (m *MemorySessions) SaveSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expireLocked(time.Now())
	if e, ok := m.byID[id]; ok {
		m.order.Remove(e)
	}
	m.byID[id] = m.order.PushBack(memSession{id, time.Now().Add(m.ttl)})
	for m.order.Len() > m.max {
		oldest := m.order.Front()
		m.order.Remove(oldest)
		delete(m.byID, oldest.Value.(memSession).id)
	}
	return nil
}

// SessionExists reports whether id is kept and not expired.
func (m *MemorySessions) SessionExists(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expireLocked(time.Now())
	_, ok := m.byID[id]
	return ok, nil
}

func (m *MemorySessions) expireLocked(now time.Time) {
	for e := m.order.Front(); e != nil && !now.Before(e.Value.(memSession).expires); e = m.order.Front() {
		m.order.Remove(e)
		delete(m.byID, e.Value.(memSession).id)
	}
}

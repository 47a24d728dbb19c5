package socketio

import (
	"net/netip"
	"slices"
)

// This file holds the listener management of a Socket that the reference server has beside On: removal,
// one-shot handlers, the any-listener family for received and sent events, and per-socket packet middlewares.
// Go functions are not comparable, so each method adding a listener returns the function removing it.

// Off removes the handler of event (set with On, Once, Handle or HandleAck), if any.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers = slices.DeleteFunc(s.handlers, func(h eventHandler) bool { return h.event == event })
}

// Once sets the handler of event, replacing any previous one, for the next such event only: the handler is
// removed when that event reaches it (an event a PacketMiddleware refuses does not).
func (s *Socket) Once(event string, h EventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.handlers {
		if s.handlers[i].event == event {
			s.handlers[i] = eventHandler{event, h, true}
			return
		}
	}
	s.handlers = appendHandler(s.handlers, eventHandler{event, h, true})
}

// OnAny adds a handler that receives every event, after those added before it, and returns the function that
// removes it (calling it again does nothing).
func (s *Socket) OnAny(h AnyHandler) (remove func()) {
	return s.addAny(h, false)
}

// PrependAny is OnAny adding h before the handlers added so far.
func (s *Socket) PrependAny(h AnyHandler) (remove func()) {
	return s.addAny(h, true)
}

func (s *Socket) addAny(h AnyHandler, first bool) func() {
	p := &h
	s.mu.Lock()
	defer s.mu.Unlock()
	hk := s.hooksLocked()
	if first {
		hk.any = slices.Insert(slices.Clip(hk.any), 0, p)
	} else {
		hk.any = append(slices.Clip(hk.any), p)
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if i := slices.Index(s.hooks.any, p); i >= 0 {
			// A new slice: dispatch may be iterating over the old one.
			s.hooks.any = slices.Delete(slices.Clone(s.hooks.any), i, i+1)
		}
	}
}

// OffAny removes every handler added with OnAny or PrependAny.
func (s *Socket) OffAny() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks != nil {
		s.hooks.any = nil
	}
}

// ListenersAny returns the handlers added with OnAny and PrependAny, in the order they run.
func (s *Socket) ListenersAny() []AnyHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		return nil
	}
	out := make([]AnyHandler, len(s.hooks.any))
	for i, p := range s.hooks.any {
		out[i] = *p
	}
	return out
}

// OnAnyOutgoing adds a handler called with every event sent to the client, after those added before it, and
// returns the function that removes it. As in the reference server, it sees the events of Emit, Volatile().Emit
// and EmitWithAck, and those of the broadcasts (Emit and EmitWithAck of a BroadcastOperator, from this server
// or another one of the cluster) delivered to this socket; not acknowledgements, nor the packets replayed to a
// recovered socket.
func (s *Socket) OnAnyOutgoing(h OutgoingHandler) (remove func()) {
	return s.addOutgoing(h, false)
}

// PrependAnyOutgoing is OnAnyOutgoing adding h before the handlers added so far.
func (s *Socket) PrependAnyOutgoing(h OutgoingHandler) (remove func()) {
	return s.addOutgoing(h, true)
}

func (s *Socket) addOutgoing(h OutgoingHandler, first bool) func() {
	p := &h
	s.mu.Lock()
	defer s.mu.Unlock()
	var hs []*OutgoingHandler
	if cur := s.outgoing.Load(); cur != nil {
		hs = slices.Clone(*cur)
	}
	if first {
		hs = slices.Insert(hs, 0, p)
	} else {
		hs = append(hs, p)
	}
	s.outgoing.Store(&hs)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		cur := s.outgoing.Load()
		if cur == nil {
			return
		}
		if i := slices.Index(*cur, p); i >= 0 {
			hs := slices.Delete(slices.Clone(*cur), i, i+1)
			if len(hs) == 0 {
				s.outgoing.Store(nil)
			} else {
				s.outgoing.Store(&hs)
			}
		}
	}
}

// OffAnyOutgoing removes every handler added with OnAnyOutgoing or PrependAnyOutgoing.
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outgoing.Store(nil)
}

// ListenersAnyOutgoing returns the handlers added with OnAnyOutgoing and PrependAnyOutgoing, in the order they
// run.
func (s *Socket) ListenersAnyOutgoing() []OutgoingHandler {
	cur := s.outgoing.Load()
	if cur == nil {
		return nil
	}
	out := make([]OutgoingHandler, len(*cur))
	for i, p := range *cur {
		out[i] = *p
	}
	return out
}

// notifyOutgoing calls the OnAnyOutgoing handlers with an event about to be sent to the socket.
func (s *Socket) notifyOutgoing(event string, args []any) {
	if hs := s.outgoing.Load(); hs != nil {
		for _, h := range *hs {
			(*h)(s, event, args)
		}
	}
}

// Use adds a middleware run for every event the socket receives, after those added before it: the reference
// server's socket.use. It is usually added in a ConnectionHandler.
func (s *Socket) Use(mw PacketMiddleware) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hk := s.hooksLocked()
	hk.use = append(slices.Clip(hk.use), mw)
}

// OnError adds a handler of the errors returned by the socket's PacketMiddlewares: the reference server's
// "error" event of a socket. Without one, such errors are logged at debug level. An event the client names
// "error" is an event like any other, for On("error", ...).
func (s *Socket) OnError(h func(err error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hk := s.hooksLocked()
	hk.errs = append(slices.Clip(hk.errs), h)
}

// reportError hands a middleware's error to the OnError handlers.
func (s *Socket) reportError(err error) {
	s.mu.Lock()
	var hs []func(error)
	if s.hooks != nil {
		hs = s.hooks.errs
	}
	s.mu.Unlock()
	if len(hs) == 0 {
		s.ns.srv.log.Debug("socketio: event refused by a middleware", "nsp", s.ns.name, "sid", s.id, "err", err)
		return
	}
	for _, h := range hs {
		h(err)
	}
}

// remoteIP returns the IP address of addr ("ip:port", as http.Request.RemoteAddr has it), or addr itself when it
// is not one.
func remoteIP(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().String()
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.String()
	}
	return addr
}

package socketio

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sioredis/sioredis/engineio"
	"github.com/sioredis/sioredis/internal/randid"
)

// RecoveryConfig turns on connection state recovery, as socket.io ≥ 4.6 does with its connectionStateRecovery
// option: a client that loses its connection and comes back within MaxDisconnectionDuration gets its socket id,
// rooms and data back, and every packet broadcast to it meanwhile, once and in order (socket.recovered is true
// in socket.io-client; Socket.Recovered here).
//
// As in the reference server, each broadcast packet that is not volatile and expects no acknowledgement
// (Socket.Emit included, which then goes through the namespace's broadcast to the socket's own room) carries one
// more argument, its offset: a string the client sends back when it reconnects. Handlers of socket.io-client see
// it as their last argument. The CONNECT answer carries the session's private id, "pid". A client that was
// disconnected by its own choice or by the server (Socket.Disconnect) gets no recovery.
//
// The sessions and packets are kept in memory, per namespace: a client recovers on the server it left.
type RecoveryConfig struct {
	// MaxDisconnectionDuration is how long a session and the packets broadcast after it are kept. Default 2
	// minutes, the reference server's.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the namespace's middlewares for a recovered socket too. Default false: they are
	// skipped, as the reference server's skipMiddlewares (true by default) does.
	RunMiddlewares bool
	// MaxPackets bounds the packets a namespace keeps for recovery (the oldest go first; a client whose offset
	// is gone is not recovered, and connects as a new socket). Default 10 000. The reference server keeps every
	// packet for MaxDisconnectionDuration.
	MaxPackets int
}

// recoverableReasons are the disconnections after which a session is kept, as the reference server's.
var recoverableReasons = map[DisconnectReason]bool{
	ReasonTransportError: true, ReasonTransportClose: true, ReasonForcedClose: true, ReasonPingTimeout: true,
	ReasonServerShuttingDown: true, ReasonForcedServerClose: true,
}

// session is what a disconnected socket leaves for its recovery.
type session struct {
	pid   string
	sid   string
	rooms []string
	data  any
	until time.Time
}

// storedPacket is a broadcast kept for recovery: its messages, offset included, and whom it was for.
type storedPacket struct {
	offset string
	at     time.Time
	rooms  []string
	except []string
	msgs   []engineio.Message
}

// recovery holds the sessions and packets of one namespace. Safe for concurrent use.
type recovery struct {
	cfg   RecoveryConfig
	epoch string // tells this namespace's offsets from those of an earlier process

	mu       sync.Mutex
	seq      uint64
	packets  []storedPacket // in offset order
	sessions map[string]session
}

func newRecovery(cfg RecoveryConfig) *recovery {
	return &recovery{cfg: cfg, epoch: randid.New()[:8], sessions: make(map[string]session)}
}

// nextOffset returns the offset of the next packet.
func (r *recovery) nextOffset() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	return r.epoch + "-" + strconv.FormatUint(r.seq, 36)
}

// store keeps a broadcast whose messages carry offset. Offsets are stored in the order their packets were
// delivered: the caller holds the namespace's delivery order (see Namespace.deliver).
func (r *recovery) store(offset string, rooms, except []string, msgs []engineio.Message) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trimLocked(now)
	if len(r.packets) >= r.cfg.MaxPackets {
		r.packets = slices.Delete(r.packets, 0, len(r.packets)-r.cfg.MaxPackets+1)
	}
	r.packets = append(r.packets, storedPacket{offset: offset, at: now, rooms: slices.Clone(rooms), except: slices.Clone(except), msgs: msgs})
}

// trimLocked drops the packets and sessions older than MaxDisconnectionDuration.
func (r *recovery) trimLocked(now time.Time) {
	cut := 0
	for cut < len(r.packets) && now.Sub(r.packets[cut].at) > r.cfg.MaxDisconnectionDuration {
		cut++
	}
	if cut > 0 {
		r.packets = slices.Delete(r.packets, 0, cut)
	}
	for pid, s := range r.sessions {
		if now.After(s.until) {
			delete(r.sessions, pid)
		}
	}
}

// persist keeps the session of a socket that disconnected for a recoverable reason.
func (r *recovery) persist(pid, sid string, rooms []string, data any) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trimLocked(now)
	r.sessions[pid] = session{pid: pid, sid: sid, rooms: rooms, data: data, until: now.Add(r.cfg.MaxDisconnectionDuration)}
}

// take takes the session pid back; ok is false when there is no such session, it expired, or offset is no longer
// kept (its packets cannot be replayed).
func (r *recovery) take(pid, offset string) (s session, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok = r.sessions[pid]
	if !ok {
		return session{}, false
	}
	delete(r.sessions, pid)
	if time.Now().After(s.until) || !slices.ContainsFunc(r.packets, func(p storedPacket) bool { return p.offset == offset }) {
		return session{}, false
	}
	return s, true
}

// missedSince returns the messages of the packets after offset that reach a socket in rooms (none when offset is
// no longer kept). Called with the namespace's deliverMu held, so that no packet falls between the replay and the
// socket joining its rooms.
func (r *recovery) missedSince(offset string, rooms []string) []engineio.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.packets, func(p storedPacket) bool { return p.offset == offset })
	if i < 0 {
		return nil
	}
	var missed []engineio.Message
	for _, p := range r.packets[i+1:] {
		if forRooms(rooms, p.rooms, p.except) {
			missed = append(missed, p.msgs...)
		}
	}
	return missed
}

// forRooms reports whether a packet for rooms minus except reaches a socket in mine.
func forRooms(mine, rooms, except []string) bool {
	for _, r := range mine {
		if slices.Contains(except, r) {
			return false
		}
	}
	if len(rooms) == 0 {
		return true
	}
	for _, r := range mine {
		if slices.Contains(rooms, r) {
			return true
		}
	}
	return false
}

// recoveryAuth reads the private session id and offset that socket.io-client adds to the auth payload of its
// CONNECT when it reconnects.
func recoveryAuth(auth json.RawMessage) (pid, offset string, ok bool) {
	var a struct {
		PID    *string `json:"pid"`
		Offset *string `json:"offset"`
	}
	if len(auth) == 0 || json.Unmarshal(auth, &a) != nil || a.PID == nil || a.Offset == nil {
		return "", "", false
	}
	return *a.PID, *a.Offset, true
}

// takeSession takes back the session that the CONNECT payload auth asks to recover, from the in-memory store or
// the cluster's; ok is false when there is none to recover.
func (ns *Namespace) takeSession(ctx context.Context, auth json.RawMessage) (s session, offset string, ok bool) {
	pid, offset, ok := recoveryAuth(auth)
	if !ok {
		return session{}, "", false
	}
	if ns.recovery != nil {
		s, ok = ns.recovery.take(pid, offset)
		return s, offset, ok
	}
	cs, ok, err := ns.recLink.TakeSession(ctx, pid, offset)
	if err != nil {
		ns.srv.log.Warn("socketio: session not recovered", "nsp", ns.name, "err", err)
		return session{}, "", false
	}
	if !ok {
		return session{}, "", false
	}
	return session{pid: cs.PID, sid: cs.SID, rooms: cs.Rooms, data: cs.Data}, offset, true
}

// replay returns the messages of the broadcasts after offset for a socket recovering with rooms; the namespace's
// deliverMu is held. With the cluster's recovery, the socket is then spared the broadcasts up to the last one
// replayed, which its transport may still be delivering.
func (ns *Namespace) replay(ctx context.Context, s *Socket, offset string, rooms []string) []engineio.Message {
	if ns.recovery != nil {
		return ns.recovery.missedSince(offset, rooms)
	}
	s.replayedTo = offset
	missed, err := ns.recLink.MissedSince(ctx, offset)
	if err != nil {
		ns.srv.log.Warn("socketio: missed packets not replayed", "nsp", ns.name, "sid", s.id, "err", err)
		return nil
	}
	var out []engineio.Message
	for _, m := range missed {
		if m.Offset != "" && ns.recLink.CompareOffsets(m.Offset, s.replayedTo) > 0 {
			s.replayedTo = m.Offset
		}
		if m.Type != ClusterBroadcast || m.Volatile || !forRooms(rooms, m.Rooms, m.Except) {
			continue
		}
		msgs, err := newEventPacket(ns.srv.parser, ns.name, m.Event, append(slices.Clip(m.Args), m.Offset)).messages()
		if err != nil {
			ns.srv.log.Warn("socketio: a missed packet cannot be encoded", "nsp", ns.name, "err", err)
			continue
		}
		out = append(out, msgs...)
	}
	return out
}

package socketio

import (
	"context"
	"errors"
	"strconv"
	"sync"
)

// memHub joins in-process servers into one cluster: each server's Config.Cluster is hub.node(). It follows the
// Cluster contract: messages reach every other server's link of the same namespace, in order, on one goroutine per
// link, never back to their sender; responses go to their To alone. Tests can also add a scripted server
// (hub.script) that sees each message and answers through its link.
type memHub struct {
	mu    sync.Mutex
	links []*memLink
	next  int
}

func (h *memHub) node() *memNode {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	return &memNode{hub: h, id: "node" + strconv.Itoa(h.next)}
}

// script adds a server that has namespace nsp only, whose handler is fn.
func (h *memHub) script(nsp string, fn func(l ClusterLink, m *ClusterMessage)) ClusterLink {
	var l ClusterLink
	l = h.node().Open(nsp, handlerFunc(func(m *ClusterMessage) { fn(l, m) }))
	return l
}

type handlerFunc func(m *ClusterMessage)

func (f handlerFunc) HandleClusterMessage(m *ClusterMessage) { f(m) }

type memNode struct {
	hub *memHub
	id  string
}

func (n *memNode) Open(nsp string, h ClusterHandler) ClusterLink {
	l := &memLink{node: n, nsp: nsp, h: h, queue: make(chan *ClusterMessage, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	n.hub.mu.Lock()
	n.hub.links = append(n.hub.links, l)
	n.hub.mu.Unlock()
	return l
}

func (n *memNode) Close() error { return nil }

type memLink struct {
	node  *memNode
	nsp   string
	h     ClusterHandler
	queue chan *ClusterMessage
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

var errMemClosed = errors.New("memcluster: link closed")

func (l *memLink) run() {
	defer close(l.done)
	for {
		select {
		case m := <-l.queue:
			l.h.HandleClusterMessage(m)
		case <-l.stop:
			return
		}
	}
}

func (l *memLink) peers() []*memLink {
	l.node.hub.mu.Lock()
	defer l.node.hub.mu.Unlock()
	var out []*memLink
	for _, o := range l.node.hub.links {
		if o.nsp == l.nsp && o.node != l.node {
			out = append(out, o)
		}
	}
	return out
}

func (l *memLink) Send(ctx context.Context, m *ClusterMessage) error {
	select {
	case <-l.stop:
		return errMemClosed
	default:
	}
	for _, o := range l.peers() {
		if m.To != "" && o.node.id != m.To {
			continue
		}
		c := *m
		c.From = l.node.id
		select {
		case o.queue <- &c:
		case <-o.stop:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (l *memLink) ServerCount(ctx context.Context) (int, error) { return 1 + len(l.peers()), nil }

func (l *memLink) Close() error {
	l.once.Do(func() {
		l.node.hub.mu.Lock()
		for i, o := range l.node.hub.links {
			if o == l {
				l.node.hub.links = append(l.node.hub.links[:i], l.node.hub.links[i+1:]...)
				break
			}
		}
		l.node.hub.mu.Unlock()
		close(l.stop)
	})
	<-l.done
	return nil
}

// roomLog is a ClusterLink that records the RoomObserver calls.
type roomLog struct {
	ClusterLink
	mu     sync.Mutex
	events []string
}

func (r *roomLog) RoomCreated(room string) {
	r.mu.Lock()
	r.events = append(r.events, "+"+room)
	r.mu.Unlock()
}
func (r *roomLog) RoomDeleted(room string) {
	r.mu.Lock()
	r.events = append(r.events, "-"+room)
	r.mu.Unlock()
}

type roomLogCluster struct {
	*memNode
	links map[string]*roomLog
}

func (c *roomLogCluster) Open(nsp string, h ClusterHandler) ClusterLink {
	l := &roomLog{ClusterLink: c.memNode.Open(nsp, h)}
	c.links[nsp] = l
	return l
}

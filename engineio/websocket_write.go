package engineio

import (
	"errors"
	"net"
	"sync"

	"github.com/sioredis/sioredis/engineio/internal/netpoll"
	"github.com/sioredis/sioredis/internal/eiopacket"
	"github.com/sioredis/sioredis/internal/wsproto"
)

// This file holds the writing side of a WebSocket connection: the batch that turns what a Conn has queued into
// one vectored write, the non-blocking write of a flusher (or of Send itself), and the goroutine that waits for
// a full socket. wsConn.wmu serialises the writes to the socket.

var batchPool = sync.Pool{New: func() any { return new(frameBatch) }}

// frameBatch turns queued packets into the buffers of one vectored write, reusing its storage.
type frameBatch struct {
	v3, b64 bool // the connection's protocol is v3 (and its WebSocket asked for base64)
	batch   []queued
	scratch []byte // frame headers and small payloads
	ends    []int  // end offset in scratch of each queued packet, or -1 for a prepared frame
	bufs    net.Buffers
	iovs    []netpoll.Iovec
}

// take moves what c has queued into b and returns true, or returns false when there is nothing to write: then
// the writer ends (writing is false again), and closing reports that the connection is closing gracefully, so
// that the writer sends the close frame (closeGracefully).
func (b *frameBatch) take(c *Conn) (ok, closing bool) {
	c.mu.Lock()
	if len(c.queue) == 0 || c.state == stateClosed {
		closing = c.state == stateClosing
		c.writing = false
		c.queue = nil // an idle connection keeps no buffer
		c.mu.Unlock()
		return false, closing
	}
	b.batch = c.takeLocked(b.batch)
	b.v3, b.b64 = c.eio3, c.eio3 && c.ws != nil && c.ws.b64
	c.mu.Unlock()
	b.encode()
	return true, false
}

// closeGracefully ends a graceful close once everything queued is written: the close frame, then the close.
func (c *Conn) closeGracefully(ws *wsConn) {
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	ws.sendClose(wsproto.CloseNormal)
	c.close(reason, false)
}

// encode fills bufs with the frames of batch: headers (and small payloads) go into scratch, large payloads and
// prepared frames are written from where they are.
func (b *frameBatch) encode() {
	b.scratch, b.ends = b.scratch[:0], b.ends[:0]
	for _, q := range b.batch {
		if q.frame != nil {
			b.ends = append(b.ends, -1)
			continue
		}
		if b.v3 && q.p.Binary {
			b.scratch = appendFrameV3(b.scratch, q.p, b.b64, !b.b64 && len(q.p.Data) > inlinePayload)
		} else {
			b.scratch = appendFrame(b.scratch, q.p, len(q.p.Data) > inlinePayload)
		}
		b.ends = append(b.ends, len(b.scratch))
	}
	b.bufs = b.bufs[:0]
	start := 0
	for i, q := range b.batch {
		if b.ends[i] < 0 {
			b.bufs = append(b.bufs, q.frame)
			continue
		}
		b.bufs = append(b.bufs, b.scratch[start:b.ends[i]])
		start = b.ends[i]
		if len(q.p.Data) > inlinePayload && !(b.b64 && q.p.Binary) {
			b.bufs = append(b.bufs, q.p.Data)
		}
	}
}

// reset drops the references to the written data.
func (b *frameBatch) reset() {
	clear(b.bufs[:cap(b.bufs)])
	b.bufs = b.bufs[:0]
}

// flushReady writes, without blocking, what the connection has queued (called by a flusher of the server's
// pool, for a connection whose socket can be written without a goroutine). When the socket's buffer fills up,
// the rest is handed to a goroutine of the connection's own, which waits for the socket (writeWS).
func (c *Conn) flushReady(ws *wsConn, b *frameBatch) {
	for {
		ok, closing := b.take(c)
		if !ok {
			if closing {
				// The close frame may wait for a full socket: not on a flusher.
				go func() {
					defer c.srv.wg.Done()
					c.closeGracefully(ws)
				}()
				return
			}
			break
		}
		total := 0
		for _, x := range b.bufs {
			total += len(x)
		}
		written := 0
		var err error
		all := b.bufs // consume moves b.bufs's start; all is reset after the write
		ws.wmu.Lock()
		for written < total && err == nil {
			var n int
			n, b.iovs, err = netpoll.TryWritev(ws.rc, b.bufs, b.iovs)
			written += n
			consume(&b.bufs, n)
		}
		ws.wmu.Unlock()
		switch {
		case errors.Is(err, netpoll.ErrWouldBlock):
			// A slow reader: its own goroutine waits for the socket, with the rest of this batch.
			rest := append(net.Buffers(nil), b.bufs...)
			b.bufs = all
			b.reset()
			go c.writeWS(ws, rest)
			return
		case err != nil:
			b.bufs = all
			b.reset()
			c.writeFailed()
			c.srv.wg.Done()
			return
		}
		b.bufs = all
		b.reset()
	}
	c.srv.wg.Done() // the writer's count, taken in wakeAndUnlock
}

// consume drops the first n bytes of bufs.
func consume(bufs *net.Buffers, n int) {
	for len(*bufs) > 0 && n > 0 {
		if n < len((*bufs)[0]) {
			(*bufs)[0] = (*bufs)[0][n:]
			return
		}
		n -= len((*bufs)[0])
		*bufs = (*bufs)[1:]
	}
	for len(*bufs) > 0 && len((*bufs)[0]) == 0 {
		*bufs = (*bufs)[1:]
	}
}

// writeWS is the connection's writer goroutine on WebSocket when the socket cannot be written without waiting:
// it first writes rest, then everything queued, and ends when the queue is empty.
func (c *Conn) writeWS(ws *wsConn, rest net.Buffers) {
	defer c.srv.wg.Done() // the writer's count, taken in wakeAndUnlock
	if len(rest) > 0 {
		if err := ws.writeBuffers(&rest); err != nil {
			c.writeFailed()
			return
		}
	}
	var b frameBatch
	for {
		ok, closing := b.take(c)
		if !ok {
			if closing {
				c.closeGracefully(ws)
			}
			return
		}
		all := b.bufs // WriteTo consumes b.bufs
		err := ws.writeBuffers(&b.bufs)
		b.bufs = all
		b.reset()
		if err != nil {
			c.writeFailed()
			return
		}
	}
}

func (c *Conn) writeFailed() {
	c.mu.Lock()
	c.writing = false
	c.mu.Unlock()
	c.close(ReasonTransportError, false)
}

// inlinePayload is the largest payload copied next to its frame header rather than written from where it is.
const inlinePayload = 512

// writeFrame writes one frame at once (control frames, the probe).
func (w *wsConn) writeFrame(frame []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_, err := w.nc.Write(frame)
	return err
}

// writeBuffers writes frames with one system call where the connection allows it.
func (w *wsConn) writeBuffers(bufs *net.Buffers) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if fd, ok := w.nc.(*netpoll.FD); ok {
		_, err := fd.WriteBuffers(bufs)
		return err
	}
	_, err := bufs.WriteTo(w.nc)
	return err
}

// appendFrame appends the WebSocket frame carrying p: a binary frame holding the data of a binary message, or a
// text frame holding its eiopacket.AppendPacket encoding. With header only, the data itself is left out (the caller writes
// it from where it is).
func appendFrame(dst []byte, p eiopacket.Packet, headerOnly bool) []byte {
	if p.Binary {
		dst = wsproto.AppendHeader(dst, wsproto.OpBinary, len(p.Data))
	} else {
		dst = wsproto.AppendHeader(dst, wsproto.OpText, 1+len(p.Data))
		dst = append(dst, '0'+byte(p.Type))
	}
	if headerOnly {
		return dst
	}
	return append(dst, p.Data...)
}

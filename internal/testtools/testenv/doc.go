// Package testenv starts the real peers that the integration tests of sioredis talk to: redis-server processes (a
// standalone server or a Redis Cluster), Node.js Socket.IO servers with their official Redis adapters, and Node.js
// Socket.IO clients. It is imported only by tests.
//
// Everything started here is torn down by tb.Cleanup, in reverse order of start. Nothing is skipped when a tool is
// missing: the test fails with a message saying what to install, because CI installs everything (redis-server and
// redis-cli from Debian, node, and the Node peers with "npm ci --prefix testpeers").
//
// # Peers
//
// The Node programs live in testpeers/ at the repository root (see testpeers/README.md):
//
//   - server.js, started by [StartNodeServer], is one Socket.IO server of a given [Flavor]: socket.io 4.8 with the
//     classic, sharded or streams adapter, or socket.io 2.5.1 with socket.io-redis 5.4.0. It reports connections,
//     serverSideEmit events and disconnections as JSON lines ([Line]) and answers room queries.
//   - clients.js, started by [StartClients], holds many socket.io-client connections (v4 or v2) and reports every
//     event they receive ([Event]).
//   - golden.js and bench-emitter.js are one-shot scripts run with [RunNode].
//
// A server prints "ready" only once Redis has confirmed all its subscriptions (and, for the streams adapter, once
// its XREAD loops have read a probe entry), and a client counts as connected only once the server has joined the
// rooms it asked for (and confirmed the room subscriptions of the sharded dynamic modes). So a test may publish as
// soon as StartNodeServer and StartClients have returned. (The streams probe leaves one entry without an "nsp"
// field in each stream per server start; servers skip such entries.)
//
// Waits take a context and look at everything printed since the peer started, so an event that arrived before
// the call is found too. Clients never reconnect: a wait for an event of a client that has been disconnected
// fails at once, with the disconnection reason.
//
// # Proving non-delivery
//
// A test that checks that a client did NOT get a message must not rely on a sleep alone. Publish, after the message
// under test, a sentinel that every client gets, from the same goroutine (each publish is awaited, so Redis
// delivers them in order), wait for it with [Clients.WaitAll], and only then check with [Clients.AssertNoEvent]:
//
//	publish(ctx, channel, messageUnderTest) // must reach c1 only
//	publish(ctx, sentinelChannel, sentinel) // a broadcast of event "sentinel" to everyone
//	if err := clients.WaitAll(ctx, "sentinel"); err != nil {
//		t.Fatal(err)
//	}
//	clients.AssertNoEvent(t, "c2", "my_event_name")
//
// A server handles the messages of one Redis connection in order, and a client receives the packets of one
// connection in order, so when the sentinel has arrived the earlier message has been handled. This holds when both
// messages travel through one subscription connection of the server: classic Pub/Sub, one stream, or two sharded
// channels in the same hash slot. Messages in different slots of a Redis Cluster (for example "socket.io#/#" and
// "socket.io#/#room_777#") reach the server on different connections, with no order between them; there, add
// [Clients.AssertQuiet] for a grace period, or send the sentinel on the same channel as the message under test.
package testenv

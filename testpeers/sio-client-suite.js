"use strict";

// Scenarios run by real socket.io-client 4.x against the Go Socket.IO server (package socketio, test
// TestNodeClient). Usage:
//
//   node sio-client-suite.js --url http://127.0.0.1:PORT --mode polling|websocket|upgrade [--only NAME]
//        [--parser json|msgpack]
//
// --parser msgpack gives every client socket.io-msgpack-parser (the server must use it too).
// --only NAME,NAME runs those scenarios alone.
//
// Prints one JSON line per scenario: {"type":"result","name":N,"ok":true} or {...,"ok":false,"error":"..."},
// then {"type":"done"}. The server's handlers are set up by the Go test (see socketio/nodeclient_test.go).

const assert = require("node:assert/strict");
const { io } = require("socket.io-client");
const { parseArgs, print, log } = require("./lib/common");
const { transportsFor, once, runScenarios } = require("./lib/suite");

const args = parseArgs(process.argv.slice(2));
const URL = args.url;
const MODE = args.mode || "websocket";
const TRANSPORTS = transportsFor(MODE);
if (!URL || !TRANSPORTS) {
  log("usage: --url URL --mode polling|websocket|upgrade");
  process.exit(2);
}

const PARSER = args.parser || "json";
if (PARSER !== "json" && PARSER !== "msgpack") {
  log("usage: --parser json|msgpack");
  process.exit(2);
}
const parserOpts = PARSER === "msgpack" ? { parser: require("socket.io-msgpack-parser") } : {};

const opened = [];

function connect(nsp = "/", opts = {}) {
  const s = io(URL + nsp, { transports: TRANSPORTS, forceNew: true, reconnection: false, ...parserOpts, ...opts });
  opened.push(s);
  return s;
}


async function connected(s) {
  if (s.connected) return;
  const [err] = await Promise.race([
    once(s, "connect").then(() => [null]),
    once(s, "connect_error").then((a) => [a[0] || new Error("connect_error")]),
  ]);
  if (err) throw err;
}

// Upgrade mode: wait until the connection runs on WebSocket.
async function upgraded(s) {
  if (MODE !== "upgrade") return;
  const engine = s.io.engine;
  if (engine.transport.name !== "websocket") await once(engine, "upgrade");
  assert.equal(engine.transport.name, "websocket");
}

// The sentinel pattern: everything the server sent before "sentinel" has arrived once it has.
async function sentinel(...sockets) {
  await Promise.all(sockets.map((s) => {
    const p = once(s, "sentinel");
    s.emit("sentinel-please");
    return p;
  }));
}

const scenarios = {
  async "connect"() {
    const s = connect();
    const welcome = once(s, "welcome");
    await connected(s);
    const [info] = await welcome;
    assert.equal(info.id, s.id);
    assert.equal(info.nsp, "/");
    await upgraded(s);
    assert.equal(s.io.engine.transport.name, MODE === "polling" ? "polling" : "websocket");
  },

  async "echo"() {
    const s = connect();
    await connected(s);
    await upgraded(s);
    const got = once(s, "echo");
    s.emit("echo", "a", 1, { x: [1, 2], y: null }, "é€😀");
    assert.deepEqual(await got, ["a", 1, { x: [1, 2], y: null }, "é€😀"]);
  },

  async "ack from server"() {
    const s = connect();
    await connected(s);
    const res = await s.timeout(5000).emitWithAck("echo-ack", "hi", 42);
    assert.equal(res, "hi"); // the first argument of the acknowledgement
    const all = await new Promise((resolve) => s.emit("echo-ack", "x", 2, (...a) => resolve(a)));
    assert.deepEqual(all, ["x", 2]);
  },

  async "ack from client"() {
    const s = connect();
    s.on("question", (n, cb) => cb(n * 2, "done"));
    await connected(s);
    const answer = once(s, "answer");
    s.emit("ask-client", 21);
    assert.deepEqual(await answer, [42, "done"]);
  },

  async "typed ack"() {
    const s = connect();
    await connected(s);
    assert.deepEqual(await s.timeout(5000).emitWithAck("sum", { a: 2, b: 3 }), { sum: 5 });
  },

  async "binary both ways"() {
    const s = connect();
    await connected(s);
    await upgraded(s);
    const got = once(s, "echo");
    s.emit("echo", Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5]), list: [Buffer.from([6])] }, "text");
    const [b, obj, t] = await got;
    assert.deepEqual(Buffer.from(b), Buffer.from([1, 2, 3]));
    assert.deepEqual(Buffer.from(obj.nested), Buffer.from([4, 5]));
    assert.deepEqual(Buffer.from(obj.list[0]), Buffer.from([6]));
    assert.equal(t, "text");
    // A binary acknowledgement.
    const ack = await s.timeout(5000).emitWithAck("echo-ack", Buffer.from([9, 8]));
    assert.deepEqual(Buffer.from(ack), Buffer.from([9, 8]));
    // Binary sent by the server on its own.
    const bin = once(s, "bin");
    s.emit("send-binary");
    const [raw, meta] = await bin;
    assert.deepEqual(Buffer.from(raw), Buffer.from([0xca, 0xfe]));
    assert.deepEqual(Buffer.from(meta.inner), Buffer.from([0xbe, 0xef]));
    // Binary in an acknowledgement the server asks for.
    const answer = once(s, "answer");
    s.on("question", (n, cb) => cb(Buffer.from([n])));
    s.emit("ask-client", 7);
    const [a0] = await answer;
    assert.deepEqual(Buffer.from(a0), Buffer.from([7]));
  },

  async "struct with binary and time"() {
    const s = connect();
    await connected(s);
    await upgraded(s);
    const direct = once(s, "struct");
    const broadcast = once(s, "struct-broadcast");
    const acked = s.timeout(5000).emitWithAck("send-struct");
    for (const [f] of [await direct, await broadcast, [await acked]]) {
      assert.equal(f.name, "f.bin");
      // socket.io-client in Node gives Buffers for binary attachments (ArrayBuffers in a browser).
      assert.ok(Buffer.isBuffer(f.data) || f.data instanceof ArrayBuffer, `data is ${typeof f.data}`);
      assert.deepEqual(Buffer.from(f.data), Buffer.from([1, 2, 3]));
      assert.deepEqual(Buffer.from(f.parts.a), Buffer.from([4]));
      assert.deepEqual(Buffer.from(f.parts.b), Buffer.from([5, 6]));
      assert.equal(f.empty, null); // a nil []byte is null
      // time.Time is what JSON.stringify(new Date(...)) writes.
      assert.equal(f.at, new Date(Date.UTC(2017, 11, 19, 14, 0, 0, 7)).toJSON());
      assert.equal(f.at, "2017-12-19T14:00:00.007Z");
    }
  },

  async "volatile events are dropped, not queued"() {
    const s = connect();
    await connected(s);
    await upgraded(s);
    const got = { v: [], vb: [] };
    s.on("v", (i) => got.v.push(i));
    s.on("vb", (i) => got.vb.push(i));
    // 3000 volatile packets at once: queued, they would overflow the connection's queue (1024) and get the
    // client disconnected as too slow; dropped, they leave it connected.
    const done = once(s, "v-done", 10000);
    s.emit("volatile-burst", 3000);
    assert.deepEqual(await done, [3000]);
    assert.ok(s.connected);
    for (const list of [got.v, got.vb]) {
      assert.ok(list.length <= 3000, `${list.length} volatile events`);
      for (let i = 1; i < list.length; i++) assert.ok(list[i] > list[i - 1], "volatile events out of order");
    }
    // Over WebSocket the first one finds the queue empty and is sent.
    if (MODE !== "polling") assert.equal(got.v[0], 0);
    assert.ok(got.v.length + got.vb.length < 6000, "no volatile event was dropped");
    assert.equal(await s.timeout(5000).emitWithAck("echo-ack", "alive"), "alive");
  },

  async "disconnecting handler sees the rooms"() {
    const a = connect();
    const b = connect();
    await Promise.all([connected(a), connected(b)]);
    await a.timeout(5000).emitWithAck("join", "dr");
    await b.timeout(5000).emitWithAck("join", "dr");
    const leaving = once(b, "peer-leaving");
    const id = a.id;
    a.disconnect();
    const [info] = await leaving;
    assert.deepEqual(info, { id, room: "dr", reason: "client namespace disconnect", rooms: 2 });
  },

  async "server middleware"() {
    const s = connect("/", { auth: { banned: false } });
    const welcome = once(s, "welcome");
    await connected(s);
    assert.deepEqual((await welcome)[0].data, { checkedBy: "server middleware" });
    // It runs for every namespace, before the namespace's own middleware.
    for (const nsp of ["/", "/admin", "/dyn-7"]) {
      const r = connect(nsp, { auth: { banned: true, token: "secret" } });
      const [err] = await once(r, "connect_error");
      assert.equal(err.message, "banned");
      assert.deepEqual(err.data, { nsp });
    }
    const admin = connect("/admin", { auth: { token: "secret" } });
    const w2 = once(admin, "welcome");
    await connected(admin);
    assert.deepEqual((await w2)[0].data, { checkedBy: "server middleware" });
  },

  async "dynamic namespaces with auth"() {
    const red = connect("/team-red", { auth: { team: "red", token: "team-secret" } });
    const blue = connect("/team-blue", { auth: { team: "blue", token: "team-secret" } });
    const welcome = once(red, "welcome");
    await Promise.all([connected(red), connected(blue)]);
    assert.equal((await welcome)[0].nsp, "/team-red");
    // The matcher sees the auth payload: a client of another team does not get a namespace created. (As in
    // the reference server, the matcher only decides creations: a namespace that exists is joined through its
    // middlewares.)
    const intruder = connect("/team-yellow", { auth: { team: "blue", token: "team-secret" } });
    assert.equal((await once(intruder, "connect_error"))[0].message, "Invalid namespace");
    // The parent's middleware applies to the namespaces it creates.
    const badToken = connect("/team-green", { auth: { team: "green", token: "nope" } });
    assert.equal((await once(badToken, "connect_error"))[0].message, "bad team token");
    // A broadcast on the parent reaches every child namespace.
    const gotRed = once(red, "team-msg");
    const gotBlue = once(blue, "team-msg");
    await red.timeout(5000).emitWithAck("team-broadcast", "hello teams");
    assert.deepEqual(await gotRed, ["hello teams", "/team-red"]);
    assert.deepEqual(await gotBlue, ["hello teams", "/team-red"]);
  },

  async "rooms"() {
    const a = connect();
    const b = connect();
    const c = connect();
    await Promise.all([connected(a), connected(b), connected(c)]);
    assert.deepEqual((await a.timeout(5000).emitWithAck("join", "r1")).sort(), [a.id, "r1"].sort());
    await b.timeout(5000).emitWithAck("join", "r1");
    const seen = { a: [], b: [], c: [] };
    a.on("room-msg", (m) => seen.a.push(m));
    b.on("room-msg", (m) => seen.b.push(m));
    c.on("room-msg", (m) => seen.c.push(m));
    await a.timeout(5000).emitWithAck("to-room", "r1", "m1"); // socket.to(room): everyone in r1 but a
    await sentinel(a, b, c);
    assert.deepEqual(seen, { a: [], b: ["m1"], c: [] });
    await b.timeout(5000).emitWithAck("leave", "r1");
    await c.timeout(5000).emitWithAck("server-to-room", "r1", "m2"); // io.to(room): a only now
    await sentinel(a, b, c);
    assert.deepEqual(seen, { a: ["m2"], b: ["m1"], c: [] });
    await c.timeout(5000).emitWithAck("server-to-room-except", "r1", a.id, "m3");
    await sentinel(a, b, c);
    assert.deepEqual(seen, { a: ["m2"], b: ["m1"], c: [] });
  },

  async "broadcast with acks, all answer"() {
    const sockets = { a: connect(), b: connect(), c: connect() };
    const ctl = connect();
    await Promise.all([...Object.values(sockets), ctl].map(connected));
    for (const [name, s] of Object.entries(sockets)) {
      s.on("ping-all", (n, buf, cb) => cb(name, n + 1, Buffer.from(buf).toString("hex")));
      await s.timeout(5000).emitWithAck("join", "acks");
    }
    let ctlPinged = false;
    ctl.on("ping-all", () => (ctlPinged = true));
    const start = Date.now();
    // io.to("acks").timeout(5000).emitWithAck("ping-all", 41, bytes) on the server.
    const res = await ctl.timeout(10000).emitWithAck("broadcast-ack", "acks", 5000, 41);
    assert.equal(res.error, "");
    assert.equal(res.timedOut, false);
    res.answers.sort((x, y) => x[0].localeCompare(y[0]));
    assert.deepEqual(res.answers, [["a", 42, "010203"], ["b", 42, "010203"], ["c", 42, "010203"]]);
    // It returned when the last client answered, not at the deadline.
    assert.ok(Date.now() - start < 4000, `took ${Date.now() - start} ms`);
    assert.equal(ctlPinged, false);
    // Nobody in the room: no answers, at once.
    const empty = await ctl.timeout(10000).emitWithAck("broadcast-ack", "nobody-here", 5000, 0);
    assert.deepEqual(empty, { answers: [], error: "", timedOut: false, pending: 0 });
  },

  async "broadcast with acks, one client silent"() {
    // In a namespace other than "/": the ack id follows the namespace in the packet header.
    const opts = { auth: { token: "secret" } };
    const a = connect("/admin", opts);
    const b = connect("/admin", opts);
    const silent = connect("/admin", opts);
    await Promise.all([a, b, silent].map(connected));
    a.on("ping-all", (n, buf, cb) => cb("a", n));
    b.on("ping-all", (n, buf, cb) => setTimeout(() => cb("b", n), 50));
    let late = null;
    const pinged = new Promise((resolve) => silent.on("ping-all", (n, buf, cb) => { late = cb; resolve(); }));
    for (const s of [a, b, silent]) await s.timeout(5000).emitWithAck("join", "acks");
    const res = await a.timeout(10000).emitWithAck("broadcast-ack", "acks", 500, 7);
    await pinged;
    assert.equal(res.timedOut, true);
    assert.match(res.error, /acknowledgement not received: 2 acknowledgements of 3 clients/);
    assert.equal(res.pending, 0, "the silent client's acknowledgement is still expected after the timeout");
    res.answers.sort((x, y) => x[0].localeCompare(y[0]));
    assert.deepEqual(res.answers, [["a", 7], ["b", 7]]);
    // A late answer, once the server stopped waiting, is ignored; the connection goes on.
    late("silent", 7);
    assert.equal(await silent.timeout(5000).emitWithAck("echo-ack", "still here"), "still here");
    const again = await b.timeout(10000).emitWithAck("broadcast-ack", "acks", 300, 8);
    assert.equal(again.timedOut, true);
    assert.deepEqual(again.answers.map((x) => x[0]).sort(), ["a", "b"]);
  },

  async "fetch and join sockets"() {
    const a = connect();
    const b = connect();
    await Promise.all([connected(a), connected(b)]);
    await a.timeout(5000).emitWithAck("set-data", { name: "alice" });
    await a.timeout(5000).emitWithAck("join", "f1");
    await b.timeout(5000).emitWithAck("join", "f1");
    // Server: FetchSockets in f1, SocketsJoin f2 for f1, then list f2.
    const res = await a.timeout(5000).emitWithAck("fetch", "f1");
    assert.deepEqual(res.ids.sort(), [a.id, b.id].sort());
    assert.deepEqual(res.dataOfA, { name: "alice" });
    assert.deepEqual(res.inF2.sort(), [a.id, b.id].sort());
    const gone = once(b, "disconnect");
    await a.timeout(5000).emitWithAck("disconnect-room", b.id);
    assert.equal((await gone)[0], "io server disconnect");
  },

  async "namespace auth accepted"() {
    const s = connect("/admin", { auth: { token: "secret" } });
    const welcome = once(s, "welcome");
    await connected(s);
    const [info] = await welcome;
    assert.equal(info.nsp, "/admin");
    assert.deepEqual(info.auth, { token: "secret" });
  },

  async "namespace auth refused"() {
    const s = connect("/admin", { auth: { token: "wrong" } });
    const [err] = await once(s, "connect_error");
    assert.equal(err.message, "not authorized");
    assert.deepEqual(err.data, { code: 401 });
    assert.equal(s.connected, false);
  },

  async "unknown namespace"() {
    const s = connect("/nope");
    const [err] = await once(s, "connect_error");
    assert.equal(err.message, "Invalid namespace");
  },

  async "dynamic namespace"() {
    const s = connect("/dyn-42");
    const welcome = once(s, "welcome");
    await connected(s);
    assert.equal((await welcome)[0].nsp, "/dyn-42");
  },

  // A handler that decodes what it receives and sends it on (a relay) sends what the client sent: binary inside a
  // struct or a map stays binary (Args.Decode), objects keep their key order (Args.ValuesOrdered), and an argument
  // passed on as it came (a json.RawMessage from Args.Raw) keeps a lone surrogate, as a Node server does.
  async "relay fidelity"() {
    const s = connect();
    await connected(s);
    await upgraded(s);
    const isBinary = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer;
    const sent = { k: Buffer.from([3]), list: [Buffer.from([4]), "x"], map: { b: Buffer.from([5]) }, s: "text" };
    const viaStruct = await s.timeout(5000).emitWithAck("relay-struct", sent);
    assert.ok(isBinary(viaStruct.k) && isBinary(viaStruct.list[0]) && isBinary(viaStruct.map.b), JSON.stringify(viaStruct));
    assert.deepEqual(Buffer.from(viaStruct.k), Buffer.from([3]));
    assert.deepEqual(Buffer.from(viaStruct.list[0]), Buffer.from([4]));
    assert.deepEqual(Buffer.from(viaStruct.map.b), Buffer.from([5]));
    assert.equal(viaStruct.list[1], "x");
    assert.equal(viaStruct.s, "text");
    const typedGot = once(s, "relayed-typed");
    s.emit("relay-typed", { k: Buffer.from([6]) });
    const [typed] = await typedGot;
    assert.ok(isBinary(typed.k), JSON.stringify(typed));
    assert.deepEqual(Buffer.from(typed.k), Buffer.from([6]));
    const ordered = await s.timeout(5000).emitWithAck("relay-ordered", { z: 1, bin: Buffer.from([7]), a: { y: 2, b: [3] } });
    assert.deepEqual(Object.keys(ordered), ["z", "bin", "a"]);
    assert.deepEqual(Object.keys(ordered.a), ["y", "b"]);
    assert.deepEqual(Buffer.from(ordered.bin), Buffer.from([7]));
    if (PARSER === "json") {
      // notepack.io (the msgpack parser's codec) cannot write a lone surrogate: the JSON parser only.
      assert.equal(await s.timeout(5000).emitWithAck("relay-raw", "a\ud800b"), "a\ud800b");
      const nested = { "k\udc00": ["\ud83d", "\ud83d\ude00"] };
      assert.deepEqual(await s.timeout(5000).emitWithAck("relay-raw", nested), nested);
    }
  },

  async "two namespaces on one connection"() {
    const main = io(URL + "/", { transports: TRANSPORTS, forceNew: true, reconnection: false, ...parserOpts });
    opened.push(main);
    const admin = main.io.socket("/admin", { auth: { token: "secret" } });
    opened.push(admin);
    await Promise.all([connected(main), connected(admin)]);
    assert.equal(main.io.engine.id, admin.io.engine.id);
    const got = once(admin, "echo");
    admin.emit("echo", "on admin");
    assert.deepEqual(await got, ["on admin"]);
  },

  async "server disconnects"() {
    const s = connect();
    await connected(s);
    const d = once(s, "disconnect");
    s.emit("disconnect-me", false);
    assert.equal((await d)[0], "io server disconnect");
    const s2 = connect();
    await connected(s2);
    const d2 = once(s2, "disconnect");
    s2.emit("disconnect-me", true);
    assert.equal((await d2)[0], "io server disconnect");
  },

  async "client disconnects"() {
    const s = connect();
    await connected(s);
    const id = s.id;
    s.disconnect();
    const probe = connect();
    await connected(probe);
    // The server records disconnect reasons; ask it (it may take a moment to see the close).
    for (let i = 0; i < 50; i++) {
      const reason = await probe.timeout(5000).emitWithAck("reason-of", id);
      if (reason) {
        assert.equal(reason, "client namespace disconnect");
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("server never saw the disconnection");
  },

  async "heartbeat"() {
    // The test server pings every 200 ms: the connection must survive several pings.
    const s = connect();
    await connected(s);
    let pings = 0;
    s.io.on("ping", () => pings++);
    await new Promise((r) => setTimeout(r, 900));
    assert.ok(pings >= 2, `only ${pings} pings`);
    assert.ok(s.connected);
    assert.deepEqual(await s.timeout(5000).emitWithAck("echo-ack", "still here"), "still here");
  },

  async "reconnects after server restart"() {
    const s = connect("/", { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
    await connected(s);
    await upgraded(s);
    const firstId = s.id;
    const d = once(s, "disconnect");
    s.emit("restart-server");
    const [reason] = await d;
    // A long-polling client whose GET was not pending at that moment sees its next request fail instead.
    assert.ok(reason === "transport close" || (MODE === "polling" && reason === "transport error"), reason);
    await once(s, "connect", 10000);
    assert.notEqual(s.id, firstId);
    assert.deepEqual(await s.timeout(5000).emitWithAck("echo-ack", "back"), "back");
  },
};

// Run with --only: they expect a server set up otherwise.
const extraScenarios = {
  // A client whose parser is not the server's is disconnected at its first packet, without connecting.
  async "other parser refused"() {
    const other = PARSER === "msgpack" ? {} : { parser: require("socket.io-msgpack-parser") };
    const s = io(URL + "/", { transports: TRANSPORTS, forceNew: true, reconnection: false, ...other });
    opened.push(s);
    const outcome = await Promise.race([
      once(s, "connect", 5000).then(() => "connected"),
      once(s, "disconnect", 5000).then(([reason]) => "disconnect: " + reason),
      once(s, "connect_error", 5000).then(([e]) => "connect_error: " + e.message),
    ]);
    assert.equal(outcome, "disconnect: transport close");
    assert.equal(s.connected, false);
  },
};
Object.assign(scenarios, extraScenarios);
const defaultNames = Object.keys(scenarios).filter((n) => !(n in extraScenarios));

runScenarios(scenarios, args.only ? args.only.split(",") : defaultNames, opened);

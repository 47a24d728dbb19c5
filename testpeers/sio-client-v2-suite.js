"use strict";

// Scenarios run by real socket.io-client 2.5 (Socket.IO protocol v4 over Engine.IO v3) against the Go Socket.IO
// server started with engineio.Config.AllowEIO3 (package socketio, test TestNodeClientV2). Usage:
//
//   node sio-client-v2-suite.js --url http://127.0.0.1:PORT --mode polling|websocket|upgrade|base64 [--only NAME]
//
// "base64" is polling upgraded to websocket with forceBase64 (binary as "b4..." text). Output as
// sio-client-suite.js: one {"type":"result","name":N,"ok":bool,"error":...} line per scenario, then {"type":"done"}.
// The server's handlers are those of socketio/nodeclient_test.go (suiteHandlers).

const assert = require("node:assert/strict");
const ioc = require("socket.io-client-v2");
const { parseArgs, print, log } = require("./lib/common");
const { transportsFor, once, runScenarios } = require("./lib/suite");

const args = parseArgs(process.argv.slice(2));
const URL = args.url;
const MODE = args.mode || "websocket";
const TRANSPORTS = transportsFor(MODE);
if (!URL || !TRANSPORTS) {
  log("usage: --url URL --mode polling|websocket|upgrade|base64");
  process.exit(2);
}
// The test server's heartbeat (TestNodeClientV2): a client that stops pinging is closed after 1 s.
const PING_INTERVAL = 250;
const PING_TIMEOUT = 750;

const opened = [];

function connect(nsp = "/", opts = {}) {
  const s = ioc(URL + nsp, { transports: TRANSPORTS, forceNew: true, reconnection: false, forceBase64: MODE === "base64", ...opts });
  opened.push(s);
  return s;
}


// Connected, or the ERROR packet's data (socket.io-client 2 emits it as "error").
async function connected(s) {
  if (s.connected) return;
  const [err] = await Promise.race([
    once(s, "connect").then(() => [null]),
    once(s, "error").then((a) => [a[0] === undefined ? new Error("error") : a[0]]),
    once(s, "connect_error").then((a) => [a[0] || new Error("connect_error")]),
  ]);
  if (err) throw new Error("not connected: " + JSON.stringify(err.message || err));
}

async function upgraded(s) {
  if (MODE !== "upgrade" && MODE !== "base64") return;
  const engine = s.io.engine;
  if (engine.transport.name !== "websocket") await once(engine, "upgrade");
  assert.equal(engine.transport.name, "websocket");
}

function withAck(s, ...a) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ack for ${a[0]}`)), 5000);
    s.emit(...a, (...res) => {
      clearTimeout(t);
      resolve(res);
    });
  });
}

async function reasonOf(probe, id) {
  for (let i = 0; i < 100; i++) {
    const [reason] = await withAck(probe, "reason-of", id);
    if (reason) return reason;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("server never saw the disconnection of " + id);
}

const scenarios = {
  async "connect"() {
    const s = connect();
    const welcome = once(s, "welcome");
    await connected(s);
    const [info] = await welcome;
    // socket.io-client 2 computes its id: the Engine.IO id on "/".
    assert.equal(s.id, s.io.engine.id);
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
    assert.deepEqual(await withAck(s, "echo-ack", "x", 2), ["x", 2]);
    assert.deepEqual(await withAck(s, "sum", { a: 2, b: 3 }), [{ sum: 5 }]);
  },

  async "ack from client"() {
    const s = connect();
    s.on("question", (n, cb) => cb(n * 2, "done"));
    await connected(s);
    const answer = once(s, "answer");
    s.emit("ask-client", 21);
    assert.deepEqual(await answer, [42, "done"]);
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
    // A binary acknowledgement, from the server and from the client.
    const [ack] = await withAck(s, "echo-ack", Buffer.from([9, 8]));
    assert.deepEqual(Buffer.from(ack), Buffer.from([9, 8]));
    const bin = once(s, "bin");
    s.emit("send-binary");
    const [raw, meta] = await bin;
    assert.deepEqual(Buffer.from(raw), Buffer.from([0xca, 0xfe]));
    assert.deepEqual(Buffer.from(meta.inner), Buffer.from([0xbe, 0xef]));
    const answer = once(s, "answer");
    s.on("question", (n, cb) => cb(Buffer.from([n, 0xff])));
    s.emit("ask-client", 7);
    const [a0] = await answer;
    assert.deepEqual(Buffer.from(a0), Buffer.from([7, 0xff]));
    // A large binary value (written from where it is on WebSocket).
    const big = Buffer.alloc(70000, 0xab);
    const gotBig = once(s, "echo");
    s.emit("echo", big);
    assert.deepEqual(Buffer.from((await gotBig)[0]), big);
  },

  async "struct with binary and time"() {
    const s = connect();
    await connected(s);
    const direct = once(s, "struct");
    const broadcast = once(s, "struct-broadcast");
    const acked = withAck(s, "send-struct");
    for (const [f] of [await direct, await broadcast, await acked]) {
      assert.equal(f.name, "f.bin");
      assert.deepEqual(Buffer.from(f.data), Buffer.from([1, 2, 3]));
      assert.equal(f.at, "2017-12-19T14:00:00.007Z");
    }
  },

  async "rooms"() {
    const a = connect();
    const b = connect();
    await Promise.all([connected(a), connected(b)]);
    await withAck(a, "join", "r1");
    await withAck(b, "join", "r1");
    const ga = once(a, "room-msg");
    const gb = once(b, "room-msg");
    await withAck(a, "server-to-room", "r1", "hello room");
    assert.deepEqual(await ga, ["hello room"]);
    assert.deepEqual(await gb, ["hello room"]);
  },

  async "namespace with query"() {
    const s = connect("/admin", { query: { token: "secret" } });
    const welcome = once(s, "welcome");
    await connected(s);
    const [info] = await welcome;
    assert.equal(info.nsp, "/admin");
    assert.equal(s.id, "/admin#" + s.io.engine.id);
    assert.equal(info.id, s.id);
    // The namespace's query is the socket's auth, as the reference server makes it.
    assert.deepEqual(info.auth, { token: "secret" });
    const got = once(s, "echo");
    s.emit("echo", "in admin", Buffer.from([1]));
    const [text, bin] = await got;
    assert.equal(text, "in admin");
    assert.deepEqual(Buffer.from(bin), Buffer.from([1]));
  },

  async "two namespaces on one connection"() {
    const root = connect();
    await connected(root);
    // The Manager's handshake has no query: the namespace's alone carries the token.
    const admin = root.io.socket("/admin", { query: "token=secret" });
    const welcome = once(admin, "welcome");
    await connected(admin);
    const [info] = await welcome;
    assert.deepEqual(info.auth, { token: "secret" });
    // ... and it is in the handshake query too, as socket.io 2 servers merged it.
    assert.equal(info.queryToken, "secret");
    assert.equal(root.io.engine, admin.io.engine);
    assert.deepEqual(await withAck(admin, "echo-ack", "a"), ["a"]);
    assert.deepEqual(await withAck(root, "echo-ack", "r"), ["r"]);
    // Leaving /admin keeps "/".
    const adminId = admin.id;
    assert.equal(adminId, "/admin#" + root.io.engine.id);
    admin.disconnect();
    assert.equal(await reasonOf(root, adminId), "client namespace disconnect");
    assert.ok(root.connected);
  },

  async "namespace middleware refuses"() {
    const s = connect("/admin", { query: { token: "wrong" } });
    const [err] = await once(s, "error");
    // v4: the ERROR packet carries the error's data (or its message), as the reference server sends it.
    assert.deepEqual(err, { code: 401 });
    assert.equal(s.connected, false);
  },

  async "unknown namespace"() {
    const s = connect("/nope");
    const [err] = await once(s, "error");
    assert.deepEqual(err, { message: "Invalid namespace" });
  },

  async "server disconnects"() {
    const s = connect();
    await connected(s);
    const d = once(s, "disconnect");
    s.emit("disconnect-me", false);
    assert.equal((await d)[0], "io server disconnect");
  },

  async "client disconnects"() {
    const s = connect();
    await connected(s);
    const id = s.id;
    s.disconnect();
    const probe = connect();
    await connected(probe);
    assert.equal(await reasonOf(probe, id), "client namespace disconnect");
  },

  async "heartbeat keeps the client"() {
    // v3: the client pings and the server answers; well past PingInterval + PingTimeout it is still there.
    const s = connect();
    await connected(s);
    await upgraded(s);
    let pongs = 0;
    s.io.engine.on("pong", () => pongs++);
    await new Promise((r) => setTimeout(r, 3 * (PING_INTERVAL + PING_TIMEOUT)));
    assert.ok(pongs >= 5, `only ${pongs} pongs`);
    assert.ok(s.connected);
    assert.deepEqual(await withAck(s, "echo-ack", "still here"), ["still here"]);
  },

  async "silent client is closed"() {
    const s = connect();
    await connected(s);
    await upgraded(s);
    const id = s.id;
    // Stop pinging, and stop the client's own timeout: only the server may end the connection.
    const engine = s.io.engine;
    clearTimeout(engine.pingIntervalTimer);
    clearTimeout(engine.pingTimeoutTimer);
    engine.setPing = () => {};
    engine.removeAllListeners("heartbeat");
    const started = Date.now();
    const [reason] = await once(s, "disconnect", PING_INTERVAL + PING_TIMEOUT + 3000);
    const took = Date.now() - started;
    assert.ok(reason === "transport close" || reason === "transport error", reason);
    assert.ok(took >= PING_TIMEOUT, `closed after ${took} ms`);
    const probe = connect();
    await connected(probe);
    assert.equal(await reasonOf(probe, id), "ping timeout");
  },
};

runScenarios(scenarios, args.only ? [args.only] : Object.keys(scenarios), opened);

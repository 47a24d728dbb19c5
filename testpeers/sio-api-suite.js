"use strict";

// Scenarios of the server API beside On (socket.use, once/off, onAnyOutgoing, the engine's headers hooks,
// connection_error) run by real socket.io-client 4.x against the Go Socket.IO server (package socketio, test
// TestNodeClientServerAPI, which sets up the handlers). Usage:
//
//   node sio-api-suite.js --url http://127.0.0.1:PORT --mode polling|websocket|upgrade
//
// Prints one JSON line per scenario: {"type":"result","name":N,"ok":true} or {...,"ok":false,"error":"..."},
// then {"type":"done"}.

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

const opened = [];

function connect(opts = {}) {
  const s = io(URL, { transports: TRANSPORTS, forceNew: true, reconnection: false, ...opts });
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

async function upgraded(s) {
  if (MODE !== "upgrade") return;
  const engine = s.io.engine;
  if (engine.transport.name !== "websocket") await once(engine, "upgrade");
}

// Rejects when the acknowledgement comes: for events the server must not handle.
async function noAck(s, event, ...a) {
  try {
    await s.timeout(300).emitWithAck(event, ...a);
  } catch (e) {
    return;
  }
  throw new Error(`${event} was acknowledged`);
}

const scenarios = {
  // socket.use: the middleware refuses "forbidden": no handler, no acknowledgement, and the server's error
  // handler (socket.on("error") in Node) tells the client; other events pass.
  async use() {
    const s = connect();
    await connected(s);
    const refused = once(s, "refused");
    await noAck(s, "forbidden", 1);
    const [msg] = await refused;
    assert.equal(msg, "unauthorized event forbidden");
    assert.equal(await s.timeout(5000).emitWithAck("allowed", 2), "allowed 2");
  },

  // once: the handler answers the first event only; off: the handler is gone.
  async onceOff() {
    const s = connect();
    await connected(s);
    assert.equal(await s.timeout(5000).emitWithAck("one-shot"), "first");
    await noAck(s, "one-shot");
    assert.equal(await s.timeout(5000).emitWithAck("removable"), "here");
    await s.timeout(5000).emitWithAck("remove", "removable");
    await noAck(s, "removable");
  },

  // onAnyOutgoing: the server's outgoing listener saw what this client received: a direct emit and the
  // broadcasts reaching it, not the acknowledgements, nor a broadcast excluding it.
  async anyOutgoing() {
    const s = connect();
    await connected(s);
    await upgraded(s);
    const got = [];
    s.onAny((event) => got.push(event));
    const log = await s.timeout(5000).emitWithAck("outgoing-run");
    assert.deepEqual(log, ["direct", "to-room", "to-all"]);
    // Received all the same; "after-remove" was sent once the listener was removed.
    assert.deepEqual(got, ["direct", "to-room", "to-all", "after-remove"]);
  },

  // The engine's headers hooks: the cookie set by initial_headers on the handshake response is sent back by
  // the client (withCredentials keeps a cookie jar in Node) on the session's later requests, the WebSocket's
  // included; the server saw it.
  async headers() {
    if (MODE !== "websocket") {
      const s = connect({ withCredentials: true });
      await connected(s);
      await upgraded(s);
      // [request, cookie] for each request of the session after the handshake.
      const seen = await s.timeout(5000).emitWithAck("cookies-seen");
      assert.ok(seen.length > 0, "no later request of the session");
      for (const [, c] of seen) assert.match(c, /^hapi=handshake-\d+$/);
      if (MODE === "upgrade") assert.ok(seen.some(([r]) => r === "websocket"), JSON.stringify(seen));
    }
    // The 101 of a session opened on WebSocket, read by the ws package (what socket.io-client runs on in Node).
    const WebSocket = require("ws");
    const ws = new WebSocket(URL.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket");
    const [res] = await once(ws, "upgrade");
    ws.close();
    assert.equal(res.headers["x-engine"], "every");
    assert.match(String(res.headers["set-cookie"]), /^hapi=handshake-\d+; Path=\/$/);
  },

  // connection_error: a request from a page of another site is refused; the client sees a connect_error, the
  // server reports the refusal (checked by the Go test).
  async connectionError() {
    const s = connect({ extraHeaders: { origin: "https://evil.example" } });
    const [err] = await once(s, "connect_error");
    assert.ok(err instanceof Error);
  },
};

runScenarios(scenarios, Object.keys(scenarios), opened);

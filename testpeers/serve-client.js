"use strict";

// Real socket.io-client 4.8 against "sioredis serve" (cmd/sioredis/serve_test.go): two clients, one on
// long-polling and one on WebSocket, join a room of the live page and exchange a message. Usage:
//
//   node serve-client.js --url http://127.0.0.1:PORT
//
// Prints one JSON line {"type":"result","welcome":...,"join":...,"message":...} or exits with status 1.

const assert = require("node:assert/strict");
const { io } = require("socket.io-client");
const { parseArgs, print, log } = require("./lib/common");

const args = parseArgs(process.argv.slice(2));

function once(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    emitter.once(event, (...a) => {
      clearTimeout(t);
      resolve(a);
    });
  });
}

async function main() {
  const opts = { forceNew: true, reconnection: false };
  const a = io(args.url, { ...opts, transports: ["polling"] });
  const b = io(args.url, { ...opts, transports: ["websocket"] });
  try {
    const [[welcome]] = await Promise.all([once(a, "welcome"), once(b, "welcome")]);
    assert.equal(welcome.id, a.id);
    const joinA = await a.timeout(10000).emitWithAck("join", "r1");
    const joined = once(a, "joined-room");
    const joinB = await b.timeout(10000).emitWithAck("join", "r1");
    assert.deepEqual(joinA, { room: "r1", members: 1 });
    assert.deepEqual(joinB, { room: "r1", members: 2 });
    assert.deepEqual((await joined)[0], { id: b.id, room: "r1" });
    const got = once(b, "message");
    a.emit("say", { room: "r1", text: "hello from polling" });
    const [message] = await got;
    assert.equal(message.from, a.id);
    assert.equal(message.text, "hello from polling");
    // time.Time arrives as JSON.stringify writes a Date.
    assert.match(message.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(new Date(message.at).toJSON(), message.at);
    print({ type: "result", welcome, join: [joinA, joinB], message });
  } finally {
    a.disconnect();
    b.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log("fatal:", (e && e.stack) || e);
    process.exit(1);
  },
);

"use strict";

// A transient Socket.IO server: it joins a Redis-backed cluster, makes the traffic real servers make (broadcasts
// with its own uid, fetchSockets, serverSideEmit, socketsJoin, broadcasts with acks), prints one JSON line per
// operation and exits. See README.md in this folder.

const { parseArgs, print, parseAddr, fromJSONSafe, toJSONSafe, sleep } = require("./lib/common");

const FLAVORS = ["v4-classic", "v4-sharded", "v4-streams", "v2-classic"];

/** Builds the v4 server of a flavor; returns it with the functions that close its Redis clients. */
async function v4Server(flavor, addr, prefix) {
  const { Server } = require("socket.io");
  const { createClient } = require("redis");
  const pub = createClient({ socket: { ...parseAddr(addr), reconnectStrategy: false } });
  pub.on("error", () => {});
  let adapter;
  const clients = [pub];
  if (flavor === "v4-streams") {
    await pub.connect();
    const { createAdapter } = require("@socket.io/redis-streams-adapter");
    const duplicate = pub.duplicate;
    pub.duplicate = function (...a) {
      const d = duplicate.apply(this, a);
      clients.push(d);
      return d;
    };
    adapter = createAdapter(pub, { streamName: prefix, channelPrefix: prefix });
  } else {
    const sub = pub.duplicate();
    sub.on("error", () => {});
    clients.push(sub);
    await Promise.all([pub.connect(), sub.connect()]);
    const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
    adapter =
      flavor === "v4-classic"
        ? createAdapter(pub, sub, { key: prefix })
        : createShardedAdapter(pub, sub, { channelPrefix: prefix, subscriptionMode: "static" });
  }
  const io = new Server({ adapter });
  return { io, close: () => Promise.allSettled(clients.map((c) => c.disconnect())) };
}

function v2Server(addr, prefix) {
  const Server = require("socket.io-v2");
  const redisAdapter = require("socket.io-redis");
  const factory = redisAdapter({ ...parseAddr(addr), key: prefix });
  const io = new Server({ adapter: factory });
  const quit = (c) => new Promise((resolve) => c.quit(() => resolve()));
  return { io, close: () => Promise.all([quit(factory.pubClient), quit(factory.subClient)]) };
}

/** Waits until the adapter of namespace nsp counts n servers: our subscriptions are then live, the others' too. */
async function waitServers(io, nsp, n) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const count = await io.of(nsp).adapter.serverCount();
    if (count === n) return;
    if (Date.now() > deadline) throw new Error(`namespace ${nsp}: ${count} servers, want ${n}`);
    await sleep(20);
  }
}

function target(io, op) {
  let t = io.of(op.nsp || "/");
  for (const r of op.to || []) t = t.to(r);
  for (const r of op.except || []) t = t.except(r);
  return t;
}

async function run(io, op) {
  const args = fromJSONSafe(op.args || []);
  switch (op.op) {
    case "emit":
      target(io, op).emit(op.event, ...args);
      return {};
    case "emitWithAck": {
      const responses = await new Promise((resolve) =>
        target(io, op)
          .timeout(op.timeout || 200)
          .emit(op.event, ...args, (err, res) => resolve({ error: err ? err.message : null, responses: res })),
      );
      return toJSONSafe(responses);
    }
    case "fetchSockets": {
      const sockets = await target(io, op).fetchSockets();
      return { ids: sockets.map((s) => s.id).sort() };
    }
    case "serverSideEmit":
      io.of(op.nsp || "/").serverSideEmit(op.event, ...args);
      return {};
    case "socketsJoin":
      target(io, op).socketsJoin(op.rooms);
      return {};
    default:
      throw new Error(`unknown op ${JSON.stringify(op.op)}`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!FLAVORS.includes(args.flavor) || typeof args.redis !== "string" || typeof args.ops !== "string") {
    throw new Error(`usage: node server-traffic.js --flavor ${FLAVORS.join("|")} --redis host:port [--servers N] --ops JSON`);
  }
  const prefix = typeof args.prefix === "string" ? args.prefix : "socket.io";
  const ops = JSON.parse(args.ops);
  const server = args.flavor === "v2-classic" ? v2Server(args.redis, prefix) : await v4Server(args.flavor, args.redis, prefix);
  const { io } = server;
  if (args.flavor !== "v2-classic") {
    for (const nsp of new Set(ops.map((o) => o.nsp || "/"))) await waitServers(io, nsp, Number(args.servers || 1));
  }
  print({ type: "ready", uid: io.of("/").adapter.uid });
  for (const op of ops) print({ type: "done", op: op.op, ...(await run(io, op)) });
  await sleep(50); // let the last publishes leave before the clients close
  await server.close();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`${(e && e.stack) || e}\n`);
  process.exit(1);
});

"use strict";

// The Node side of the server benchmarks (bench/server_test.go): a plain socket.io 4.8 server with the events of
// internal/benchserver, its Go counterpart. Run with --expose-gc so that "gc" can collect. Prints
// {"type":"ready","port":N,"pid":P} on stdout and exits when its stdin closes.
//
//   echo       acknowledges with its own arguments
//   broadcast  [n, size]: emits "msg" [i, "x"×size] to every socket n times, then acknowledges with n
//   gc         runs the garbage collector (with --expose-gc), then acknowledges
//   cluster-broadcast  [n, size, intervalMs]: emits "tick" [sentMicros, "x"×size] to every socket of the cluster
//              n times, intervalMs apart (0: back to back), then acknowledges with n
//
// BENCH_REDIS=host:port joins a cluster on that Redis with @socket.io/redis-adapter (BENCH_FORMAT=classic, the
// default), its createShardedAdapter (BENCH_FORMAT=sharded) or @socket.io/redis-streams-adapter 0.3
// (BENCH_FORMAT=streams).

const http = require("node:http");
const { Server } = require("socket.io");
const { print, log } = require("./lib/common");

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false });

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

async function joinCluster() {
  const addr = process.env.BENCH_REDIS;
  if (!addr) return;
  const { createClient } = require("redis");
  const [host, port] = addr.split(":");
  const pub = createClient({ socket: { host, port: Number(port) } });
  await pub.connect();
  const format = process.env.BENCH_FORMAT || "classic";
  if (format === "classic" || format === "sharded") {
    const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
    const sub = pub.duplicate();
    await sub.connect();
    io.adapter(format === "classic" ? createAdapter(pub, sub) : createShardedAdapter(pub, sub));
  } else {
    const { createAdapter } = require("@socket.io/redis-streams-adapter");
    io.adapter(createAdapter(pub));
  }
  await new Promise((r) => setTimeout(r, 500)); // subscriptions and the first XREAD
}

io.on("connection", (socket) => {
  socket.on("cluster-broadcast", async (n, size, interval, ack) => {
    const body = "x".repeat(size);
    for (let i = 0; i < n; i++) {
      if (interval > 0 && i > 0) await new Promise((r) => setTimeout(r, interval));
      io.emit("tick", nowMicros(), body);
    }
    if (typeof ack === "function") ack(n);
  });
  socket.on("echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
  });
  socket.on("broadcast", (n, size, ack) => {
    const body = "x".repeat(size);
    for (let i = 0; i < n; i++) io.emit("msg", i, body);
    if (typeof ack === "function") ack(n);
  });
  socket.on("gc", (ack) => {
    if (typeof global.gc === "function") global.gc();
    if (typeof ack === "function") ack();
  });
});

joinCluster().then(() =>
  httpServer.listen(0, "127.0.0.1", () => {
    print({ type: "ready", port: httpServer.address().port, pid: process.pid });
  }),
);

process.stdin.on("end", () => {
  io.close();
  httpServer.close();
  process.exit(0);
});
process.stdin.resume();
process.on("uncaughtException", (e) => {
  log("fatal:", e && e.stack || e);
  process.exit(1);
});

"use strict";

// The Node side of the server benchmarks (bench/server_test.go): a plain socket.io 4.8 server with the events of
// internal/benchserver, its Go counterpart. Run with --expose-gc so that "gc" can collect. Prints
// {"type":"ready","port":N,"pid":P} on stdout and exits when its stdin closes.
//
//   echo       acknowledges with its own arguments
//   broadcast  [n, size]: emits "msg" [i, "x"×size] to every socket n times, then acknowledges with n
//   gc         runs the garbage collector (with --expose-gc), then acknowledges

const http = require("node:http");
const { Server } = require("socket.io");
const { print, log } = require("./lib/common");

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false });

io.on("connection", (socket) => {
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

httpServer.listen(0, "127.0.0.1", () => {
  print({ type: "ready", port: httpServer.address().port, pid: process.pid });
});

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

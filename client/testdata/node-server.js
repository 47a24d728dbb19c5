// A socket.io 4 server for the Go client's interop tests (run with NODE_PATH=testpeers/node_modules):
// node node-server.js PORT RECOVERY_MS [msgpack]. It prints {"port":N} when listening and exits when stdin closes.
// With TLS_CERT and TLS_KEY (PEM files) in its environment it serves https.
const fs = require("fs");
const http = require("http");
const https = require("https");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
const recoveryMs = Number(process.argv[3] || 0);
const httpServer = process.env.TLS_CERT
  ? https.createServer({ cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY) })
  : http.createServer();
const opts = { pingInterval: 300, pingTimeout: 300 };
if (recoveryMs > 0) opts.connectionStateRecovery = { maxDisconnectionDuration: recoveryMs };
if (process.argv[4] === "msgpack") opts.parser = require("socket.io-msgpack-parser");
const io = new Server(httpServer, opts);

function setup(nsp) {
  nsp.on("connection", (socket) => {
    socket.on("echo", (...a) => {
      const cb = typeof a[a.length - 1] === "function" ? a.pop() : undefined;
      socket.emit("echoed", ...a);
      if (cb) cb(...a);
    });
    socket.on("ask", async (cb) => {
      try {
        const r = await socket.timeout(5000).emitWithAck("question", { text: "q", bin: Buffer.from([9, 8]) });
        cb(r);
      } catch (e) {
        cb({ text: "error: " + e.message });
      }
    });
    socket.on("auth", (cb) => cb(socket.handshake.auth));
    socket.on("kick", () => socket.disconnect());
    socket.on("tick-all", (n) => io.of(nsp.name).emit("tick", n));
    heartbeat(socket);
  });
}

// heartbeat gives the client's heartbeat tests the engine's view: "pongs" acks {pongs, maxLatency} (how many pongs
// came, and the longest time in ms from a ping written to its pong read), and "stop-ping" stops the engine's
// pings (and its wait for pongs) while its transport stays open and a "tick" event goes out every 100 ms.
function heartbeat(socket) {
  const conn = socket.conn;
  let sentAt = 0;
  let pongs = 0;
  let maxLatency = 0;
  conn.on("packetCreate", (p) => {
    if (p.type === "ping") sentAt = Date.now();
  });
  conn.on("packet", (p) => {
    if (p.type === "pong" && sentAt) {
      pongs++;
      maxLatency = Math.max(maxLatency, Date.now() - sentAt);
    }
  });
  socket.on("pongs", (cb) => cb({ pongs, maxLatency }));
  socket.on("stop-ping", () => {
    clearTimeout(conn.pingIntervalTimer);
    clearTimeout(conn.pingTimeoutTimer);
    conn.pingIntervalTimer = conn.pingTimeoutTimer = null;
    conn.schedulePing = () => {};
    conn.resetPingTimeout = () => {};
    const t = setInterval(() => socket.emit("tick", Date.now()), 100);
    conn.once("close", () => clearInterval(t));
  });
}
setup(io.of("/"));
setup(io.of("/admin"));
io.of("/private").use((socket, next) => {
  const err = new Error("not allowed");
  err.data = { code: 42 };
  next(err);
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: httpServer.address().port }));
});
process.stdin.on("end", () => {
  io.close();
  process.exit(0);
});
process.stdin.resume();

// A socket.io 4 server for the Go client's interop tests (run with NODE_PATH=testpeers/node_modules):
// node node-server.js PORT RECOVERY_MS [msgpack]. It prints {"port":N} when listening and exits when stdin closes.
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
const recoveryMs = Number(process.argv[3] || 0);
const httpServer = http.createServer();
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

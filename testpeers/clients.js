"use strict";

// Many Socket.IO client connections in one process, driven by the Go test harness (internal/testenv).
// See README.md in this folder for the CLI and the JSON-lines protocol.

const { parseArgs, print, log, toJSONSafe, readStdinLines } = require("./lib/common");

const args = parseArgs(process.argv.slice(2));
const version = Number(args.version || 4);
if (version !== 4 && version !== 2) {
  log("fatal: --version must be 4 or 2");
  process.exit(2);
}

const clients = new Map(); // name -> {socket, joined}
let specsRead = false;
let readyPrinted = false;
let closing = false;

process.on("SIGTERM", () => closeAll("SIGTERM"));
process.on("SIGINT", () => closeAll("SIGINT"));

function onEvent(name, event, eventArgs) {
  const c = clients.get(name);
  if (event === "__joined") {
    // Sent by server.js once the rooms from the handshake query are joined (and subscribed, for sharded servers).
    if (c.joined) return;
    c.joined = true;
    const info = eventArgs[0] || {};
    print({ type: "connected", name, id: info.id, rooms: info.rooms || [] });
    maybeReady();
    return;
  }
  print({ type: "event", name, event, args: toJSONSafe(eventArgs.filter((a) => typeof a !== "function")) });
  // An event sent with an acknowledgement is acknowledged with who got it.
  const ack = eventArgs[eventArgs.length - 1];
  if (typeof ack === "function") ack({ from: name, event });
}

function maybeReady() {
  if (readyPrinted) return;
  for (const c of clients.values()) if (!c.joined) return;
  readyPrinted = true;
  print({ type: "ready" });
}

function connectV4(spec) {
  const { io } = require("socket.io-client");
  const socket = io(spec.url + spec.nsp, {
    query: { rooms: spec.rooms.join(","), nsp: spec.nsp },
    transports: spec.transports,
    forceNew: true,
    // Recovery clients reconnect after a lost transport, as applications do, to test connection state recovery.
    reconnection: spec.recovery,
    reconnectionDelay: 1000, // long enough for a test to broadcast while the client is away
    randomizationFactor: 0,
    ...(spec.parser === "msgpack" ? { parser: require("socket.io-msgpack-parser") } : {}),
  });
  socket.onAny((event, ...a) => onEvent(spec.name, event, a));
  if (spec.connectOnly) {
    // A server other than server.js (no "__joined"): the client counts as connected once its CONNECT is answered.
    socket.on("connect", () => {
      const c = clients.get(spec.name);
      if (c.joined) return;
      c.joined = true;
      print({ type: "connected", name: spec.name, id: socket.id, rooms: spec.rooms });
      maybeReady();
    });
  }
  if (spec.recovery) {
    socket.on("connect", () => print({ type: "connect", name: spec.name, id: socket.id, recovered: socket.recovered }));
  }
  return socket;
}

function connectV2(spec) {
  const ioc = require("socket.io-client-v2");
  const socket = ioc(spec.url + spec.nsp, {
    query: "rooms=" + encodeURIComponent(spec.rooms.join(",")) + "&nsp=" + encodeURIComponent(spec.nsp),
    transports: spec.transports,
    forceNew: true,
    reconnection: false,
  });
  // socket.io-client 2 has no onAny: every incoming EVENT/BINARY_EVENT packet goes through onevent.
  const onevent = socket.onevent;
  socket.onevent = function (packet) {
    const data = packet.data || [];
    onEvent(spec.name, data[0], data.slice(1));
    return onevent.call(this, packet);
  };
  socket.on("error", (e) => print({ type: "error", name: spec.name, message: String((e && e.message) || e) }));
  return socket;
}

function start(specs) {
  if (!Array.isArray(specs)) throw new Error("the first stdin line must be a JSON array of client specs");
  for (const raw of specs) {
    const spec = {
      name: raw.name,
      url: raw.url,
      nsp: raw.nsp || "/",
      rooms: raw.rooms || [],
      transports: raw.transports && raw.transports.length ? raw.transports : ["websocket"],
      recovery: !!raw.recovery,
      parser: raw.parser || "json",
      connectOnly: !!raw.connectOnly,
    };
    if (spec.connectOnly && version !== 4) throw new Error(`client ${spec.name}: connectOnly needs --version 4`);
    if (spec.parser !== "json" && spec.parser !== "msgpack") throw new Error(`client ${spec.name}: parser must be json or msgpack`);
    if (!spec.name || clients.has(spec.name)) throw new Error(`missing or duplicate client name ${spec.name}`);
    if (!spec.url) throw new Error(`client ${spec.name}: missing url`);
    if (!spec.nsp.startsWith("/")) spec.nsp = "/" + spec.nsp;
    clients.set(spec.name, { spec, joined: false, socket: null });
  }
  for (const c of clients.values()) {
    const { spec } = c;
    c.socket = version === 2 ? connectV2(spec) : connectV4(spec);
    c.socket.on("connect_error", (e) =>
      print({ type: "connect_error", name: spec.name, message: String((e && e.message) || e) }),
    );
    // A recovery client whose transport was lost reconnects: that is no disconnection for the harness.
    c.socket.on("disconnect", (reason) =>
      print({ type: spec.recovery && c.socket.active ? "transport_lost" : "disconnect", name: spec.name, reason }),
    );
  }
  maybeReady();
}

function onCommand(cmd) {
  const reply = { type: "reply", cmd: cmd.cmd, seq: cmd.seq, name: cmd.name };
  const c = clients.get(cmd.name);
  if (cmd.cmd === "disconnect" && c) {
    c.socket.disconnect();
  } else if (cmd.cmd === "drop" && c) {
    // Close the Engine.IO connection under the socket, as a network failure would (the Manager reconnects).
    c.socket.io.engine.close();
  } else {
    reply.error = c ? `unknown command ${JSON.stringify(cmd.cmd)}` : `unknown client ${JSON.stringify(cmd.name)}`;
  }
  print(reply);
}

function closeAll(why) {
  if (closing) return;
  closing = true;
  log("closing:", why);
  for (const c of clients.values()) {
    try {
      if (c.socket) c.socket.disconnect();
    } catch (e) {
      log("disconnect:", e.message);
    }
  }
  // Let the disconnect packets reach the servers.
  setTimeout(() => process.exit(0), 100);
}

readStdinLines(
  (obj) => {
    if (!specsRead) {
      specsRead = true;
      try {
        start(obj);
      } catch (e) {
        log("fatal:", e.message);
        process.exit(2);
      }
    } else {
      onCommand(obj);
    }
  },
  () => closeAll("stdin closed"),
);

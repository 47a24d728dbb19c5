"use strict";

// One real Socket.IO server process joined to a Redis-backed cluster, driven by the Go test harness
// (internal/testenv). See README.md in this folder for the CLI and the JSON-lines protocol.

const http = require("http");
const { parseArgs, print, log, toJSONSafe, fromJSONSafe, parseAddr, readStdinLines, Tracker, sleep } = require("./lib/common");

const FLAVORS = [
  "v4-classic",
  "v4-sharded-static",
  "v4-sharded-dynamic",
  "v4-sharded-dynamic-private",
  "v4-streams",
  "v4-streams-02",
  "v2-classic",
];

// Field of the stream entries this server XADDs at start-up to learn that its XREAD loops are live (see waitStreams).
const PROBE_FIELD = "sioredis-probe";

const args = parseArgs(process.argv.slice(2), ["nsp", "sse-event"]);
const flavor = args.flavor;
if (!FLAVORS.includes(flavor)) {
  fatal(`--flavor must be one of ${FLAVORS.join(", ")}, got ${JSON.stringify(flavor)}`);
}
// --sentinels host:port,... --sentinel-master NAME: ioredis clients that find the master through Redis Sentinel and
// follow its failovers (v4-classic and v4-streams: node-redis 4 has no Sentinel client, and the sharded adapter
// needs node-redis).
const sentinels = typeof args.sentinels === "string" ? args.sentinels.split(",").filter(Boolean) : [];
const sentinelMaster = typeof args["sentinel-master"] === "string" ? args["sentinel-master"] : "";
// --failover-detector: ioredis's failoverDetector option (default false), with which the clients also follow a
// planned failover (SENTINEL FAILOVER), whose demoted master keeps answering them.
const failoverDetector = args["failover-detector"] === true || args["failover-detector"] === "true";
if (sentinels.length > 0) {
  if (!sentinelMaster) fatal("--sentinels needs --sentinel-master");
  if (flavor !== "v4-classic" && flavor !== "v4-streams") fatal("--sentinels works with v4-classic and v4-streams only");
  if (args.redis !== undefined) fatal("give --redis or --sentinels, not both");
} else if (typeof args.redis !== "string" || args.redis === "") {
  fatal("--redis host:port[,host:port...] (or --sentinels with --sentinel-master) is required");
}
const redisAddrs = typeof args.redis === "string" ? args.redis.split(",").filter(Boolean) : [];
const port = args.port === undefined ? 0 : Number(args.port);
const prefix = typeof args.prefix === "string" ? args.prefix : "socket.io";
const streamCount = args["stream-count"] === undefined ? 1 : Number(args["stream-count"]);
const redisMode = typeof args["redis-mode"] === "string" ? args["redis-mode"] : "auto";
// --requests-timeout ms: the classic adapter's requestsTimeout (default 5000), which bounds its serverSideEmit with
// acknowledgements, fetchSockets and allRooms requests.
const requestsTimeout = args["requests-timeout"] === undefined ? undefined : Number(args["requests-timeout"]);
if (requestsTimeout !== undefined && !(requestsTimeout > 0)) fatal("--requests-timeout must be a positive number of ms");
// --parser json: the classic adapter's parser option, as a deployment with a custom codec would set it.
const parsers = {
  json: { encode: (msg) => JSON.stringify(msg), decode: (msg) => JSON.parse(msg.toString()) },
};
if (args.parser !== undefined && !(args.parser in parsers)) fatal(`unknown --parser ${args.parser} (json)`);
const parser = args.parser === undefined ? undefined : parsers[args.parser];
if (!["auto", "cluster", "standalone"].includes(redisMode)) fatal("--redis-mode must be auto, cluster or standalone");
const sseEvents = args["sse-event"].length > 0 ? args["sse-event"] : ["hello", "ping-all"];
const namespaces = ["/"];
for (let n of args.nsp) {
  if (!n.startsWith("/")) n = "/" + n;
  if (!namespaces.includes(n)) namespaces.push(n);
}

// Every (un)subscribe issued to Redis by an adapter goes through this tracker, so "ready" and "__joined" can wait
// until Redis has confirmed them.
const subscriptions = new Tracker();
const closers = []; // functions returning promises, run at shutdown
let io;
let clusterMode = false; // whether the v4 clients are node-redis cluster clients
let shuttingDown = false;

process.on("unhandledRejection", (e) => log("unhandled rejection:", (e && e.stack) || e));
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

function fatal(msg) {
  log("fatal:", msg);
  process.exit(2);
}

function reconnectStrategy(retries) {
  return Math.min(50 + retries * 50, 500);
}

/** A node-redis v4 standalone client whose connection events are reported on stdout. */
function standaloneClient(addr, role) {
  const { createClient } = require("redis");
  const client = createClient({ socket: { ...parseAddr(addr), reconnectStrategy } });
  reportEvents(client, role);
  return client;
}

/** A node-redis v4 cluster client over all the given root nodes. */
function clusterClient(addrs, role) {
  const { createCluster } = require("redis");
  const client = createCluster({
    rootNodes: addrs.map((a) => ({ socket: parseAddr(a) })),
    defaults: { socket: { reconnectStrategy } },
  });
  client.on("error", (e) => print({ type: "redis", client: role, event: "error", message: e.message }));
  return client;
}

/** An ioredis client of the master named --sentinel-master, found through --sentinels; it follows failovers. */
function sentinelClient(role) {
  const { Redis } = require("ioredis");
  const client = new Redis({
    sentinels: sentinels.map(parseAddr),
    name: sentinelMaster,
    retryStrategy: (times) => reconnectStrategy(times),
    sentinelRetryStrategy: (times) => reconnectStrategy(times),
    failoverDetector,
    lazyConnect: true,
  });
  reportEvents(client, role);
  return client;
}

function reportEvents(client, role) {
  let ready = false;
  client.on("error", (e) => print({ type: "redis", client: role, event: "error", message: e.message }));
  client.on("reconnecting", () => print({ type: "redis", client: role, event: "reconnecting" }));
  client.on("ready", () => {
    // The first ready is part of start-up; later ones mean the client came back after a Redis outage.
    if (ready) print({ type: "redis", client: role, event: "ready" });
    ready = true;
  });
}

/**
 * Decides whether --redis points at a Redis Cluster: "--redis-mode cluster|standalone" forces it, more than one
 * address means a cluster, and a single address is asked with INFO cluster.
 */
async function useCluster() {
  if (sentinels.length > 0) return false;
  if (redisMode !== "auto") return redisMode === "cluster";
  if (redisAddrs.length > 1) return true;
  const { createClient } = require("redis");
  const probe = createClient({ socket: { ...parseAddr(redisAddrs[0]), reconnectStrategy: false } });
  probe.on("error", () => {});
  await probe.connect();
  try {
    return /cluster_enabled:1/.test(await probe.info("cluster"));
  } finally {
    await probe.quit();
  }
}

/** Wraps the (un)subscribe methods of a node-redis v4 client or cluster so their promises are tracked. */
function trackSubscriptions(client) {
  const names = isIORedis(client)
    ? ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"]
    : ["subscribe", "pSubscribe", "sSubscribe", "unsubscribe", "pUnsubscribe", "sUnsubscribe"];
  for (const m of names) {
    const orig = client[m];
    if (typeof orig !== "function") continue;
    client[m] = function (...a) {
      return subscriptions.track(orig.apply(this, a));
    };
  }
}

/** Whether client is an ioredis client (lower-case command methods) rather than a node-redis 4 one. */
function isIORedis(client) {
  return typeof client.pSubscribe !== "function" && typeof client.psubscribe === "function";
}

/** Same for a redis@3 client (callback API), used by socket.io-redis 5. */
function trackSubscriptionsV3(client) {
  for (const m of ["subscribe", "psubscribe", "unsubscribe", "punsubscribe"]) {
    const orig = client[m];
    client[m] = function (...a) {
      const cb = typeof a[a.length - 1] === "function" ? a.pop() : undefined;
      let done;
      subscriptions.track(new Promise((resolve) => (done = resolve)));
      return orig.call(this, ...a, (err, res) => {
        done();
        if (cb) cb(err, res);
      });
    };
  }
}

/** The main Redis client of a v4 flavor: through Sentinel, a cluster client, or a standalone one. */
function mainClient(cluster, role) {
  if (sentinels.length > 0) return sentinelClient(role);
  return cluster ? clusterClient(redisAddrs, role) : standaloneClient(redisAddrs[0], role);
}

async function connectPair(cluster) {
  const pub = mainClient(cluster, "pub");
  const sub = mainClient(cluster, "sub");
  await Promise.all([pub.connect(), sub.connect()]);
  closers.push(() => pub.disconnect(), () => sub.disconnect());
  trackSubscriptions(sub);
  return { pub, sub };
}

async function setupV4() {
  const { Server } = require("socket.io");
  const cluster = await useCluster();
  clusterMode = cluster;
  let adapter;
  let streams;
  if (flavor === "v4-classic") {
    const { createAdapter } = require("@socket.io/redis-adapter");
    const { pub, sub } = await connectPair(cluster);
    const opts = { key: prefix };
    if (parser) opts.parser = parser;
    if (requestsTimeout !== undefined) opts.requestsTimeout = requestsTimeout;
    adapter = createAdapter(pub, sub, opts);
  } else if (flavor.startsWith("v4-sharded-")) {
    const { createShardedAdapter } = require("@socket.io/redis-adapter");
    const { pub, sub } = await connectPair(cluster);
    const subscriptionMode = flavor.slice("v4-sharded-".length);
    adapter = createShardedAdapter(pub, sub, { channelPrefix: prefix, subscriptionMode });
  } else if (flavor === "v4-streams") {
    const { createAdapter } = require("@socket.io/redis-streams-adapter");
    const client = mainClient(cluster, "main");
    await client.connect();
    closers.push(() => client.disconnect());
    streams = instrumentStreams(client, true);
    adapter = createAdapter(client, { streamName: prefix, streamCount, channelPrefix: prefix });
  } else if (flavor === "v4-streams-02") {
    // 0.2.3: every message in the stream (one stream), the server count from heartbeats, no pub/sub.
    const { createAdapter } = require("redis-streams-adapter-v02");
    const client = cluster ? clusterClient(redisAddrs, "main") : standaloneClient(redisAddrs[0], "main");
    await client.connect();
    closers.push(() => client.disconnect());
    streams = instrumentStreams(client, false);
    adapter = createAdapter(client, { streamName: prefix });
  }
  const httpServer = http.createServer();
  const opts = { adapter, serveClient: false };
  // --sio-parser msgpack: socket.io-msgpack-parser for the packets to and from clients (the server's parser option).
  if (args["sio-parser"] === "msgpack") opts.parser = require("socket.io-msgpack-parser");
  else if (args["sio-parser"] !== undefined && args["sio-parser"] !== "json") fatal(`unknown --sio-parser ${args["sio-parser"]} (json, msgpack)`);
  // --recovery-ms N turns on connection state recovery, sessions kept N ms.
  if (args["recovery-ms"] !== undefined) opts.connectionStateRecovery = { maxDisconnectionDuration: Number(args["recovery-ms"]) };
  io = new Server(httpServer, opts);
  for (const name of namespaces) setupNamespace(io.of(name), 4);
  // --admin SERVER_ID: the official admin UI's server side (@socket.io/admin-ui), without authentication.
  if (typeof args.admin === "string") {
    require("@socket.io/admin-ui").instrument(io, { auth: false, serverId: args.admin, mode: "development" });
  }
  if (streams) await streams.ready();
  await subscriptions.settled();
  return httpServer;
}

/**
 * The streams adapter reads with XREAD starting at "$" and keeps "$" until it has read a first entry, so an entry
 * added while no XREAD is blocked would be missed. Before "ready", this server therefore XADDs a probe entry without
 * an `nsp` field (every streams server skips such entries but advances its offset) to each stream until its own
 * reader has returned it. It also waits for the adapter's pub/sub SUBSCRIBE (one per namespace) to be confirmed.
 */
function instrumentStreams(client, pubsub) {
  const nonce = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const seen = new Set(); // stream keys whose reader returned our probe
  const io = isIORedis(client);
  const watchXRead = (c) => {
    if (io) {
      // ioredis: [[stream, [[id, [field, value, ...]], ...]], ...]
      const origXRead = c.xread;
      c.xread = async function (...xa) {
        const res = await origXRead.apply(this, xa);
        for (const [name, entries] of res || []) {
          for (const [, fields] of entries) {
            for (let i = 0; i + 1 < fields.length; i += 2) {
              if (fields[i] === PROBE_FIELD && fields[i + 1] === nonce) seen.add(String(name));
            }
          }
        }
        return res;
      };
      return;
    }
    const origXRead = c.xRead;
    c.xRead = async function (...xa) {
      const res = await origXRead.apply(this, xa);
      for (const stream of res || []) {
        for (const m of stream.messages) {
          if (m.message && m.message[PROBE_FIELD] === nonce) seen.add(stream.name);
        }
      }
      return res;
    };
  };
  if (!pubsub) watchXRead(client); // 0.2 reads on the client itself (isolated commands)
  const origDuplicate = client.duplicate;
  client.duplicate = function (...a) {
    const d = origDuplicate.apply(this, a);
    closers.push(() => d.disconnect());
    watchXRead(d);
    trackSubscriptions(d);
    return d;
  };
  const keys = streamCount === 1 ? [prefix] : Array.from({ length: streamCount }, (_, i) => `${prefix}-${i}`);
  return {
    async ready() {
      const deadline = Date.now() + 25000;
      for (const key of keys) {
        while (!seen.has(key)) {
          if (Date.now() > deadline) throw new Error(`the XREAD loop of stream ${key} did not start`);
          if (io) await client.xadd(key, "MAXLEN", "~", 10000, "*", PROBE_FIELD, nonce);
          else
            await client.xAdd(
              key,
              "*",
              { [PROBE_FIELD]: nonce },
              { TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: 10000 } },
            );
          for (let i = 0; i < 20 && !seen.has(key); i++) await sleep(10);
        }
      }
      while (pubsub && subscriptions.calls < namespaces.length) {
        if (Date.now() > deadline) throw new Error("the streams adapter did not subscribe to its channels");
        await sleep(10);
      }
    },
  };
}

async function setupV2() {
  if (redisAddrs.length !== 1) fatal("v2-classic takes exactly one --redis address");
  const Server = require("socket.io-v2");
  const redisAdapter = require("socket.io-redis");
  const { host, port: redisPort } = parseAddr(redisAddrs[0]);
  const factory = redisAdapter({ host, port: redisPort, key: prefix });
  for (const [role, c] of [
    ["pub", factory.pubClient],
    ["sub", factory.subClient],
  ]) {
    let ready = false;
    c.on("error", (e) => print({ type: "redis", client: role, event: "error", message: e.message }));
    c.on("reconnecting", () => print({ type: "redis", client: role, event: "reconnecting" }));
    c.on("ready", () => {
      if (ready) print({ type: "redis", client: role, event: "ready" });
      ready = true;
    });
    closers.push(() => new Promise((resolve) => (c.connected ? c.quit(() => resolve()) : (c.end(false), resolve()))));
  }
  trackSubscriptionsV3(factory.subClient);
  const httpServer = http.createServer();
  io = new Server(httpServer, { adapter: factory, serveClient: false });
  for (const name of namespaces) {
    const nsp = io.of(name);
    nsp.adapter.on("error", (e) => log(`adapter error on ${name}:`, e && e.message));
    setupNamespace(nsp, 2);
  }
  await subscriptions.settled();
  return httpServer;
}

function parseRooms(q) {
  if (typeof q !== "string" || q === "") return [];
  return q
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
}

function socketRooms(socket, version) {
  const rooms = version === 2 ? Object.keys(socket.rooms || {}) : [...socket.rooms];
  return rooms.map(String).sort();
}

function namespaceExists(nspName, version) {
  return version === 2 ? Boolean(io.nsps[nspName]) : io._nsps.has(nspName);
}

function findSocket(nspName, id, version) {
  if (!namespaceExists(nspName, version)) return undefined;
  const nsp = io.of(nspName);
  return version === 2 ? nsp.connected[id] : nsp.sockets.get(id);
}

function setupNamespace(nsp, version) {
  nsp.on("connection", async (socket) => {
    socket.on("disconnect", (reason) => print({ type: "disconnect", nsp: nsp.name, id: socket.id, reason }));
    const query = socket.handshake.query || {};
    // A socket.io 2 client that connects to "/admin" also gets an implicit "/" socket with the same handshake query;
    // clients.js passes nsp= so that only the namespace it asked for joins the rooms and gets "__joined".
    const implicit = typeof query.nsp === "string" && query.nsp !== nsp.name;
    const rooms = implicit ? [] : parseRooms(query.rooms);
    try {
      if (version === 2) {
        await new Promise((resolve, reject) => socket.join(rooms, (err) => (err ? reject(err) : resolve())));
      } else {
        await socket.join(rooms);
      }
      // In the sharded dynamic modes, joining a room SSUBSCRIBEs to its channel: wait for Redis to confirm.
      await subscriptions.settled();
    } catch (e) {
      log(`join failed for ${socket.id}:`, e && e.message);
    }
    if (!socket.connected) return;
    const current = socketRooms(socket, version);
    if (implicit) {
      print({ type: "connection", nsp: nsp.name, id: socket.id, rooms: current, implicit: true });
      return;
    }
    print({ type: "connection", nsp: nsp.name, id: socket.id, rooms: current });
    // Private signal to clients.js: rooms are joined, the client may now report itself connected.
    socket.emit("__joined", { id: socket.id, nsp: nsp.name, rooms: current });
  });
  if (version === 4) {
    // The server-side event "ack-me" is acknowledged, when its sender asked for it, with {from: "node", args}.
    nsp.on("ack-me", (...a) => {
      const cb = typeof a[a.length - 1] === "function" ? a.pop() : undefined;
      if (cb) cb({ from: "node", args: toJSONSafe(a) });
    });
  }
  for (const event of sseEvents) {
    nsp.on(event, (...a) => {
      print({
        type: "serverSideEmit",
        nsp: nsp.name,
        event,
        args: toJSONSafe(a.filter((x) => typeof x !== "function")),
        ack: a.some((x) => typeof x === "function"),
      });
    });
  }
}

async function onCommand(cmd) {
  const version = flavor === "v2-classic" ? 2 : 4;
  const reply = { type: cmd.cmd, seq: cmd.seq };
  try {
    switch (cmd.cmd) {
      case "rooms": {
        const nsp = cmd.nsp || "/";
        const socket = findSocket(nsp, cmd.id, version);
        Object.assign(reply, { nsp, id: cmd.id, rooms: socket ? socketRooms(socket, version) : null });
        if (!socket) reply.error = "socket not found";
        break;
      }
      case "sockets": {
        const nsp = cmd.nsp || "/";
        const list = [];
        if (namespaceExists(nsp, version)) {
          const sockets = version === 2 ? Object.values(io.of(nsp).connected) : [...io.of(nsp).sockets.values()];
          for (const s of sockets) list.push({ id: s.id, rooms: socketRooms(s, version) });
        }
        list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        Object.assign(reply, { nsp, sockets: list });
        break;
      }
      case "fetchSockets": {
        // Cluster-wide (every server answers a REMOTE_FETCH request); v4 flavors only.
        const nsp = cmd.nsp || "/";
        const socks = await io.of(nsp).fetchSockets();
        const list = socks.map((s) => ({ id: s.id, rooms: [...s.rooms].map(String).sort(), url: s.handshake && s.handshake.url }));
        list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        Object.assign(reply, { nsp, sockets: list });
        break;
      }
      case "emitWithAck": {
        // A broadcast with acknowledgements to cmd.rooms across the cluster (v4 flavors only).
        const nsp = cmd.nsp || "/";
        const responses = await io.of(nsp).to(cmd.rooms || []).timeout(cmd.timeout || 5000).emitWithAck(cmd.event);
        Object.assign(reply, { nsp, responses: toJSONSafe(responses) });
        break;
      }
      case "serverSideEmitWithAck": {
        // serverSideEmitWithAck(event, ...args) to the other servers (v4 flavors): one response per server, or the
        // adapter's timeout error with the responses received until then.
        const nsp = cmd.nsp || "/";
        if (version === 2) throw new Error("serverSideEmitWithAck is not available with socket.io 2");
        reply.nsp = nsp;
        try {
          reply.responses = toJSONSafe(await io.of(nsp).serverSideEmitWithAck(cmd.event, ...fromJSONSafe(cmd.args || [])));
        } catch (e) {
          reply.error = e.message;
          reply.responses = toJSONSafe(e.responses || []);
        }
        break;
      }
      case "op": {
        // An operation of the server's own (v4): emit, socketsJoin, socketsLeave, disconnectSockets or
        // serverSideEmit, on io.of(nsp).to(rooms).except(except)[.volatile].
        const nsp = cmd.nsp || "/";
        let target = io.of(nsp).to(cmd.rooms || []).except(cmd.except || []);
        if (cmd.volatile) target = target.volatile;
        const args = fromJSONSafe(cmd.args || []);
        switch (cmd.op) {
          case "emit":
            target.emit(cmd.event, ...args);
            break;
          case "socketsJoin":
            target.socketsJoin(cmd.targetRooms || []);
            break;
          case "socketsLeave":
            target.socketsLeave(cmd.targetRooms || []);
            break;
          case "disconnectSockets":
            target.disconnectSockets(!!cmd.close);
            break;
          case "serverSideEmit":
            io.of(nsp).serverSideEmit(cmd.event, ...args);
            break;
          default:
            throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
        }
        reply.nsp = nsp;
        break;
      }
      case "serverCount": {
        const nsp = cmd.nsp || "/";
        if (version === 2) throw new Error("serverCount is not available with socket.io-redis 5");
        reply.nsp = nsp;
        reply.count = await io.of(nsp).adapter.serverCount();
        break;
      }
      default:
        throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`);
    }
  } catch (e) {
    reply.error = e.message;
  }
  print(reply);
}

async function shutdown(why) {
  if (shuttingDown) return;
  shuttingDown = true;
  subscriptions.quiet = true;
  log("shutting down:", why);
  setTimeout(() => process.exit(0), 3000).unref();
  try {
    if (io) await new Promise((resolve) => io.close(() => resolve()));
  } catch (e) {
    log("close:", e.message);
  }
  await Promise.allSettled(closers.map((c) => Promise.resolve().then(c)));
  process.exit(0);
}

async function main() {
  const httpServer = flavor === "v2-classic" ? await setupV2() : await setupV4();
  await new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(port, "127.0.0.1", resolve);
  });
  readStdinLines(
    (cmd) => onCommand(cmd),
    () => shutdown("stdin closed"),
  );
  print({ type: "ready", port: httpServer.address().port, flavor, pid: process.pid, namespaces, cluster: clusterMode });
}

main().catch((e) => fatal((e && e.stack) || e));

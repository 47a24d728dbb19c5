"use strict";

// Records what the official @socket.io/redis-emitter publishes for each case of a cases file (golden vectors).
// See README.md in this folder.

const fs = require("fs");
const path = require("path");
const { parseArgs, parseAddr, fromJSONSafe, log, sleep } = require("./lib/common");

const MARKER_CHANNEL = "__sioredis_golden_marker__";
const OPS = ["emit", "socketsJoin", "socketsLeave", "disconnectSockets", "serverSideEmit"];

function packageVersion(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version;
}

/** Builds the emitter chain of a case and runs its operation (which publishes without waiting). */
function runCase(Emitter, client, c) {
  let e = new Emitter(client, { key: c.prefix === undefined ? "socket.io" : c.prefix });
  const nsp = c.nsp === undefined ? "/" : c.nsp;
  if (nsp !== "/") e = e.of(nsp);
  for (const r of c.to || []) e = e.to(r);
  for (const r of c.except || []) e = e.except(r);
  // Flags are applied in the case's order (default: volatile, then compress): the official emitter writes them in the
  // order they were set.
  for (const flag of c.flag_order || ["volatile", "compress"]) {
    if (flag === "volatile" && c.volatile) e = e.volatile;
    if (flag === "compress" && c.compress !== null && c.compress !== undefined) e = e.compress(c.compress);
  }
  const args = fromJSONSafe(c.args || []);
  switch (c.op) {
    case "emit":
      e.emit(c.event, ...args);
      break;
    case "socketsJoin":
      e.socketsJoin(c.rooms);
      break;
    case "socketsLeave":
      e.socketsLeave(c.rooms);
      break;
    case "disconnectSockets":
      e.disconnectSockets(Boolean(c.close));
      break;
    case "serverSideEmit":
      if (typeof e.serverSideEmit !== "function") {
        throw new Error("serverSideEmit cannot follow to/except/volatile/compress in @socket.io/redis-emitter");
      }
      e.serverSideEmit(c.event, ...args);
      break;
    default:
      throw new Error(`unknown op ${JSON.stringify(c.op)} (want one of ${OPS.join(", ")})`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args.redis !== "string" || typeof args.cases !== "string") {
    throw new Error("usage: node golden.js --redis host:port --cases cases.json [--out out.json]");
  }
  const { cases } = JSON.parse(fs.readFileSync(args.cases, "utf8"));
  if (!Array.isArray(cases)) throw new Error(`${args.cases}: no "cases" array`);

  const emitterDir = path.join(__dirname, "node_modules", "@socket.io", "redis-emitter");
  const notepackDir = path.dirname(require.resolve("notepack.io/package.json", { paths: [emitterDir] }));
  const { Emitter } = require("@socket.io/redis-emitter");
  const { createClient } = require("redis");

  const pub = createClient({ socket: { ...parseAddr(args.redis), reconnectStrategy: false } });
  const sub = pub.duplicate();
  pub.on("error", (e) => log("pub:", e.message));
  sub.on("error", (e) => log("sub:", e.message));
  await Promise.all([pub.connect(), sub.connect()]);

  // Every message published on the server, in order; the marker published after each case (on the same connection
  // as the emitter's PUBLISH, so Redis delivers it after the case's messages) closes that case.
  const received = [];
  let wake = null;
  await sub.pSubscribe(
    "*",
    (message, channel) => {
      received.push({ channel: Buffer.from(channel), message: Buffer.from(message) });
      if (wake) wake();
    },
    true,
  );

  async function waitMarker(i) {
    const deadline = Date.now() + 10000;
    for (;;) {
      const idx = received.findIndex((m) => m.channel.toString() === MARKER_CHANNEL && m.message.toString() === String(i));
      if (idx >= 0) return idx;
      if (Date.now() > deadline) throw new Error(`marker ${i} not received`);
      await Promise.race([new Promise((r) => (wake = r)), sleep(100)]);
    }
  }

  const out = [];
  let start = 0;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    let error;
    try {
      runCase(Emitter, pub, c);
    } catch (e) {
      error = e.message;
    }
    await pub.publish(MARKER_CHANNEL, String(i));
    const end = await waitMarker(i);
    const msgs = received.slice(start, end);
    start = end + 1;
    if (error !== undefined) {
      // Cases the official emitter refuses (reserved event names, ...) are recorded with the error it threw.
      if (msgs.length !== 0) throw new Error(`case ${c.name}: threw "${error}" but published ${msgs.length} messages`);
      out.push({ name: c.name, error });
      continue;
    }
    if (msgs.length !== 1) {
      throw new Error(`case ${c.name}: expected exactly 1 published message, got ${msgs.length}`);
    }
    out.push({
      name: c.name,
      channel: msgs[0].channel.toString("utf8"),
      payload_hex: msgs[0].message.toString("hex"),
    });
  }

  await Promise.all([pub.quit(), sub.quit()]);
  const doc = {
    generator: `@socket.io/redis-emitter@${packageVersion(emitterDir)} notepack.io@${packageVersion(notepackDir)}`,
    cases: out,
  };
  const text = JSON.stringify(doc, null, 2) + "\n";
  if (typeof args.out === "string") {
    fs.writeFileSync(args.out, text);
  } else {
    process.stdout.write(text);
  }
}

main().catch((e) => {
  log("golden.js:", (e && e.stack) || e);
  process.exit(1);
});

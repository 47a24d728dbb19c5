"use strict";

// Throughput of the official @socket.io/redis-emitter over one node-redis connection. See README.md in this folder.

const { parseArgs, parseAddr, log } = require("./lib/common");

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args.redis !== "string") {
    throw new Error("usage: node bench-emitter.js --redis host:port [--n 100000] [--concurrency 100] [--payload-bytes 100]");
  }
  const n = Number(args.n || 100000);
  const concurrency = Number(args.concurrency || 100);
  const payloadBytes = Number(args["payload-bytes"] || 100);
  if (!(n > 0 && concurrency > 0 && payloadBytes >= 0)) throw new Error("--n and --concurrency must be > 0");

  const { createClient } = require("redis");
  const { Emitter } = require("@socket.io/redis-emitter");
  const client = createClient({ socket: { ...parseAddr(args.redis), reconnectStrategy: false } });
  client.on("error", (e) => log("redis:", e.message));
  await client.connect();

  // The emitter fires PUBLISH without returning its promise: capture it to bound the number in flight. Concurrent
  // commands on one node-redis connection are pipelined.
  let lastPublish;
  const publish = client.publish;
  client.publish = function (...a) {
    lastPublish = publish.apply(this, a);
    return lastPublish;
  };

  const emitter = new Emitter(client);
  const body = { body: "x".repeat(payloadBytes) };
  let inFlight = 0;
  let wake = null;
  let failure = null;
  const settle = () => {
    inFlight--;
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const fail = (e) => {
    failure = failure || e;
    settle();
  };
  const waitSlot = () => new Promise((resolve) => (wake = resolve));

  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < n && !failure; i++) {
    while (inFlight >= concurrency) await waitSlot();
    emitter.to("room_777").emit("my_event_name", body);
    inFlight++;
    lastPublish.then(settle, fail);
  }
  while (inFlight > 0) await waitSlot();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  if (failure) throw failure;
  await client.quit();
  process.stdout.write(
    JSON.stringify({
      emits: n,
      seconds,
      emits_per_sec: n / seconds,
      cpu_us_per_emit: (cpu.user + cpu.system) / n,
      concurrency,
      payload_bytes: payloadBytes,
    }) + "\n",
  );
}

main().catch((e) => {
  log("bench-emitter.js:", (e && e.stack) || e);
  process.exit(1);
});

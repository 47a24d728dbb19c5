"use strict";

// Helpers shared by the test peers: argument parsing, JSON-lines output and a JSON-safe view of decoded values.

/**
 * Parses "--name value" pairs. Names listed in `repeatable` collect every value in an array; a name given without a
 * value (followed by another --flag or at the end) is set to true.
 */
function parseArgs(argv, repeatable = []) {
  const out = {};
  for (const name of repeatable) out[name] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    }
    const name = a.slice(2);
    let value = true;
    if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
      value = argv[++i];
    }
    if (repeatable.includes(name)) {
      out[name].push(value);
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** Writes one JSON line on stdout (pipes are synchronous on Linux, so nothing is lost at exit). */
function print(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

/** Writes a diagnostic line on stderr. */
function log(...args) {
  process.stderr.write(`[${new Date().toISOString()}] ${args.map(String).join(" ")}\n`);
}

/**
 * Returns a JSON-serialisable copy of a decoded value: binary (Buffer, ArrayBuffer, typed arrays) becomes
 * {"$binary": base64}, a Date {"$date": ISO string}, a bigint {"$bigint": decimal}; functions (ack callbacks) are
 * dropped from objects and become null in arrays.
 */
function toJSONSafe(v) {
  if (v === undefined || v === null) return null;
  if (typeof v === "bigint") return { $bigint: v.toString() };
  if (typeof v === "function") return null;
  if (typeof v !== "object") return v;
  if (Buffer.isBuffer(v)) return { $binary: v.toString("base64") };
  if (v instanceof ArrayBuffer) return { $binary: Buffer.from(v).toString("base64") };
  if (ArrayBuffer.isView(v)) {
    return { $binary: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  }
  if (v instanceof Date) {
    return { $date: isNaN(v.getTime()) ? null : v.toISOString() };
  }
  if (Array.isArray(v)) return v.map(toJSONSafe);
  if (v instanceof Map) {
    const o = {};
    for (const [k, val] of v) o[String(k)] = toJSONSafe(val);
    return o;
  }
  if (v instanceof Set) return [...v].map(toJSONSafe);
  const o = {};
  for (const k of Object.keys(v)) {
    if (typeof v[k] === "function") continue;
    o[k] = toJSONSafe(v[k]);
  }
  return o;
}

/**
 * The inverse of toJSONSafe for test inputs: an object that is exactly {"$binary": base64} becomes a Buffer and one
 * that is exactly {"$date": ISO string} becomes a Date, recursively.
 */
function fromJSONSafe(v) {
  if (Array.isArray(v)) return v.map(fromJSONSafe);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$binary" && typeof v.$binary === "string") {
      return Buffer.from(v.$binary, "base64");
    }
    if (keys.length === 1 && keys[0] === "$date" && typeof v.$date === "string") {
      return new Date(v.$date);
    }
    const o = {};
    for (const k of keys) o[k] = fromJSONSafe(v[k]);
    return o;
  }
  return v;
}

/** Parses "host:port" (IPv6 as "[::1]:port"). */
function parseAddr(addr) {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(addr);
  if (!m) throw new Error(`bad redis address ${JSON.stringify(addr)} (want host:port)`);
  return { host: m[1], port: Number(m[2]) };
}

/** Reads JSON lines from stdin, calling onLine for each parsed object and onEnd once at EOF. */
function readStdinLines(onLine, onEnd) {
  const readline = require("readline");
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on("line", (line) => {
    line = line.trim();
    if (!line) return;
    let obj;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      print({ type: "error", message: `bad stdin line: ${e.message}` });
      return;
    }
    onLine(obj);
  });
  rl.on("close", onEnd);
}

/** Collects promises and waits until all of them (including ones added while waiting) have settled. */
class Tracker {
  constructor() {
    this.pending = new Set();
    this.calls = 0;
    this.quiet = false; // set at shutdown, when failing unsubscribes are expected
  }

  track(p) {
    this.calls++;
    const q = Promise.resolve(p).then(
      () => {},
      (e) => this.quiet || log("tracked operation failed:", e && e.message),
    );
    this.pending.add(q);
    q.then(() => this.pending.delete(q));
    return p;
  }

  async settled() {
    while (this.pending.size > 0) {
      await Promise.all([...this.pending]);
    }
  }
}

/** Resolves after ms milliseconds. */
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

module.exports = { parseArgs, print, log, toJSONSafe, fromJSONSafe, parseAddr, readStdinLines, Tracker, sleep };

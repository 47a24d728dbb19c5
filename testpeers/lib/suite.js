"use strict";

// The scaffolding of the scenario suites (sio-*-suite.js): the transports of a --mode, a promise of one event, and
// the runner that prints one JSON line per scenario.

const { print, log } = require("./common");

/** The socket.io-client transports of a --mode (polling, websocket, upgrade, base64), undefined for another. */
function transportsFor(mode) {
  return {
    polling: ["polling"],
    websocket: ["websocket"],
    upgrade: ["polling", "websocket"],
    base64: ["polling", "websocket"],
  }[mode];
}

/**
 * Resolves with the arguments of the next `event` of `emitter`, rejects after `ms`. The rejection is also caught
 * on the side, so that a scenario that fails before awaiting it reports its own error, not this one.
 */
function once(emitter, event, ms = 5000) {
  const p = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    emitter.once(event, (...a) => {
      clearTimeout(t);
      resolve(a);
    });
  });
  p.catch(() => {});
  return p;
}

/**
 * Runs the named scenarios in order, printing {"type":"result","name":N,"ok":...} for each and {"type":"done"} at
 * the end, disconnecting the sockets a scenario left in `opened`; then exits.
 */
function runScenarios(scenarios, names, opened) {
  (async () => {
    for (const name of names) {
      try {
        await scenarios[name]();
        print({ type: "result", name, ok: true });
      } catch (e) {
        print({ type: "result", name, ok: false, error: String((e && e.stack) || e) });
      } finally {
        while (opened.length) opened.pop().disconnect();
      }
    }
    print({ type: "done" });
    process.exit(0);
  })().catch((e) => {
    log("fatal:", (e && e.stack) || e);
    process.exit(1);
  });
}

module.exports = { transportsFor, once, runScenarios };

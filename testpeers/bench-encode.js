"use strict";

// Encoding cost of one classic broadcast in the official emitter's codec (notepack.io, as @socket.io/redis-emitter
// 5.1.0 calls it), without Redis. Prints {"ns_per_op":…,"bytes":…}. See README.md in this folder.

const path = require("path");
const { parseArgs } = require("./lib/common");

const emitterDir = path.join(__dirname, "node_modules", "@socket.io", "redis-emitter");
const notepack = require(require.resolve("notepack.io", { paths: [emitterDir] }));

const args = parseArgs(process.argv.slice(2));
const n = Number(args.n || 1000000);
const message = {
  id: "message_id",
  created_at: "2017-12-19T14:00:00.000Z",
  body: "message_body",
  author: { name: "ann" },
  tags: ["a", "b"],
};
const build = () => [
  "emitter",
  { type: 2, data: ["my_event_name", message], nsp: "/" },
  { rooms: ["room_777"], flags: {}, except: [] },
];
let bytes = 0;
for (let i = 0; i < 100000; i++) bytes = notepack.encode(build()).length; // warm-up (JIT)
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) bytes = notepack.encode(build()).length;
const ns = Number(process.hrtime.bigint() - start) / n;
process.stdout.write(JSON.stringify({ ns_per_op: ns, bytes }) + "\n");

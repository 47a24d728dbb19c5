"use strict";

// The real socket.io-msgpack-parser (3.0.2, pinned), for the byte-compatibility tests of
// socketio/msgpackparser. Takes one JSON array as its second argument and prints one JSON line per element:
//
//   node msgpack-parser.js encode JSON   elements are packets ({"$binary": base64} is a Buffer, {"$undefined": true}
//                                   undefined); prints {"hex": ...} of the one encoded message
//   node msgpack-parser.js decode JSON   elements are hex strings; prints {"ok": true, "packet": ...} (toJSONSafe) or
//                                   {"ok": false, "error": ...}, as the decoder accepted or threw

const { Encoder, Decoder } = require("socket.io-msgpack-parser");
const { print, fromJSONSafe, toJSONSafe } = require("./lib/common");

function revive(v) {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    if (v.$undefined === true) return undefined;
    if (v.$binary !== undefined) return fromJSONSafe(v);
    const out = {};
    for (const [k, e] of Object.entries(v)) out[k] = revive(e);
    return out;
  }
  if (Array.isArray(v)) return v.map(revive);
  return v;
}

{
  const items = JSON.parse(process.argv[3]);
  for (const item of items) {
    if (process.argv[2] === "encode") {
      const [msg] = new Encoder().encode(revive(item));
      print({ hex: Buffer.from(msg).toString("hex") });
    } else {
      const d = new Decoder();
      let packet;
      d.on("decoded", (p) => (packet = p));
      try {
        d.add(Buffer.from(item, "hex"));
        print({ ok: true, packet: toJSONSafe(packet) });
      } catch (e) {
        print({ ok: false, error: String(e.message) });
      }
    }
  }
}

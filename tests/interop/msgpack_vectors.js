// Byte-level vectors of the npm socket.io-msgpack-parser (notepack.io), for
// tests/socketio_core/protocol/test_msgpack_parser.py (which holds them as constants)
// and tests/integration/test_msgpack_interop.py (which reruns this script and
// checks the constants still match what Node produces).
// usage: node msgpack_vectors.js   -> prints {"name": "hex", ...}
//
// "client_*" packets are built the way socket.io-client 4.x builds them
// (Socket#emit, #ack, #_sendConnectPacket, #disconnect: key order included);
// "server_*" packets use the key order our Python encoder writes
// ({type, data, nsp, id}), so the two encoders must agree byte for byte.
const crypto = require("crypto");
const { Encoder, Decoder } = require("socket.io-msgpack-parser");

const encoder = new Encoder();
const hex = (packet) => {
  const out = encoder.encode(packet);
  if (out.length !== 1) throw new Error("expected one message");
  return Buffer.from(out[0]).toString("hex");
};
const repeat = (s, n) => new Array(n + 1).join(s);
const range = (n) => Array.from({ length: n }, (_, i) => i);
const bytes = (n) => Buffer.from(range(n).map((i) => (i * 7 + 3) & 0xff));

const vectors = {
  // What the official client sends.
  client_connect_no_auth: { type: 0, data: undefined, nsp: "/" },
  client_connect_auth: { type: 0, data: { token: "abc", "é": "😀" }, nsp: "/custom" },
  client_event: { type: 2, data: ["echo", { a: 1, b: "hello" }], options: { compress: true }, nsp: "/" },
  client_event_ack_binary: {
    type: 2, data: ["bin", Buffer.from([1, 2, 3]), { nested: [Buffer.alloc(0)] }],
    options: { compress: true }, id: 7, nsp: "/",
  },
  client_ack: { type: 3, id: 5, data: ["ok", 1.5, null, true, false], nsp: "/custom" },
  client_disconnect: { type: 1, nsp: "/custom" },
  // JavaScript values without a JSON counterpart.
  client_undefined_args: { type: 2, data: ["u", undefined, { k: undefined }], nsp: "/" },
  client_date: { type: 2, data: ["d", new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 250)), new Date(-1)], nsp: "/" },
  client_arraybuffer: {
    type: 2,
    data: ["ab", new Uint8Array([0]).buffer, new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]).buffer,
      new Uint8Array([1, 2, 3]).buffer, new Uint8Array([0xd4, 0, 0, 0xd7, 0])],
    nsp: "/",
  },
  // What our server sends: key order {type, data, nsp, id}.
  server_connect: { type: 0, data: { sid: "abc123" }, nsp: "/" },
  server_connect_error: { type: 4, data: { message: "Invalid namespace" }, nsp: "/nope" },
  server_disconnect: { type: 1, nsp: "/custom" },
  server_event: { type: 2, data: ["echo", { a: 1, b: "hello" }], nsp: "/" },
  server_event_id: { type: 2, data: ["ping_client", null], nsp: "/custom", id: 12 },
  server_ack: { type: 3, data: [], nsp: "/", id: 0 },
  server_ints: {
    type: 2,
    data: ["ints", 0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991,
      -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991],
    nsp: "/",
  },
  // Only non-integral floats: notepack writes every integral number as an int,
  // so 3.0 is 0x03 (we write a float64 0xcb, read back as 3) and 1e300 is a
  // garbled uint64 (we write the float64).
  server_floats: { type: 2, data: ["floats", 0.5, -1.25, 1e-300, 5e-324, 0.1, 1.5e-5], nsp: "/" },
  server_strings: {
    type: 2,
    data: ["strings", "", repeat("a", 31), repeat("a", 32), repeat("é", 20), repeat("x", 255),
      repeat("y", 256), "😀", "\u2028\u0000"],
    nsp: "/",
  },
  server_containers: {
    type: 2,
    data: ["containers", range(15), range(16), Object.fromEntries(range(15).map((i) => ["k" + i, i])),
      Object.fromEntries(range(16).map((i) => ["k" + i, i])), [[[]]], {}],
    nsp: "/",
  },
  server_binary: { type: 2, data: ["binary", bytes(0), bytes(255), bytes(256)], nsp: "/", id: 3 },
};

const result = {};
for (const [name, packet] of Object.entries(vectors)) result[name] = hex(packet);

// Large headers (str 32, array 16, map 16, bin 32): length and digest only.
const big = {
  big_binary: { type: 2, data: ["big", bytes(70000)], nsp: "/" },
  big_string: { type: 2, data: ["big", repeat("z", 70000)], nsp: "/" },
  big_array: { type: 2, data: ["big", range(70000)], nsp: "/" },
};
for (const [name, packet] of Object.entries(big)) {
  const buf = Buffer.from(encoder.encode(packet)[0]);
  result[name] = buf.length + ":" + crypto.createHash("sha256").update(buf).digest("hex");
}

// What the npm decoder refuses (the Python decoder must refuse the same).
const refusals = {};
const decoder = new Decoder();
const probes = {
  type_5: "83a474797065" + "05a46461746191a178a36e7370a12f",
  no_nsp: "82a474797065" + "02a46461746191a178",
  event_data_map: "83a474797065" + "02a46461746180a36e7370a12f",
  disconnect_with_data: "83a474797065" + "01a46461746180a36e7370a12f",
  id_string: "84a474797065" + "02a46461746191a178a36e7370a12fa26964a131",
};
for (const [name, h] of Object.entries(probes)) {
  try {
    decoder.add(Buffer.from(h, "hex"));
    refusals[name] = [h, "accepted"];
  } catch (err) {
    refusals[name] = [h, err.message];
  }
}
result.refusals = refusals;
console.log(JSON.stringify(result));

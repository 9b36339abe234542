// The official Node client (socket.io-client on ws, permessage-deflate offered)
// against a server with --websocket-compression: small and large messages both
// ways, text and binary, then reports what was negotiated.
// usage: node compression_client.js URL THRESHOLD
const { io } = require("socket.io-client");

const [url, threshold] = process.argv.slice(2);
// threshold: messages from this many bytes up are compressed by the client (0: all).
const socket = io(url, {
  transports: ["websocket"], forceNew: true, reconnection: false,
  perMessageDeflate: { threshold: Number(threshold) },
});
const result = {};
const fail = (why) => { console.log(JSON.stringify({ error: why, ...result })); process.exit(1); };
setTimeout(() => fail("timeout"), 20000);

// Compressible but not trivially so: a line of JSON-ish text repeated with a counter.
const big = Array.from({ length: 20000 }, (_, i) => `{"row":${i},"name":"item"}`).join(",");
const blob = Buffer.alloc(300000, "abcdefgh");

socket.on("connect_error", (e) => fail("connect_error: " + e.message));
socket.on("auth", () => {
  result.extensions = socket.io.engine.transport.ws.extensions;
  socket.emit("echo_ack", "small", (small) => {
    result.small = small;
    socket.emit("echo_ack", big, blob, (text, buf) => {
      result.bigOk = text === big;
      result.bigLength = text.length;
      result.blobOk = Buffer.compare(Buffer.from(buf), blob) === 0;
      // A burst: with context takeover each message refers back to the previous ones.
      const n = 50;
      let got = 0;
      socket.on("echo", (i, payload) => {
        if (payload !== big.slice(i, 4000 + i)) fail("burst message " + i + " differs");
        if (++got === n) {
          result.burst = got;
          socket.close();
          console.log(JSON.stringify(result));
          process.exit(0);
        }
      });
      for (let i = 0; i < n; i++) socket.emit("echo", i, big.slice(i, 4000 + i));
    });
  });
});

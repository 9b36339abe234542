// Benchmark peer: Node's socket.io 4.8 server with its defaults (engine.io on ws,
// polling + websocket, no compression for small messages), implementing the
// handlers of our echo server (shared/ECHO_SERVER.md) that the load generator
// uses: on connect emit `auth` with the CONNECT payload; `echo` emits `echo`
// back to the sender; `echo_ack` acks with the same args; `join` (room, ack) joins
// the room and acks its name; `bcast` emits `bcast` to every client of the
// namespace (or of a room when the first arg has `room`): echo_handlers.js.
//
//   node sio_server.js --port N [--ping-interval MS] [--ping-timeout MS]
'use strict';

const { Server } = require('socket.io');
const { attach, arg, serverOptions } = require('./echo_handlers');

const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '0'));

const http = require('http');
const httpServer = http.createServer();
const io = new Server(httpServer, serverOptions());

attach(io);

httpServer.listen(port, host, 2048, () => {
  console.log(`listening on http://${host}:${httpServer.address().port}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}

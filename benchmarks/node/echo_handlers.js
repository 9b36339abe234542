// The echo contract's handlers that the benchmarks' clients use (shared/ECHO_SERVER.md),
// shared by the single-process peer (sio_server.js) and the cluster peer (sio_cluster.js),
// so both answer alike: on connect emit `auth` with the CONNECT payload; `echo` emits
// `echo` back to the sender; `echo_ack` acks with the same args; `join` (room, ack) joins
// the room and acks its name; `bcast` emits `bcast` to every client of the namespace (or
// of a room when the first arg has `room`). In the cluster the last goes through the
// cluster adapter, so it reaches the clients of every worker.
'use strict';

function attach(io) {
  io.on('connection', (socket) => {
    socket.emit('auth', socket.handshake.auth || {});
    socket.on('echo', (...args) => {
      socket.emit('echo', ...args);
    });
    socket.on('echo_ack', (...args) => {
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args);
    });
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack(room);
    });
    socket.on('bcast', (...args) => {
      const first = args[0];
      const room = first && typeof first === 'object' && !Array.isArray(first) ? first.room : undefined;
      if (room !== undefined && room !== null) io.to(room).emit('bcast', ...args);
      else io.emit('bcast', ...args);
    });
  });
}

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

// The socket.io Server options both peers use: its defaults, but for the ping
// timings the command line gives (--ping-interval/--ping-timeout, ms), any origin,
// and no client bundle served.
function serverOptions() {
  return {
    pingInterval: Number(arg('--ping-interval', '25000')),
    pingTimeout: Number(arg('--ping-timeout', '20000')),
    cors: { origin: '*' },
    serveClient: false,
  };
}

module.exports = { attach, arg, serverOptions };

// Shared by the recovery clients (recovery_client.js, recovery_cluster_client.js,
// recovery_burst_client.js).
//
// Why the transport is dropped from a task of its own: socket.io-client hands
// each decoded packet to the socket in a microtask, so when an event handler
// closes the engine, the packets that came in the same read behind that event
// are still queued. They reach a socket that is no longer connected, which
// keeps them in its receive buffer without recording their offsets, and the
// client replays that buffer when the recovered CONNECT reply arrives, after
// having sent the older offset: the server then sends them again, from the
// log. The client dedupes nothing, so every such packet arrives twice, on any
// server (Node's own socket.io 4.8 does the same; over polling only when the
// client has no POST in flight, else it defers the close). A real network failure
// arrives as an event of its own, after the read's packets were handled;
// closing from a timer is that.

/** Close the engine the way a network failure does: after this read's packets. */
function dropTransport(socket, mode = "deferred") {
  if (mode === "sync") {
    socket.io.engine.close(); // inside the handler: shows the client's own replay
  } else {
    setTimeout(() => socket.io.engine.close(), 0);
  }
}

/** Push, each time a new engine opens, how many stale events the socket still holds. */
function countStale(socket, into) {
  socket.io.on("open", () => into.push((socket.receiveBuffer || []).length));
}

module.exports = { dropTransport, countStale };

// The Node Socket.IO peer `make bench` measures Parley against (bench/peers.py starts it):
//   node bench/peers/socketio_node.js PORT WORKERS REDIS_URL KEY
// WORKERS processes (node:cluster, the primary hands out connections) share PORT; rooms
// span them through one Redis (@socket.io/redis-adapter). WebSocket transport only.
// Events, all acknowledged: "join" (channel) -> {node}; "send" ({channel, seq, body}) ->
// {seq} after io.to(channel).emit("message", {type, channel, seq, body}).
// Nothing is stored and nothing orders sends across publishers: it is the fan-out alone.
"use strict";
const cluster = require("node:cluster");
const http = require("node:http");
const os = require("node:os");
const [port, workers, redisUrl, key] = process.argv.slice(2);

if (cluster.isPrimary) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  cluster.on("exit", () => process.exit(1)); // a dead worker fails the run, loudly
  process.on("SIGTERM", () => {
    for (const w of Object.values(cluster.workers)) w.process.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const { Server } = require("socket.io");
  const { createAdapter } = require("@socket.io/redis-adapter");
  const { createClient } = require("redis");
  const node = `${os.hostname()}-${process.pid}-node`;
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === "/readyz" ? 200 : 404).end();
  });
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  Promise.all([pub.connect(), sub.connect()]).then(() => {
    const io = new Server(server, {
      transports: ["websocket"],
      perMessageDeflate: false,
      adapter: createAdapter(pub, sub, { key }),
    });
    io.on("connection", (socket) => {
      socket.on("join", (channel, ack) => {
        socket.join(channel);
        if (typeof ack === "function") ack({ node });
      });
      socket.on("send", (m, ack) => {
        io.to(m.channel).emit("message", {
          type: "message", channel: m.channel, seq: m.seq, body: m.body,
        });
        if (typeof ack === "function") ack({ seq: m.seq });
      });
    });
    server.listen(Number(port), "127.0.0.1");
  });
}

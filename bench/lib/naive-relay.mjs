// The baseline: the simplest NATS → ws relay that works. No framework,
// no per-viewer queue, no join handling beyond accepting the socket: one
// subscription to everything the room's sources publish and, for each
// message, `ws.send(msg.data)` to every client. Whatever the gateway costs
// above this is what its features cost.
//
//   fork('bench/lib/naive-relay.mjs', ['--nats', url, '--room', r])
//   event: { type: 'ready', port }; requests: stop.
import { connect } from '@nats-io/transport-node';
import { wildcards } from '@vidchat/protocol';
import { WebSocketServer } from 'ws';
import { parseArgs, serveIpc } from './worker.mjs';

const args = parseArgs(process.argv.slice(2));
const nc = await connect({ servers: args.nats, name: 'vidchat-bench-naive-relay' });
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(args.port ?? 0), path: '/ws' });
await new Promise((r) => wss.once('listening', r));

const sub = nc.subscribe(wildcards.roomSources(args.room ?? 'bench'));
(async () => {
  for await (const msg of sub) {
    for (const ws of wss.clients) ws.send(msg.data);
  }
})();

serveIpc(
  { stop: () => ({}) },
  {
    onExit: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await nc.close().catch(() => undefined);
    },
  },
);
process.send?.({ type: 'ready', port: wss.address().port });

// The worker side of forkWorker(): replies to `{ id, type, ... }` requests
// from the bench process, and exits when that process goes away, so that a
// worker never outlives the bench that started it.

/** Serves `handlers[type](msg)` over IPC; a handler's resolved object is the reply. */
export function serveIpc(handlers, { onExit } = {}) {
  let exiting = false;
  const exit = async (code) => {
    if (exiting) return;
    exiting = true;
    try {
      await onExit?.();
    } finally {
      process.exit(code);
    }
  };
  process.on('disconnect', () => void exit(0));
  process.on('SIGTERM', () => void exit(0));
  // Ctrl-C reaches the whole process group; the parent decides when we stop.
  process.on('SIGINT', () => undefined);
  process.on('message', async (msg) => {
    const handler = handlers[msg?.type];
    if (!handler) {
      process.send?.({ replyTo: msg?.id, error: `unknown request ${msg?.type}` });
      return;
    }
    try {
      const reply = (await handler(msg)) ?? {};
      process.send?.({ replyTo: msg.id, ...reply });
      if (msg.type === 'stop') await exit(0);
    } catch (err) {
      process.send?.({ replyTo: msg.id, error: err?.stack ?? String(err) });
    }
  });
}

/** Parses `--name value` pairs into an object (bench workers only). */
export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) out[a.slice(2)] = true;
      else out[a.slice(2)] = argv[++i];
    }
  }
  return out;
}

// Flags shared by bench/run.mjs and the standalone benches.
export function benchFlags(argv = process.argv.slice(2)) {
  const flags = { quick: false, only: null, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') flags.quick = true;
    else if (a === '--profile') flags.profile = true;
    else if (a === '--only') flags.only = argv[++i] ?? null;
    else if (a.startsWith('--only=')) flags.only = a.slice('--only='.length);
    else if (a === '--render') flags.render = argv[++i] ?? null;
    else if (a === '--help' || a === '-h') flags.help = true;
    else throw new Error(`unknown flag ${a} (try --help)`);
  }
  return flags;
}

/** Runs a bench module's run() when the file is executed directly, with cleanup on any exit. */
export async function runStandalone(importMetaUrl, run, render) {
  const { fileURLToPath } = await import('node:url');
  if (process.argv[1] !== fileURLToPath(importMetaUrl)) return;
  const { cleanupAll } = await import('./procs.mjs');
  const flags = benchFlags();
  try {
    const result = await run({ quick: flags.quick, profile: flags.profile });
    console.log(render ? render(result) : JSON.stringify(result, null, 2));
  } catch (err) {
    console.error(err?.stack ?? err);
    process.exitCode = 1;
  } finally {
    await cleanupAll();
  }
}

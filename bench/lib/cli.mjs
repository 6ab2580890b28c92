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

/**
 * The command line of a bench that takes `[--quick] [--json]`, when the file
 * is executed directly: an unknown argument is one line and exit 2;
 * otherwise run({ quick }) and print render(result), or the result as JSON.
 */
export async function runQuickJson(importMetaUrl, run, render) {
  const { fileURLToPath } = await import('node:url');
  const { basename } = await import('node:path');
  const file = fileURLToPath(importMetaUrl);
  if (process.argv[1] !== file) return;
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--quick' && a !== '--json');
  if (unknown.length) {
    console.error(`unknown argument ${unknown[0]}; usage: node bench/${basename(file)} [--quick] [--json]`);
    process.exit(2);
  }
  const result = await run({ quick: args.includes('--quick') });
  console.log(args.includes('--json') ? JSON.stringify(result, null, 2) : render(result));
}

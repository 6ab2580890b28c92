import { isValidId } from '@vidchat/protocol';

/*
 * Command-line and environment configuration, read in one place per app.
 * Every option has a flag, an environment variable and a documented default;
 * `--help` lists them; a bad value is one line on stderr and exit code 2.
 * Flags win over the environment, the environment over defaults.
 */

/** A bad flag or environment value. `runCli` prints it as one line and exits 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Option<T> {
  /** Long flag without dashes, e.g. `nats`. */
  flag: string;
  /** Environment variable, e.g. `VIDCHAT_NATS_URL`. */
  env: string;
  description: string;
  /** Shown in --help, e.g. `<url>`. Boolean switches have none. */
  placeholder?: string;
  /** Value when neither the flag nor the env var is given. */
  default: T;
  /** Turns the raw text into a value or throws `Error` with what was expected. */
  parse(raw: string): T;
  /** A switch takes no value on the command line (`--list-devices`). */
  switch?: boolean;
  /** Hidden from the default listing of --help. */
  secret?: boolean;
  /** What --help shows as the default when the value depends on the machine (a host name, say). */
  defaultLabel?: string;
}

export type OptionSpec = Record<string, Option<unknown>>;
export type Config<S extends OptionSpec> = { [K in keyof S]: S[K] extends Option<infer T> ? T : never };

/** Option builders; `expected` texts are what a person reads after a typo. */
/** The parse of an id flag: the id rules of libs/protocol, told in one line. */
function parseIdValue(raw: string): string {
  if (!isValidId(raw)) {
    throw new Error(
      `expected 1-64 characters A-Z a-z 0-9 _ - starting with a letter or digit, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

export const opt = {
  string(
    flag: string,
    env: string,
    description: string,
    def: string,
    placeholder = '<text>',
    check?: (v: string) => string | null,
  ): Option<string> {
    return {
      flag,
      env,
      description,
      placeholder,
      default: def,
      parse: (raw) => {
        const problem = check?.(raw) ?? null;
        if (problem) throw new Error(problem);
        return raw;
      },
    };
  },
  optionalString(flag: string, env: string, description: string, placeholder = '<text>'): Option<string | undefined> {
    return { flag, env, description, placeholder, default: undefined, parse: (raw) => raw };
  },
  secret(flag: string, env: string, description: string, placeholder = '<text>'): Option<string | undefined> {
    return { flag, env, description, placeholder, default: undefined, parse: (raw) => raw, secret: true };
  },
  int(flag: string, env: string, description: string, def: number, min: number, max: number): Option<number> {
    return {
      flag,
      env,
      description,
      placeholder: '<n>',
      default: def,
      parse: (raw) => {
        const n = Number(raw);
        if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
          throw new Error(`expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
        }
        return n;
      },
    };
  },
  number(flag: string, env: string, description: string, def: number, min: number, max: number): Option<number> {
    return {
      flag,
      env,
      description,
      placeholder: '<n>',
      default: def,
      parse: (raw) => {
        const n = Number(raw);
        if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
          throw new Error(`expected a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
        }
        return n;
      },
    };
  },
  port(flag: string, env: string, description: string, def: number): Option<number> {
    return opt.int(flag, env, description, def, 0, 65535);
  },
  /** A room or source id, checked before it can become a NATS subject token. */
  id(flag: string, env: string, description: string, def: string): Option<string> {
    return {
      flag,
      env,
      description,
      placeholder: '<id>',
      default: def,
      parse: parseIdValue,
    };
  },
  /** An id with no default (absent: the program picks one). */
  optionalId(flag: string, env: string, description: string): Option<string | undefined> {
    return { flag, env, description, placeholder: '<id>', default: undefined, parse: parseIdValue };
  },
  natsUrl(flag: string, env: string, description: string, def: string): Option<string> {
    return {
      flag,
      env,
      description,
      placeholder: '<url>',
      default: def,
      parse: (raw) => {
        for (const part of raw.split(',')) {
          let u: URL;
          try {
            u = new URL(part.includes('://') ? part : `nats://${part}`);
          } catch {
            throw new Error(`expected a NATS URL like nats://127.0.0.1:4222, got ${JSON.stringify(raw)}`);
          }
          if (!['nats:', 'tls:', 'ws:', 'wss:'].includes(u.protocol) || !u.hostname) {
            throw new Error(`expected a NATS URL like nats://127.0.0.1:4222, got ${JSON.stringify(raw)}`);
          }
        }
        return raw;
      },
    };
  },
  oneOf<T extends string>(flag: string, env: string, description: string, def: T, values: readonly T[]): Option<T> {
    return {
      flag,
      env,
      description,
      placeholder: `<${values.join('|')}>`,
      default: def,
      parse: (raw) => {
        if (!(values as readonly string[]).includes(raw)) {
          throw new Error(`expected one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
        }
        return raw as T;
      },
    };
  },
  switch(flag: string, env: string, description: string): Option<boolean> {
    return {
      flag,
      env,
      description,
      default: false,
      switch: true,
      parse: (raw) => {
        if (['1', 'true', 'yes', 'on', ''].includes(raw.toLowerCase())) return true;
        if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
        throw new Error(`expected true or false, got ${JSON.stringify(raw)}`);
      },
    };
  },
};

export interface ParsedCli<S extends OptionSpec> {
  config: Config<S>;
  help: boolean;
  positionals: string[];
}

/** Parses argv (without node and script) and env against `spec`; throws `UsageError`. */
export function parseCli<S extends OptionSpec>(
  spec: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedCli<S> {
  const byFlag = new Map<string, [string, Option<unknown>]>();
  for (const [key, o] of Object.entries(spec)) byFlag.set(o.flag, [key, o]);
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  let help = false;

  for (const [key, o] of Object.entries(spec)) {
    const raw = env[o.env];
    if (raw === undefined || raw === '') {
      values[key] = o.default;
      continue;
    }
    try {
      values[key] = o.parse(raw);
    } catch (err) {
      throw new UsageError(`${o.env}: ${(err as Error).message}`);
    }
  }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const entry = byFlag.get(name);
    if (!entry) throw new UsageError(`unknown option --${name} (see --help)`);
    const [key, o] = entry;
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (o.switch) raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${name} needs a value ${o.placeholder ?? ''}`.trim());
      }
      raw = next;
      i++;
    }
    try {
      values[key] = o.parse(raw);
    } catch (err) {
      throw new UsageError(`--${name}: ${(err as Error).message}`);
    }
  }
  return { config: values as Config<S>, help, positionals };
}

/** The --help text: usage, then every option with its env var and default. */
export function helpText(program: { name: string; summary: string; usage?: string }, spec: OptionSpec): string {
  const rows = Object.values(spec).map((o) => {
    const left = `  --${o.flag}${o.placeholder && !o.switch ? ` ${o.placeholder}` : ''}`;
    const def = o.defaultLabel
      ? ` (default: ${o.defaultLabel})`
      : o.default === undefined || o.default === false || o.default === ''
        ? ''
        : ` (default: ${Array.isArray(o.default) ? o.default.join(',') : String(o.default)})`;
    // Long flags push the description right; keep two spaces so the columns stay parseable.
    const head = left.length >= 34 ? `${left} ` : left.padEnd(34);
    return `${head} ${o.description}${def}\n${''.padEnd(35)}env ${o.env}`;
  });
  return [
    `${program.name}: ${program.summary}`,
    '',
    `Usage: ${program.usage ?? `${program.name} [options]`}`,
    '',
    'Options:',
    ...rows,
    `${'  --help'.padEnd(34)} show this help`,
    '',
  ].join('\n');
}

/**
 * Runs a program's main with parsed configuration: `--help` prints and exits
 * 0; a `UsageError` prints `<name>: <message>` on one line and exits 2; any
 * other error thrown while starting prints one line and exits 1.
 */
export async function runCli<S extends OptionSpec>(
  program: { name: string; summary: string; usage?: string; spec: S },
  main: (config: Config<S>, positionals: string[]) => Promise<void> | void,
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  let parsed: ParsedCli<S>;
  try {
    parsed = parseCli(program.spec, argv, env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${program.name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(helpText(program, program.spec));
    process.exit(0);
  }
  try {
    await main(parsed.config, parsed.positionals);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${program.name}: ${err.message}\n`);
      process.exit(2);
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`${program.name}: ${e.message}${e.code ? ` (${e.code})` : ''}\n`);
    process.exit(1);
  }
}

/** `--log-level`, shared by every program. */
export const logLevelOption = opt.oneOf('log-level', 'VIDCHAT_LOG_LEVEL', 'log verbosity', 'info', [
  'debug',
  'info',
  'warn',
  'error',
  'silent',
] as const);

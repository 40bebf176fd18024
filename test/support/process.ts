/**
 * Runs the server as users do, in its own process, and watches its output and exit: the sources through tsx with the
 * Node options `npm start` gives the build (`node [options] --import tsx src/main.ts`), or `npm start` itself.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OutputWatch } from './output-watch.js';
import { startNodeOptions } from './start-command.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = pathToFileURL(createRequire(path.join(ROOT, 'package.json')).resolve('tsx')).href;

export interface ServerProcess {
  readonly child: ChildProcess;
  /** Lines written so far: JSON log lines on stdout, one-line errors on stderr. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Resolves with the first parsed JSON log line whose `msg` matches; rejects if the process exits first. */
  waitForLog(msg: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Starts, waits for the "GraphQL at" line, and gives the base URL. */
  ready(timeoutMs?: number): Promise<string>;
}

export interface SpawnOptions {
  /** A script under src/: the server by default, or a command such as src/cli/migrate.ts. */
  entry?: string;
  args?: string[];
  /** Run `npm start` instead, exactly as a user or a process manager would. */
  viaNpmStart?: boolean;
  /** Run the build (dist/main.js, with `npm start`'s options) without building first: the caller has built it. */
  built?: boolean;
  /** Written to the process's standard input (a pipe, as a script would), which is then closed. */
  input?: string;
  /** The working directory (the project's root by default): an operator's own project, say. */
  cwd?: string;
}

export function spawnServer(env: Record<string, string>, options: SpawnOptions = {}): ServerProcess {
  const { entry = 'src/main.ts', args = [], viaNpmStart = false, built = false, cwd = ROOT } = options;
  // From another directory, the script and tsx are named where they are, not looked up from there.
  const [script, tsx] = cwd === ROOT ? [entry, 'tsx'] : [path.join(ROOT, entry), TSX];
  const [command, commandArgs] = viaNpmStart
    ? ['npm', ['start', '--silent']]
    : built
      ? [process.execPath, [...startNodeOptions(), 'dist/main.js', ...args]]
      : [process.execPath, [...(entry === 'src/main.ts' ? startNodeOptions() : []), '--import', tsx, script, ...args]];
  const child = spawn(command, commandArgs, {
    cwd,
    // Only what the test names, so the developer's own environment (and .env file) cannot leak in.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ENV_FILE: 'none',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    },
    // Its own process group, so a test can signal the group as a terminal's Ctrl-C does.
    detached: true,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
  if (options.input !== undefined) child.stdin?.end(options.input);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const watch = new OutputWatch();
  const collect = (target: string[]) => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      target.push(...lines);
      watch.changed();
    };
  };
  child.stdout.on('data', collect(stdout));
  child.stderr.on('data', collect(stderr));
  // 'close', not 'exit': only then has all of the process's output been read.
  const exited = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
      watch.end();
    });
  });

  const waitForLog = (msg: RegExp, timeoutMs = 30_000) =>
    watch.until(
      () =>
        stdout
          .map(parseLogLine)
          .find((parsed) => parsed !== undefined && typeof parsed.msg === 'string' && msg.test(parsed.msg)),
      timeoutMs,
      (reason) => {
        const output = [...stdout, ...stderr].join('\n');
        return reason === 'ended'
          ? `server exited before logging ${msg}:\n${output}`
          : `no log line ${msg} within ${timeoutMs} ms:\n${output}`;
      },
    );

  return {
    child,
    stdout,
    stderr,
    exited,
    waitForLog,
    async ready(timeoutMs) {
      const line = await waitForLog(/^GraphQL at /, timeoutMs);
      return String(line.url).replace(/\/graphql$/, '');
    },
  };
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** What a management command did, once it has exited. */
export interface CommandResult {
  readonly code: number | string;
  /** Standard output, whole. */
  readonly out: string;
  /** Its non-empty lines. */
  readonly lines: string[];
  /** Standard error's non-empty lines. */
  readonly err: string[];
}

/** Runs `npm run manage -- <args>` as an operator would (standard input piped when `input` is given). */
export async function runManage(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
  cwd?: string,
): Promise<CommandResult> {
  const cli = spawnServer(env, {
    entry: 'src/cli/manage.ts',
    args,
    ...(input === undefined ? {} : { input }),
    ...(cwd === undefined ? {} : { cwd }),
  });
  const { code } = await timeExit(cli);
  return { code, out: cli.stdout.join('\n'), lines: cli.stdout.filter(Boolean), err: cli.stderr.filter(Boolean) };
}

/** Milliseconds from now until the process exits, with its exit code. */
export async function timeExit(server: ServerProcess): Promise<{ code: number | string; ms: number }> {
  const started = performance.now();
  const code = await server.exited;
  return { code, ms: performance.now() - started };
}

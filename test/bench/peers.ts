/**
 * The server beside its peers, measured alike in one run: the ceiling (a bare Apollo Server 5 on Express 5 in plain
 * JavaScript), this server as `npm start` runs it (the build, production), Better Auth's getSession behind a minimal
 * route, and Django 3.2 under gunicorn when it is installed. Each is loaded in turn by the same external load
 * (external-load.ts) for several alternating rounds; per server, the median req/s, its CPU per request from /proc
 * (for gunicorn, the master and its workers), PostgreSQL's (the backends connected to the bench database: only the
 * server being loaded is busy) and SQL statements per request; the ratios are taken within each round.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type pg from 'pg';
import { externalLoad, LOAD_CONNECTIONS, type LoadResult, type LoadTarget } from './external-load.js';
import { childrenOf, cpuBetween, cpuMicrosOf } from './proc.js';
import { freePort } from '../support/ports.js';
import { ProbedServer } from './probed-server.js';

const DJANGO_DIR = fileURLToPath(new URL('./django/', import.meta.url));
const BETTER_AUTH_PASSWORD = 'bench-password-correct-horse';

export interface PeersOptions {
  /** The bench's scratch database, already migrated and seeded by this server. */
  databaseUrl: string;
  /** A connection to another database of the same server: which backends serve the bench database. */
  admin: pg.Client;
  /** This server's environment (as the rest of the bench runs it). */
  serverEnv: Record<string, string>;
  /** Session cookies of the seeded users, made by this server's logins. */
  sessions: readonly string[];
  /** The seeded users' usernames share this prefix (Django logs them in). */
  usernamePrefix: string;
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  /** How many users Better Auth signs up and Django logs in. */
  peerUsers: number;
  wrk: string | undefined;
  headers: Record<string, string>;
  log: (line: string) => void;
}

interface Peer {
  key: PeerKey;
  label: string;
  target: LoadTarget;
  pids: () => Promise<number[]>;
  probe?: ProbedServer;
  /** SQL statements per request when they are not counted during the rounds (Django: counted once by Django). */
  sqlPerRequest?: number;
}

type PeerKey = 'ceiling' | 'project' | 'projectAnonymous' | 'betterAuth' | 'django';

export interface PeerRound extends LoadResult {
  serverCpuMicrosPerRequest: number;
  postgresCpuMicrosPerRequest: number;
  sqlPerRequest: number | null;
}

export interface PeerRow {
  key: PeerKey;
  label: string;
  reqPerSec: number;
  reqPerSecMin: number;
  reqPerSecMax: number;
  serverCpuMicrosPerRequest: number;
  postgresCpuMicrosPerRequest: number;
  sqlPerRequest: number | null;
  p99Ms: number;
  rounds: PeerRound[];
}

export interface PeerRatio {
  name: string;
  median: number;
  min: number;
  max: number;
  perRound: number[];
}

export interface PeersReport {
  loadGenerator: 'wrk' | 'autocannon';
  connections: number;
  rounds: number;
  seconds: number;
  rows: PeerRow[];
  ratios: PeerRatio[];
  skipped: string[];
}

const RATIOS: [string, PeerKey, PeerKey][] = [
  ['this project authenticated ÷ Better Auth (req/s)', 'project', 'betterAuth'],
  ['this project authenticated ÷ Django (req/s)', 'project', 'django'],
  ['this project anonymous ÷ ceiling (req/s)', 'projectAnonymous', 'ceiling'],
  ['this project authenticated ÷ ceiling (req/s)', 'project', 'ceiling'],
];

export async function runPeers(options: PeersOptions): Promise<PeersReport> {
  const { log } = options;
  const skipped: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const peers: Peer[] = [];
    log('peers: starting the ceiling (plain node), this server (dist/main.js) and Better Auth');
    const ceiling = await ProbedServer.start('test/bench/ceiling.mjs', { NODE_ENV: 'production' });
    stops.push(() => ceiling.stop());
    peers.push({
      key: 'ceiling',
      label: 'ceiling: bare Apollo 5 + Express 5, `{ me { id } }` from a constant (plain JS)',
      // Cookies it ignores, shaped like real session cookies: the same bytes on the wire as for the others.
      target: {
        url: `${ceiling.url}/graphql`,
        method: 'POST',
        body: JSON.stringify({ query: '{ me { id } }' }),
        headers: options.headers,
        cookies: options.sessions.map(
          () =>
            `sessionid=s%3A${crypto.randomBytes(24).toString('base64url')}.${crypto.randomBytes(32).toString('base64url')}`,
        ),
        expect: '"id":"1"',
      },
      pids: () => Promise.resolve([ceiling.pid]),
      probe: ceiling,
    });

    const project = await ProbedServer.start('dist/main.js', options.serverEnv);
    stops.push(() => project.stop());
    peers.push(
      {
        key: 'project',
        label: 'this project, authenticated `{ me { id username groups { name } permissions } }`, production',
        target: {
          url: `${project.url}/graphql`,
          method: 'POST',
          body: JSON.stringify({ query: '{ me { id username groups { name } permissions } }' }),
          headers: options.headers,
          cookies: options.sessions,
          expect: `"username":"${options.usernamePrefix}`,
        },
        pids: () => Promise.resolve([project.pid]),
        probe: project,
      },
      {
        key: 'projectAnonymous',
        label: 'this project, anonymous `{ me { id } }`',
        target: {
          url: `${project.url}/graphql`,
          method: 'POST',
          body: JSON.stringify({ query: '{ me { id } }' }),
          headers: options.headers,
          cookies: [],
          expect: '"me":null',
        },
        pids: () => Promise.resolve([project.pid]),
        probe: project,
      },
    );

    const betterAuth = await ProbedServer.start('test/bench/better-auth.mjs', {
      NODE_ENV: 'production',
      DATABASE_URL: options.databaseUrl,
      BETTER_AUTH_SECRET: crypto.randomBytes(32).toString('hex'),
    });
    stops.push(() => betterAuth.stop());
    log(`peers: ${options.peerUsers} users signed up through Better Auth (its answers carry their session cookies)`);
    peers.push({
      key: 'betterAuth',
      label: 'Better Auth `auth.api.getSession` behind a minimal `node:http` route, DB sessions',
      target: {
        url: `${betterAuth.url}/me`,
        method: 'GET',
        headers: {},
        cookies: await betterAuthSessions(betterAuth.url, options.peerUsers),
        expect: '"userId"',
      },
      pids: () => Promise.resolve([betterAuth.pid]),
      probe: betterAuth,
    });

    const django = await startDjango(options);
    if (typeof django === 'string') {
      skipped.push(django);
      log(`peers: Django skipped: ${django}`);
    } else {
      stops.push(django.stop);
      peers.push(django.peer);
    }

    log(
      `peers: warm-up, then ${options.rounds} alternating rounds of ${options.seconds} s each with ` +
        `${options.wrk === undefined ? 'autocannon' : 'wrk'}, ${LOAD_CONNECTIONS} keep-alive connections`,
    );
    for (const peer of peers) await externalLoad(peer.target, options.warmupSeconds, options.wrk);
    const measured = new Map<PeerKey, PeerRound[]>(peers.map(({ key }) => [key, []]));
    for (let round = 0; round < options.rounds; round++) {
      for (const peer of peers) {
        const result = await measureRound(peer, options);
        measured.get(peer.key)?.push(result);
      }
      log(
        `  round ${round + 1}: ${peers.map(({ key }) => `${key} ${Math.round(measured.get(key)?.[round]?.reqPerSec ?? 0)}`).join(', ')} req/s`,
      );
    }

    const rows = peers.map((peer): PeerRow => {
      const rounds = measured.get(peer.key) ?? [];
      const rates = rounds.map(({ reqPerSec }) => reqPerSec);
      const sql = rounds.map(({ sqlPerRequest }) => sqlPerRequest).filter((value) => value !== null);
      return {
        key: peer.key,
        label: peer.label,
        reqPerSec: median(rates),
        reqPerSecMin: Math.min(...rates),
        reqPerSecMax: Math.max(...rates),
        serverCpuMicrosPerRequest: median(rounds.map((each) => each.serverCpuMicrosPerRequest)),
        postgresCpuMicrosPerRequest: median(rounds.map((each) => each.postgresCpuMicrosPerRequest)),
        sqlPerRequest: sql.length > 0 ? median(sql) : null,
        p99Ms: median(rounds.map(({ p99Ms }) => p99Ms)),
        rounds,
      };
    });
    const ratios = RATIOS.flatMap(([name, over, under]): PeerRatio[] => {
      const top = measured.get(over);
      const bottom = measured.get(under);
      if (!top || !bottom) return [];
      const perRound = top.map((each, round) => each.reqPerSec / (bottom[round]?.reqPerSec ?? NaN));
      return [{ name, median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound), perRound }];
    });
    return {
      loadGenerator: options.wrk === undefined ? 'autocannon' : 'wrk',
      connections: LOAD_CONNECTIONS,
      rounds: options.rounds,
      seconds: options.seconds,
      rows,
      ratios,
      skipped,
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

async function measureRound(peer: Peer, options: PeersOptions): Promise<PeerRound> {
  const backends = async () =>
    (
      await options.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
        new URL(options.databaseUrl).pathname.slice(1),
      ])
    ).rows.map(({ pid }) => pid);
  const serverBefore = await cpuMicrosOf(await peer.pids());
  const postgresBefore = await cpuMicrosOf(await backends());
  await peer.probe?.ask('reset');
  const result = await externalLoad(peer.target, options.seconds, options.wrk);
  const serverAfter = await cpuMicrosOf(await peer.pids());
  const postgresAfter = await cpuMicrosOf(await backends());
  const probe = await peer.probe?.ask('read');
  return {
    ...result,
    serverCpuMicrosPerRequest: cpuBetween(serverBefore, serverAfter) / result.requests,
    postgresCpuMicrosPerRequest: cpuBetween(postgresBefore, postgresAfter) / result.requests,
    sqlPerRequest: probe === undefined ? (peer.sqlPerRequest ?? null) : probe.statements / result.requests,
  };
}

/** Signs `users` users up through Better Auth's own route, four at a time; each answer's session cookie. */
async function betterAuthSessions(url: string, users: number): Promise<string[]> {
  const cookies: string[] = [];
  let next = 0;
  const signUp = async (): Promise<void> => {
    while (next < users) {
      const user = next++;
      const response = await fetch(`${url}/api/auth/sign-up/email`, {
        method: 'POST',
        // As from its own page: Better Auth refuses a browser's request (as fetch's looks) without an Origin.
        headers: { 'content-type': 'application/json', origin: url },
        body: JSON.stringify({
          email: `bench-${String(user).padStart(4, '0')}@example.com`,
          password: BETTER_AUTH_PASSWORD,
          name: `bench-${user}`,
        }),
      });
      const cookie = response.headers
        .getSetCookie()
        .find((each) => each.startsWith('better-auth.session_token='))
        ?.split(';')[0];
      if (!cookie) throw new Error(`Better Auth sign-up ${user} failed: ${response.status} ${await response.text()}`);
      cookies.push(cookie);
    }
  };
  await Promise.all([signUp(), signUp(), signUp(), signUp()]);
  return cookies;
}

/** A Python with Django and gunicorn (the first `python3` on PATH may be another one than Debian's). */
function findDjangoPython(): { python: string; version: string } | string {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      const version = execFileSync(python, ['-c', 'import django, gunicorn; print(django.get_version())'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      return { python, version };
    } catch {
      // the next one
    }
  }
  return 'no python3 with Django and gunicorn (Debian: apt-get install python3-django gunicorn python3-psycopg2)';
}

/** Django 3.2 under gunicorn with 2 workers, its sessions made by its own login(); or why it cannot run. */
async function startDjango(options: PeersOptions): Promise<{ peer: Peer; stop: () => Promise<void> } | string> {
  const found = findDjangoPython();
  if (typeof found === 'string') return found;
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: options.databaseUrl,
    DJANGO_SECRET_KEY: crypto.randomBytes(32).toString('hex'),
    PYTHONDONTWRITEBYTECODE: '1',
  };
  log(
    options,
    `peers: Django ${found.version} under gunicorn, 2 workers; ${options.peerUsers} users logged in by Django`,
  );
  const { stdout } = await promisify(execFile)(
    found.python,
    ['sessions.py', options.usernamePrefix, String(options.peerUsers)],
    { cwd: DJANGO_DIR, env },
  );
  const { statementsPerMe, sessions } = JSON.parse(stdout) as { statementsPerMe: number; sessions: string[] };
  const port = await freePort();
  const gunicorn: ChildProcess = spawn(
    found.python,
    ['-m', 'gunicorn', '--workers', '2', '--bind', `127.0.0.1:${port}`, 'wsgi:application'],
    { cwd: DJANGO_DIR, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr: string[] = [];
  gunicorn.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const stop = async () => {
    if (gunicorn.exitCode !== null) return;
    gunicorn.kill('SIGTERM');
    await once(gunicorn, 'exit');
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (gunicorn.exitCode !== null) throw new Error(`gunicorn exited at start-up: ${stderr.join('')}`);
    const up = await fetch(`${url}/me`).then(
      (response) => response.status === 401,
      () => false,
    );
    // Both workers up: their CPU is read from /proc.
    if (up && (await childrenOf(gunicorn.pid ?? 0)).length === 2) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`gunicorn was not ready within 30 s: ${stderr.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const master = gunicorn.pid ?? 0;
  return {
    peer: {
      key: 'django',
      label: `Django ${found.version} \`/me\` with \`get_all_permissions()\` (gunicorn, 2 workers)`,
      target: {
        url: `${url}/me`,
        method: 'GET',
        headers: {},
        cookies: sessions.map((key) => `sessionid=${key}`),
        expect: `"username": "${options.usernamePrefix}`,
      },
      pids: async () => [master, ...(await childrenOf(master))],
      sqlPerRequest: statementsPerMe,
    },
    stop,
  };
}

function log(options: PeersOptions, line: string): void {
  options.log(line);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

/** The peers' table and the ratios, as printed and as docs/benchmarks.md shows them. */
export function peersTable(report: PeersReport): string {
  const header = [
    'server',
    'req/s (median)',
    'req/s min–max',
    'server CPU µs/req',
    'PostgreSQL CPU µs/req',
    'SQL/req',
    'p99 ms',
  ];
  const lines = report.rows.map((row) => [
    row.label,
    String(Math.round(row.reqPerSec)),
    `${Math.round(row.reqPerSecMin)}–${Math.round(row.reqPerSecMax)}`,
    String(Math.round(row.serverCpuMicrosPerRequest)),
    String(Math.round(row.postgresCpuMicrosPerRequest)),
    row.sqlPerRequest === null ? '' : String(Math.round(row.sqlPerRequest * 100) / 100),
    String(Math.round(row.p99Ms * 10) / 10),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]?.length ?? 0)),
  );
  const format = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  const ratioLines = report.ratios.map(
    ({ name, median: middle, min, max }) =>
      `${name}: ${middle.toFixed(2)} (rounds ${min.toFixed(2)}–${max.toFixed(2)})`,
  );
  return [
    format(header),
    `|${widths.map((width, column) => (column === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`,
    ...lines.map(format),
    '',
    ...ratioLines,
    `(${report.loadGenerator}, ${report.connections} keep-alive connections, median of ${report.rounds} alternating rounds of ${report.seconds} s)`,
    ...report.skipped.map((reason) => `Django skipped: ${reason}`),
  ].join('\n');
}

/**
 * `npm run bench`: the real server, as `npm start` runs it (the build, production), against a real PostgreSQL. Two
 * parts, in one run: its own scenarios and budgets, loaded on loopback by autocannon, with the ceiling of a bare
 * Apollo Server and the floor (floor.ts) beside them; then the server beside its peers (peers.ts: the ceiling, Better
 * Auth, Django when installed) in alternating rounds under external load (wrk). Prints the tables, writes JSON,
 * checks the budgets and exits 1 when one is missed.
 *
 *   npm run bench                      the full run (about ten minutes)
 *   npm run bench -- --quick           a smoke run: small amounts, one short round of the peers; only the budgets
 *                                      that do not depend on time
 *   npm run bench -- --json out.json   where the JSON goes (default .bench/latest.json)
 *   npm run bench -- --profile         also write a CPU profile of each server of the first part to .bench/profiles
 *
 * The database: DATABASE_URL's server, or the local one (postgres://postgres@127.0.0.1:5432/postgres). A scratch
 * database gqlauth_bench is created there, and dropped at the end.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type pg from 'pg';
import { createAuth } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { findWrk } from './external-load.js';
import { peersTable, runPeers, type PeersReport } from './peers.js';
import type { ProbeReply } from './probe-protocol.js';
import { ProbedServer } from './probed-server.js';
import { openLoop, percentile, type OpenLoopResult } from './open-loop.js';
import {
  fillSessions,
  removeFillerSessions,
  seed,
  seedCostCurve,
  seedListedPolls,
  PASSWORD,
  type Seeded,
} from './seed.js';
import { withSql } from '../support/sql.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string', default: '.bench/latest.json' },
    profile: { type: 'boolean', default: false },
  },
});
const QUICK = options.quick;
const PROFILE = { profile: options.profile };

/** How much of each scenario is run; the full amounts are the ones the budgets are stated for. */
const AMOUNTS = QUICK
  ? { users: 50, warmup: 500, ceiling: 2_000, meEarly: 1_000, meTotal: 3_000, polls: 200, seconds: 2 }
  : { users: 1_000, warmup: 10_000, ceiling: 50_000, meEarly: 10_000, meTotal: 100_000, polls: 1_000, seconds: 10 };
/**
 * The cost curve: `me` of users of each shape (seed.ts `seedCostCurve`), and of a seeded user with the session table
 * at its size after the logins and then filled up to `sessionRows`; `requests` per point, after `warmup`.
 */
const CURVE = QUICK
  ? { requests: 300, warmup: 100, sessionRows: 20_000 }
  : { requests: 5_000, warmup: 1_000, sessionRows: 1_000_000 };
/**
 * The peers (peers.ts): alternating rounds of external load, each server for `seconds`, after a warm-up; Better
 * Auth signs up and Django logs in `users` of the seeded users. The quick run only proves that they run.
 */
const PEERS = QUICK
  ? { rounds: 1, seconds: 1, warmupSeconds: 1, users: 5 }
  : { rounds: 5, seconds: 6, warmupSeconds: 3, users: 100 };
/** Throughput runs: enough connections to keep one server process busy. */
const CONNECTIONS = 10;
/** `me` next to the logins is sent at a fixed rate, the same quiet and loaded, so only the logins differ. */
const PROBE_RATE = 200;

/**
 * The floor (floor.ts) whole, then its parts one at a time (FLOOR_PARTS), so that the table says what each costs.
 * Without the `select` part the session rows are read once, in the warm-up, and then kept in memory.
 */
const FLOOR_PARTS = [
  ['floor: + session, 1 SELECT, request log', 'log,session,select'],
  ['  floor part: request log only', 'log'],
  ['  floor part: session only, rows in memory', 'session'],
  ['  floor part: session and 1 SELECT, no log', 'session,select'],
] as const;

/** Quiet and loaded fixed-rate runs, in turns. */
const BESIDE_ROUNDS = QUICK ? 1 : 3;

/** Logins of real users (each from its own address) at a fixed rate, quiet and next to a one-address flood. */
const LOGIN_RATE = 10;
/** The flooding client: one address, logins for random usernames, at FLOOD_RATE whatever the answers do. */
const FLOOD_ADDRESS = '203.0.113.66';
const FLOOD_RATE = 60;

/** Fixed-rate and side-by-side rows: a ratio to the ceiling's full-speed req/s would mean nothing for them. */
const LOGINS_BESIDE = '  the logins beside it';

const ME = '{ me { id username groups { name } permissions } }';
const POLLS = '{ polls(first: 100) { edges { node { id question choices { text } } } } }';
/** The first page of the polls a user may view, with how many there are: the object-level list budget. */
const POLL_PAGE = '{ polls(first: 50) { totalCount edges { node { id question } } } }';
/** The budget's world: 5,000 polls visible through object-level grants, among 10,000 and among 100,000. */
const LISTED = { grants: 5_000, small: 10_000, large: 100_000 };
/** The fixed rate of the page rows: about a quarter of what one process serves of them. */
const PAGE_RATE = 25;
const LOGIN =
  'mutation ($username: String!, $password: String!) { login(username: $username, password: $password) { id } }';

// ---------------------------------------------------------------------------------------------------------------
// Processes

// ---------------------------------------------------------------------------------------------------------------
// Load

interface Measured {
  scenario: string;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * The server process's CPU time per request (user + system, hashing threads included), in microseconds: far
   * steadier than req/s on a shared machine, and what a change to the request path moves first.
   */
  cpuMicrosPerRequest: number | null;
  /**
   * SQL statements per request (every statement the server process sent, divided by the requests), but for those of
   * its own timers, which are `backgroundStatements` (in the JSON).
   */
  sqlPerRequest: number | null;
  sessionWritesPerRequest: number | null;
  backgroundStatements?: number;
}

const HEADERS = {
  'content-type': 'application/json',
  // As from a TLS-terminating proxy on this host (TRUST_PROXY=loopback): the session cookie is Secure.
  'x-forwarded-proto': 'https',
};

/** One autocannon run; any error, timeout, non-2xx answer or failed `check` makes the whole bench fail. */
async function load(
  url: string,
  options: Partial<autocannon.Options> & { body?: string; check?: (body: string) => boolean },
  requests?: autocannon.Request[],
): Promise<autocannon.Result> {
  const { body, check, ...rest } = options;
  let failed = 0;
  let sample = '';
  const result = await autocannon({
    url: `${url}/graphql`,
    connections: CONNECTIONS,
    method: 'POST',
    headers: HEADERS,
    ...(body === undefined ? {} : { body }),
    ...rest,
    requests: (requests ?? [{}]).map((request) => ({
      ...request,
      onResponse: (status: number, responseBody: string, context: object, headers: IncomingHttpHeaders | undefined) => {
        if (check && !check(responseBody)) {
          failed += 1;
          sample ||= responseBody.slice(0, 300);
        }
        if (typeof request.onResponse === 'function') request.onResponse(status, responseBody, context, headers);
      },
    })),
  });
  const bad = result.errors + result.timeouts + result.non2xx + failed;
  if (bad > 0) {
    throw new Error(
      `${bad} failed requests (errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, ` +
        `wrong answers ${failed}${sample ? `: ${sample}` : ''})`,
    );
  }
  return result;
}

async function measure(
  scenario: string,
  server: ProbedServer,
  run: () => Promise<autocannon.Result>,
  counts = true,
): Promise<Measured> {
  await server.ask('reset');
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const probe = await server.ask('read');
  const requests = result.requests.total;
  return {
    scenario,
    requests,
    // autocannon's own duration is in whole seconds: too coarse for short runs.
    reqPerSec: requests / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuMicrosPerRequest: probe.cpuMicros / requests,
    sqlPerRequest: counts ? probe.statements / requests : null,
    sessionWritesPerRequest: counts ? probe.sessionWrites / requests : null,
    backgroundStatements: probe.backgroundStatements,
  };
}

/** A request that sends a different session cookie each time, round robin over `cookies`. */
function rotatingCookies(cookies: readonly string[]): autocannon.Request {
  let next = 0;
  return {
    setupRequest: (request) => {
      const cookie = cookies[next++ % cookies.length] ?? '';
      return { ...request, headers: { ...request.headers, cookie } };
    },
  };
}

/** A request that sends a different `Authorization` header each time, round robin over `bearers`. */
function rotatingBearers(bearers: readonly string[]): autocannon.Request {
  let next = 0;
  return {
    setupRequest: (request) => {
      const authorization = bearers[next++ % bearers.length] ?? '';
      return { ...request, headers: { ...request.headers, authorization } };
    },
  };
}

/** How many of the logged-in users get an access token for the bearer scenario. */
const ACCESS_TOKENS = QUICK ? 20 : 200;

/** An access token for each session, created by that session (createAccessToken), one after the other. */
async function accessTokensFor(url: string, cookies: readonly string[]): Promise<string[]> {
  const tokens: string[] = [];
  for (const cookie of cookies) {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { ...HEADERS, cookie },
      body: JSON.stringify({ query: 'mutation { createAccessToken(input: { name: "bench" }) { token } }' }),
    });
    const body = (await response.json()) as { data?: { createAccessToken?: { token?: string } } };
    const token = body.data?.createAccessToken?.token;
    if (token === undefined) throw new Error(`createAccessToken failed: ${JSON.stringify(body).slice(0, 300)}`);
    tokens.push(token);
  }
  return tokens;
}

/**
 * Where user `user` logs in from, as the TLS-terminating proxy says (TRUST_PROXY=loopback): each user from an address
 * of its own, as real users are, so that the per-address limits count each apart.
 */
function addressOf(user: number): string {
  return `10.${(user >> 16) & 255}.${(user >> 8) & 255}.${user & 255}`;
}

/** Logins of the seeded users, round robin; each session cookie received is kept in `cookies[user]`. */
function rotatingLogins(seeded: Seeded, cookies: string[]): autocannon.Request {
  let next = 0;
  return {
    setupRequest: (request, context: { user?: number }) => {
      const user = next++ % seeded.usernames.length;
      context.user = user;
      const variables = { username: seeded.usernames[user], password: PASSWORD };
      return {
        ...request,
        headers: { ...request.headers, 'x-forwarded-for': addressOf(user) },
        body: JSON.stringify({ query: LOGIN, variables }),
      };
    },
    onResponse: (_status, _body, context: { user?: number }, headers) => {
      // Raw header names, as the server wrote them; the session cookie beside the device cookie.
      const name = Object.keys(headers ?? {}).find((key) => key.toLowerCase() === 'set-cookie');
      const setCookie = [(name === undefined ? undefined : headers?.[name]) ?? []]
        .flat()
        .find((cookie) => cookie.startsWith('sessionid='));
      if (setCookie !== undefined) cookies[context.user ?? 0] = setCookie.split(';')[0] ?? '';
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The run

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const benchUrl = new URL(adminUrl);
benchUrl.pathname = '/gqlauth_bench';

const secret = crypto.randomBytes(32).toString('hex');
const serverEnv: Record<string, string> = {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  DATABASE_URL: benchUrl.href,
  SESSION_SECRET: secret,
  TRUST_PROXY: 'loopback',
  PUBLIC_URL: 'https://bench.example',
  LOG_LEVEL: 'info',
  // The whole run happens inside one touch interval: a session write during it would be a bug.
  SESSION_TOUCH_INTERVAL: '3600',
  // The polls example, installed as an operator installs it: the object-level list scenarios run on its types.
  INSTALLED_APPS: './examples/polls/index.ts',
};

/** A connection to the server's admin database (to create, inspect and drop the scratch one). */
function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withSql(adminUrl, work);
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<number> {
  // The server runs as `npm start` runs it: the build (incremental, a no-op when it is current).
  log('build: npm run build');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  const wrk = findWrk();
  if (wrk === undefined) {
    log(
      'WARNING: no wrk (Debian: apt-get install wrk): the peers are loaded by autocannon, inside Node on the same cores',
    );
  }
  await withAdmin(async (client) => {
    await client.query('DROP DATABASE IF EXISTS gqlauth_bench WITH (FORCE)');
    await client.query('CREATE DATABASE gqlauth_bench');
  });
  const postgresVersion = await withAdmin(
    async (client) => (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version,
  );
  const results: Measured[] = [];
  let memory:
    Record<`${'rss' | 'rssWithPooledPages' | 'heap' | 'heapTotal' | 'external'}${'10k' | '100k'}`, number> | undefined;
  let loopDuringLogins: ProbeReply['loopDelayMs'] | undefined;
  let loopQuiet: ProbeReply['loopDelayMs'] | undefined;

  log('ceiling: bare Apollo Server');
  const ceiling = await ProbedServer.start('test/bench/ceiling.mjs', { NODE_ENV: 'production' }, PROFILE);
  try {
    const body = JSON.stringify({ query: '{ me { id } }' });
    const check = (text: string) => text.includes('"id":"1"');
    // Cookies it ignores, shaped like real session cookies: the load generator (on the same cores) does the same
    // work per request as for the real server, so the ratio compares the servers, not the generator's share.
    const cookies = Array.from(
      { length: AMOUNTS.users },
      () =>
        `sessionid=s%3A${crypto.randomBytes(24).toString('base64url')}.${crypto.randomBytes(32).toString('base64url')}`,
    );
    await load(ceiling.url, { body, check, amount: AMOUNTS.warmup }, [rotatingCookies(cookies)]);
    results.push(
      await measure('ceiling: bare Apollo, { me { id } }', ceiling, () =>
        load(ceiling.url, { body, check, amount: AMOUNTS.ceiling }, [rotatingCookies(cookies)]),
      ),
    );
  } finally {
    await ceiling.stop();
  }

  log('server: starting (migrations run on the scratch database)');
  const server = await ProbedServer.start('dist/main.js', serverEnv, PROFILE);
  try {
    const config = loadConfig({ ...serverEnv, ENV_FILE: 'none' });
    log(`seeding ${AMOUNTS.users} users, 100 granted polls`);
    const seeded = await seed(benchUrl.href, createAuth(config), AMOUNTS.users);

    log(
      `login: ${AMOUNTS.users} logins with the default hasher (${config.passwords.hashers.map((hasher) => (typeof hasher === 'string' ? hasher : hasher.module)).join(', ')})`,
    );
    const cookies: string[] = [];
    const loggedIn = (text: string) => text.includes('"login":{"id"');
    results.push(
      await measure('login (default argon2id)', server, () =>
        load(server.url, { check: loggedIn, amount: AMOUNTS.users }, [rotatingLogins(seeded, cookies)]),
      ),
    );
    const sessions = cookies.filter(Boolean);
    if (sessions.length !== AMOUNTS.users) throw new Error(`${sessions.length} sessions of ${AMOUNTS.users} logins`);

    log(`me: ${AMOUNTS.meTotal} requests over ${sessions.length} sessions`);
    const meBody = JSON.stringify({ query: ME });
    const meCheck = (text: string) => text.includes('"username":"bench-');
    await load(server.url, { body: meBody, check: meCheck, amount: AMOUNTS.meEarly }, [rotatingCookies(sessions)]);
    const early = await server.ask('memory');
    // The collection shrank the heap: a short warm-up lets it grow again before the measure's CPU is counted.
    await load(server.url, { body: meBody, check: meCheck, amount: AMOUNTS.meEarly / 10 }, [rotatingCookies(sessions)]);
    const me = await measure(`me with groups and permissions, ${sessions.length} users`, server, () =>
      load(server.url, { body: meBody, check: meCheck, amount: AMOUNTS.meTotal - AMOUNTS.meEarly }, [
        rotatingCookies(sessions),
      ]),
    );
    results.push(me);
    const late = await server.ask('memory');

    // The same `me` with `Authorization: Bearer` instead of a cookie: a token for each of the first users, made by
    // their sessions. Its budget: no more SQL per request than the cookie's.
    const tokens = await accessTokensFor(server.url, sessions.slice(0, ACCESS_TOKENS));
    log(`me with an access token: ${AMOUNTS.meEarly} requests over ${tokens.length} tokens`);
    const bearers = tokens.map((token) => `Bearer ${token}`);
    // Each token's first use records it (last_used_at, once per touch interval): done before the measure.
    await load(server.url, { body: meBody, check: meCheck, amount: tokens.length * 2 }, [rotatingBearers(bearers)]);
    const meBearer = await measure(`me with an access token, ${tokens.length} tokens`, server, () =>
      load(server.url, { body: meBody, check: meCheck, amount: AMOUNTS.meEarly }, [rotatingBearers(bearers)]),
    );
    results.push(meBearer);
    memory = {
      rss10k: early.rssBytes,
      rss100k: late.rssBytes,
      rssWithPooledPages10k: early.rssWithPooledPagesBytes ?? 0,
      rssWithPooledPages100k: late.rssWithPooledPagesBytes ?? 0,
      heap10k: early.heapUsedBytes,
      heap100k: late.heapUsedBytes,
      heapTotal10k: early.heapTotalBytes,
      heapTotal100k: late.heapTotalBytes,
      external10k: early.externalBytes,
      external100k: late.externalBytes,
    };

    log(
      'floor: the same sessions through express-session, one SELECT and a request log, no auth layer; each part alone',
    );
    // The real server sits idle meanwhile: its sessions, in its database, are what the floor reads.
    for (const [scenario, parts] of FLOOR_PARTS) {
      const floor = await ProbedServer.start(
        'test/bench/floor.ts',
        { NODE_ENV: 'production', DATABASE_URL: benchUrl.href, SESSION_SECRET: secret, FLOOR_PARTS: parts },
        PROFILE,
      );
      try {
        const floorBody = JSON.stringify({ query: '{ me { id } }' });
        const floorCheck = (text: string) => /"me":\{"id":"\d+"\}/.test(text);
        await load(floor.url, { body: floorBody, check: floorCheck, amount: AMOUNTS.warmup }, [
          rotatingCookies(sessions),
        ]);
        results.push(
          await measure(scenario, floor, () =>
            load(floor.url, { body: floorBody, check: floorCheck, amount: AMOUNTS.ceiling }, [
              rotatingCookies(sessions),
            ]),
          ),
        );
      } finally {
        await floor.stop();
      }
    }

    log('polls: 100 polls granted one by one, with their choices');
    const pollsBody = JSON.stringify({ query: POLLS });
    const pollsCheck = (text: string) => text.split('"question"').length - 1 === seeded.grantedPolls;
    const pollster = [await loginCookie(server.url, seeded.pollster)];
    await load(server.url, { body: pollsBody, check: pollsCheck, amount: AMOUNTS.polls / 10 }, [
      rotatingCookies(pollster),
    ]);
    results.push(
      await measure(`polls: ${seeded.grantedPolls} by object-level grants`, server, () =>
        load(server.url, { body: pollsBody, check: pollsCheck, amount: AMOUNTS.polls }, [rotatingCookies(pollster)]),
      ),
    );

    log(`polls page: 50 of ${LISTED.grants} visible, among ${LISTED.small} and ${LISTED.large} polls`);
    const pageBody = JSON.stringify({ query: POLL_PAGE });
    const pageCheck = (text: string) =>
      text.includes(`"totalCount":${LISTED.grants}`) && text.split('"question"').length - 1 === 50;
    const lister = [await loginCookie(server.url, seeded.lister)];
    const pages: Measured[] = [];
    for (const polls of [LISTED.small, LISTED.large]) {
      await seedListedPolls(benchUrl.href, seeded.lister, polls, LISTED.grants);
      // At a fixed rate well below what one process serves, so that each latency is one request's time (the
      // database's share included), to the microsecond, not a queue's (autocannon's are whole milliseconds).
      const pageRun = (seconds: number) =>
        openLoop(`${server.url}/graphql`, {
          rate: PAGE_RATE,
          seconds,
          connections: 4,
          headers: HEADERS,
          body: pageBody,
          cookies: lister,
          check: pageCheck,
        });
      await pageRun(1);
      await server.ask('reset');
      const run = await pageRun(AMOUNTS.seconds);
      const probe = await server.ask('read');
      const requests = run.latencies.length;
      pages.push({
        scenario: `polls page: 50 of ${LISTED.grants} visible in ${polls}`,
        requests,
        reqPerSec: requests / run.seconds,
        p50Ms: percentile(run.latencies, 0.5),
        p99Ms: percentile(run.latencies, 0.99),
        // At a fixed rate the process's idle work is shared by fewer requests: compare with the other page row only.
        cpuMicrosPerRequest: probe.cpuMicros / requests,
        sqlPerRequest: probe.statements / requests,
        sessionWritesPerRequest: probe.sessionWrites / requests,
      });
    }
    results.push(...pages);
    const [smallPage, largePage] = pages as [Measured, Measured];

    log(`me at ${PROBE_RATE}/s, quiet and next to logins at full speed, in turns (${BESIDE_ROUNDS} of each)`);
    // Evenly spaced, open loop (open-loop.ts): autocannon's rate limit sends in bursts at the top of each second.
    const probeRun = () =>
      openLoop(`${server.url}/graphql`, {
        rate: PROBE_RATE,
        seconds: AMOUNTS.seconds,
        // Many more sockets than the rate needs: a request due while all are busy waits, and its wait counts.
        connections: 20,
        headers: HEADERS,
        body: meBody,
        cookies: sessions,
        check: meCheck,
      });
    // Quiet and loaded in turns, each side's latencies pooled: the p99 of one 10 s run (its 20 slowest requests)
    // moves by a factor of two or more from run to run on a shared machine, and a drift of the machine during the
    // bench would otherwise fall on one side only.
    const quietRuns: OpenLoopResult[] = [];
    const loadedRuns: OpenLoopResult[] = [];
    const loginRuns: { result: autocannon.Result; seconds: number }[] = [];
    const quietLoops: ProbeReply['loopDelayMs'][] = [];
    const loadedLoops: ProbeReply['loopDelayMs'][] = [];
    for (let round = 0; round < BESIDE_ROUNDS; round++) {
      await server.ask('reset');
      quietRuns.push(await probeRun());
      quietLoops.push((await server.ask('read')).loopDelayMs);
      await server.ask('reset');
      const started = performance.now();
      const [logins, loaded] = await Promise.all([
        load(server.url, { check: loggedIn, duration: AMOUNTS.seconds }, [rotatingLogins(seeded, [])]),
        probeRun(),
      ]);
      loginRuns.push({ result: logins, seconds: (performance.now() - started) / 1000 });
      loadedRuns.push(loaded);
      loadedLoops.push((await server.ask('read')).loopDelayMs);
    }
    loopQuiet = worstLoop(quietLoops);
    loopDuringLogins = worstLoop(loadedLoops);
    const quiet = pooled(quietRuns);
    const loaded = pooled(loadedRuns);
    for (const [scenario, run] of [
      [`me at ${PROBE_RATE}/s, quiet`, quiet],
      [`me at ${PROBE_RATE}/s, next to logins at full speed`, loaded],
    ] as const) {
      results.push({
        scenario,
        requests: run.requests,
        reqPerSec: run.reqPerSec,
        p50Ms: run.p50Ms,
        p99Ms: run.p99Ms,
        // Not comparable with the full-speed rows: at a fixed rate the process's idle work is shared by fewer requests.
        cpuMicrosPerRequest: null,
        sqlPerRequest: null,
        sessionWritesPerRequest: null,
      });
    }
    const loginRequests = loginRuns.reduce((sum, { result }) => sum + result.requests.total, 0);
    results.push({
      scenario: LOGINS_BESIDE,
      requests: loginRequests,
      reqPerSec: loginRequests / loginRuns.reduce((sum, { seconds }) => sum + seconds, 0),
      // autocannon's histograms cannot be pooled: the median round's p50, and the worst round's p99.
      p50Ms: percentile(
        loginRuns.map(({ result }) => result.latency.p50).sort((a, b) => a - b),
        0.5,
      ),
      p99Ms: Math.max(...loginRuns.map(({ result }) => result.latency.p99)),
      cpuMicrosPerRequest: null,
      sqlPerRequest: null,
      sessionWritesPerRequest: null,
    });
    const quietP99 = quiet.p99Ms;
    const loadedP99 = loaded.p99Ms;

    log(`logins at ${LOGIN_RATE}/s from many addresses, quiet and next to ${FLOOD_RATE}/s of logins from one address`);
    const flooding = await floodRows(server, seeded, loggedIn);
    results.push(...flooding.rows);
    let unlimited: Awaited<ReturnType<typeof floodRows>> | undefined;
    if (!QUICK) {
      log(
        'the same with CREDENTIAL_RATE_LIMIT=0 and CREDENTIAL_CONCURRENCY=0 (no per-address limit), on a second server',
      );
      const peer = await ProbedServer.start(
        'dist/main.js',
        { ...serverEnv, CREDENTIAL_RATE_LIMIT: '0', CREDENTIAL_CONCURRENCY: '0' },
        PROFILE,
      );
      try {
        unlimited = await floodRows(peer, seeded, loggedIn, ' (no per-address limit)');
        results.push(...unlimited.rows);
      } finally {
        await peer.stop();
      }
    }

    log('cost curve: me by permissions, groups and session rows');
    const curve = await costCurve(server, sessions[0] ?? '');

    await server.stop();
    const peers: PeersReport = await withAdmin((admin) =>
      runPeers({
        databaseUrl: benchUrl.href,
        admin,
        serverEnv,
        sessions,
        usernamePrefix: 'bench-',
        rounds: PEERS.rounds,
        seconds: PEERS.seconds,
        warmupSeconds: PEERS.warmupSeconds,
        peerUsers: PEERS.users,
        wrk,
        headers: HEADERS,
        log,
      }),
    );

    const ceilingRate = results[0]?.reqPerSec ?? 1;
    const budgets = [
      budget('me ≥ 50% of the ceiling (req/s)', me.reqPerSec / ceilingRate, '≥', 0.5, true),
      budget('SQL statements per authenticated me', me.sqlPerRequest ?? Infinity, '≤', 2, false),
      budget(
        'SQL statements per me with an access token ÷ with a cookie',
        (meBearer.sqlPerRequest ?? Infinity) / Math.max(me.sqlPerRequest ?? 1, 1e-9),
        '≤',
        1,
        false,
      ),
      budget(
        'session writes inside the touch interval',
        (me.sessionWritesPerRequest ?? 1) * me.requests,
        '≤',
        0,
        false,
      ),
      budget(
        'me p99 next to logins ÷ quiet p99',
        // Below a millisecond, the load generator's own timers are most of what is measured.
        loadedP99 / Math.max(quietP99, 1),
        '≤',
        3,
        true,
      ),
      // What the server holds: read after a last-resort collection, when V8 gives back the pages it pools (probe.mjs)
      // and which it otherwise keeps resident up to its heap's peak. The ordinary RSS is printed below beside it.
      budget(
        'RSS after a last-resort collection, after 100,000 requests ÷ after 10,000',
        memory.rss100k / memory.rss10k,
        '≤',
        1.1,
        true,
      ),
      budget(
        'SQL statements per me, most along the cost curve',
        Math.max(...curve.map(({ sqlPerRequest }) => sqlPerRequest ?? Infinity)),
        '≤',
        1,
        false,
      ),
      budget(
        `SQL statements per polls page (${LISTED.large} polls)`,
        largePage.sqlPerRequest ?? Infinity,
        '≤',
        2,
        false,
      ),
      budget(`polls page p50 ms (${LISTED.large} polls)`, largePage.p50Ms, '≤', 20, true),
      budget(
        'login p50 next to a one-address flood ÷ quiet',
        flooding.flooded.p50Ms / Math.max(flooding.quiet.p50Ms, 1),
        '≤',
        2,
        true,
      ),
      budget(
        `polls page p50 at ${LISTED.large} ÷ at ${LISTED.small} polls`,
        largePage.p50Ms / Math.max(smallPage.p50Ms, 1),
        '≤',
        1.5,
        true,
      ),
    ];
    const machine = {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      postgres: postgresVersion ?? 'unknown',
    };
    printTable(results, ceilingRate);
    process.stdout.write('\nCost curve: me { id username groups { name } permissions } for one user of each shape:\n');
    printTable(curve, ceilingRate);
    process.stdout.write(
      `\nBeside its peers${QUICK ? ' (--quick: one 1 s round each, a smoke run, not a measurement)' : ''}:\n`,
    );
    process.stdout.write(`${peersTable(peers)}\n`);
    log('');
    for (const { name, measured, op, limit, ok, timed } of budgets) {
      const verdict = ok ? 'ok  ' : QUICK && timed ? 'n/a ' : 'MISS';
      log(`${verdict} ${name}: ${round(measured)} (budget ${op} ${limit})`);
    }
    log(
      `memory: RSS ${mib(memory.rss10k)} → ${mib(memory.rss100k)} MiB (with V8's pooled pages ` +
        `${mib(memory.rssWithPooledPages10k)} → ${mib(memory.rssWithPooledPages100k)}), heap used ${mib(memory.heap10k)} → ` +
        `${mib(memory.heap100k)} MiB (reserved ${mib(memory.heapTotal10k)} → ${mib(memory.heapTotal100k)}), ` +
        `external ${mib(memory.external10k)} → ${mib(memory.external100k)} MiB`,
    );
    // Not a budget: on a shared machine the loop's longest stall is the scheduler's and the garbage collector's, with
    // or without logins. That hashing never holds the loop is shown by test (hashers.test.ts); this is for context.
    log(
      `event loop delay: quiet p99 ${round(loopQuiet.p99)} ms, max ${round(loopQuiet.max)} ms; during logins ` +
        `p99 ${round(loopDuringLogins.p99)} ms, max ${round(loopDuringLogins.max)} ms`,
    );
    const floorRate = results.find(({ scenario }) => scenario === FLOOR_PARTS[0][0])?.reqPerSec;
    if (floorRate !== undefined) log(`me ÷ floor (req/s): ${Math.round((me.reqPerSec / floorRate) * 100)}%`);
    log(
      `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ` +
        `${machine.node}, PostgreSQL ${machine.postgres}${QUICK ? ' (--quick: timing budgets not judged)' : ''}`,
    );
    await fs.mkdir(path.dirname(path.resolve(ROOT, options.json)), { recursive: true });
    await fs.writeFile(
      path.resolve(ROOT, options.json),
      `${JSON.stringify({ date: new Date().toISOString(), quick: QUICK, machine, results, costCurve: curve, memory, loopQuiet, loopDuringLogins, flood: { limited: flooding.flood, unlimited: unlimited?.flood }, peers, budgets }, null, 2)}\n`,
    );
    log(`JSON: ${options.json}`);
    const missed = budgets.filter(({ ok, timed }) => !ok && !(QUICK && timed));
    return missed.length === 0 ? 0 : 1;
  } finally {
    await server.stop();
    await withAdmin((client) => client.query('DROP DATABASE IF EXISTS gqlauth_bench WITH (FORCE)'));
  }
}

/**
 * `me` of one user of each shape, then of a seeded user (`cookie`) with the session table as the logins left it and
 * filled up to CURVE.sessionRows (the filler is removed after). Each answer is checked: the user's own name, and
 * every one of its permissions.
 */
async function costCurve(server: ProbedServer, cookie: string): Promise<Measured[]> {
  const rows: Measured[] = [];
  const point = async (scenario: string, cookies: string[], check: (text: string) => boolean) => {
    const body = JSON.stringify({ query: ME });
    await load(server.url, { body, check, amount: CURVE.warmup }, [rotatingCookies(cookies)]);
    rows.push(
      await measure(scenario, server, () =>
        load(server.url, { body, check, amount: CURVE.requests }, [rotatingCookies(cookies)]),
      ),
    );
  };
  for (const user of await seedCostCurve(benchUrl.href)) {
    const check = (text: string) =>
      text.includes(`"username":"${user.username}"`) && text.split('"benchcurve.').length - 1 === user.permissions;
    await point(user.label, [await loginCookie(server.url, user.username)], check);
  }
  const seededCheck = (text: string) => text.includes('"username":"bench-');
  for (const size of [0, CURVE.sessionRows]) {
    const count = await fillSessions(benchUrl.href, size);
    await point(`${count.toLocaleString('en')} session rows`, [cookie], seededCheck);
  }
  await removeFillerSessions(benchUrl.href);
  return rows;
}

/**
 * Users' logins at LOGIN_RATE, quiet and next to a flood from FLOOD_ADDRESS, in turns; pooled p50s, and what the
 * flood got: password checks (INVALID_CREDENTIALS) or refusals before any (TOO_MANY_ATTEMPTS).
 */
async function floodRows(server: ProbedServer, seeded: Seeded, loggedIn: (text: string) => boolean, label = '') {
  let nextUser = 0;
  const userLogins = () =>
    openLoop(`${server.url}/graphql`, {
      rate: LOGIN_RATE,
      seconds: AMOUNTS.seconds,
      connections: 10,
      headers: HEADERS,
      body: '',
      cookies: [''],
      check: loggedIn,
      vary: () => {
        const user = nextUser++ % seeded.usernames.length;
        const variables = { username: seeded.usernames[user], password: PASSWORD };
        return { body: JSON.stringify({ query: LOGIN, variables }), headers: { 'x-forwarded-for': addressOf(user) } };
      },
    });
  const flood = { checked: 0, refused: 0 };
  // At a fixed rate, whatever the answers do: the review's flood made 1,306 checks in 25 s (52/s); this one asks for
  // FLOOD_RATE. A flood at full speed would measure how fast refusals are answered, which any request (even
  // `{ __typename }`) from one address at that rate would slow as much: a proxy's request limit is for that.
  const floodRun = () =>
    openLoop(`${server.url}/graphql`, {
      rate: FLOOD_RATE,
      seconds: AMOUNTS.seconds,
      connections: 200,
      headers: { ...HEADERS, 'x-forwarded-for': FLOOD_ADDRESS },
      body: '',
      cookies: [''],
      check: (text) => {
        if (text.includes('"INVALID_CREDENTIALS"')) flood.checked += 1;
        else if (text.includes('"TOO_MANY_ATTEMPTS"')) flood.refused += 1;
        else return false;
        return true;
      },
      vary: () => ({
        body: JSON.stringify({
          query: LOGIN,
          variables: { username: `nobody-${crypto.randomUUID()}`, password: 'a-guess' },
        }),
        headers: {},
      }),
    });
  const quietRuns: OpenLoopResult[] = [];
  const floodedRuns: OpenLoopResult[] = [];
  for (let round = 0; round < BESIDE_ROUNDS; round++) {
    quietRuns.push(await userLogins());
    const [, flooded] = await Promise.all([floodRun(), userLogins()]);
    floodedRuns.push(flooded);
  }
  const quiet = pooled(quietRuns);
  const flooded = pooled(floodedRuns);
  const row = (scenario: string, run: ReturnType<typeof pooled>): Measured => ({
    scenario,
    requests: run.requests,
    reqPerSec: run.reqPerSec,
    p50Ms: run.p50Ms,
    p99Ms: run.p99Ms,
    cpuMicrosPerRequest: null,
    sqlPerRequest: null,
    sessionWritesPerRequest: null,
  });
  const rows = [
    row(`logins at ${LOGIN_RATE}/s, quiet${label}`, quiet),
    row(`logins at ${LOGIN_RATE}/s, next to ${FLOOD_RATE}/s from one address${label}`, flooded),
  ];
  log(`  the flood${label}: ${flood.checked} passwords checked, ${flood.refused} refused before any check`);
  return { quiet, flooded, flood, rows };
}

async function loginCookie(url: string, username: string): Promise<string> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({ query: LOGIN, variables: { username, password: PASSWORD } }),
  });
  const cookie = response.headers
    .getSetCookie()
    .find((each) => each.startsWith('sessionid='))
    ?.split(';')[0];
  if (!cookie) throw new Error(`login of ${username} failed: ${await response.text()}`);
  return cookie;
}

/** The latencies of several fixed-rate runs as one sample. */
function pooled(runs: readonly OpenLoopResult[]): {
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
} {
  const latencies = runs.flatMap(({ latencies: each }) => each).sort((a, b) => a - b);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  return {
    requests: latencies.length,
    reqPerSec: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

/** Event-loop delay over several runs: the worst run's p99 and max (histograms cannot be pooled). */
function worstLoop(runs: readonly ProbeReply['loopDelayMs'][]): ProbeReply['loopDelayMs'] {
  return {
    p50: Math.max(...runs.map(({ p50 }) => p50)),
    p99: Math.max(...runs.map(({ p99 }) => p99)),
    max: Math.max(...runs.map(({ max }) => max)),
  };
}

function budget(name: string, measured: number, op: '≤' | '≥', limit: number, timed: boolean) {
  return { name, measured, op, limit, ok: op === '≤' ? measured <= limit : measured >= limit, timed };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

function printTable(rows: Measured[], ceilingRate: number): void {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'vs ceiling', 'CPU µs/req', 'SQL/req'];
  const lines = rows.map((row) => [
    row.scenario,
    String(Math.round(row.reqPerSec)),
    String(round(row.p50Ms)),
    String(round(row.p99Ms)),
    row.scenario.startsWith('me at') ||
    row.scenario.startsWith('polls page') ||
    row.scenario.startsWith('logins at') ||
    row.scenario === LOGINS_BESIDE
      ? ''
      : `${Math.round((row.reqPerSec / ceilingRate) * 100)}%`,
    row.cpuMicrosPerRequest === null ? '' : String(Math.round(row.cpuMicrosPerRequest)),
    row.sqlPerRequest === null ? '' : String(round(row.sqlPerRequest)),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]?.length ?? 0)),
  );
  const format = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  process.stdout.write(
    [
      format(header),
      `|${widths.map((width, column) => (column === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`,
      ...lines.map(format),
    ].join('\n') + '\n',
  );
}

process.exitCode = await main().catch((error: unknown) => {
  log(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
});

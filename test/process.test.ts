/**
 * The server as a process, started the way `npm start` starts it: start-up failures, restarts keeping data,
 * the embedded data folder's lock, and graceful shutdown on SIGTERM.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, databaseEnv, scratchDir, usingServer, type TestDatabase } from './support/database.js';
import { HttpClient } from './support/http-client.js';
import { freePort } from './support/ports.js';
import { runManage, spawnServer, timeExit, type ServerProcess, type SpawnOptions } from './support/process.js';
import { withSql } from './support/sql.js';
import {
  connectRedis,
  describeWithRedis,
  keysMatching,
  redisStoreEnv,
  requireRedisUrl,
} from './support/session-stores.js';

const running = new Set<ServerProcess>();
function start(env: Record<string, string>, options: SpawnOptions = {}): ServerProcess {
  const server = spawnServer(env, options);
  running.add(server);
  void server.exited.then(() => running.delete(server));
  return server;
}
afterAll(() => {
  for (const server of running) server.child.kill('SIGKILL');
});

interface LogLine {
  level: number;
  msg: string;
}

/** How many sessions a user has in the database at `databaseUrl`. */
function countSessions(databaseUrl: string, username: string): Promise<number> {
  return withSql(databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM gqlauth_session s JOIN auth_user u ON u.id = s.user_id WHERE u.username = $1',
      [username],
    );
    return rows[0]?.n ?? 0;
  });
}

/**
 * How many sessions a user has in the database of `env`, read once its server has exited: straight from the
 * PostgreSQL server, or from the embedded database through a second server on the same folder.
 */
async function sessionsOf(username: string, env: Record<string, string>): Promise<number> {
  if (env.DATABASE_URL) return countSessions(env.DATABASE_URL, username);
  const reader = start(env);
  await reader.ready(60_000);
  try {
    return await countSessions(String((await reader.waitForLog(/^database ready$/)).url), username);
  } finally {
    reader.child.kill('SIGTERM');
    await reader.exited;
  }
}

/**
 * How the server exits, and in how many milliseconds from its attempt to connect (`line`, logged at debug level):
 * the wait these tests bound, without the seconds a busy machine may take to load the code before it.
 */
async function exitAfter(server: ServerProcess, line: RegExp): Promise<{ code: number | string; ms: number }> {
  await server.waitForLog(line);
  return timeExit(server);
}

describe('start-up failures: exit 1 within 10 s, one line naming the variable', () => {
  it('PORT=abc', async () => {
    const server = start({ PORT: 'abc' });
    const { code, ms } = await timeExit(server);
    expect(code).toBe(1);
    expect(ms).toBeLessThan(10_000);
    expect(server.stderr.filter(Boolean)).toEqual([
      'error: PORT="abc" is not a whole number between 0 and 65535 (example: PORT=4000)',
    ]);
  });

  it('a database never migrated, with MIGRATE_ON_START=false', async () => {
    const server = start({
      DATA_DIR: path.join(scratchDir('unmigrated'), 'data'),
      MIGRATE_ON_START: 'false',
      PORT: '0',
    });
    const { code } = await timeExit(server);
    expect(code).toBe(1);
    expect(server.stderr.filter(Boolean)).toEqual([
      'error: the schema cannot be served:',
      '  the database has no auth tables: run `npm run migrate` first (or set MIGRATE_ON_START=true)',
    ]);
  });

  it('DATABASE_URL pointing at a closed port', async () => {
    const port = await freePort();
    const server = start({ DATABASE_URL: `postgres://app:secret@127.0.0.1:${port}/app`, LOG_LEVEL: 'debug' });
    const { code, ms } = await exitAfter(server, /^connecting to the database$/);
    expect(code).toBe(1);
    expect(ms).toBeLessThan(10_000);
    expect(server.stderr.filter(Boolean)).toEqual([
      `error: cannot reach the database at 127.0.0.1:${port}/app (DATABASE_URL): connection refused (is PostgreSQL running and listening on that port?)`,
    ]);
  });

  it('DATABASE_URL pointing at a host that accepts the connection and never answers', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const server = start({ DATABASE_URL: `postgres://app@127.0.0.1:${port}/app`, LOG_LEVEL: 'debug' });
      const { code, ms } = await exitAfter(server, /^connecting to the database$/);
      expect(code).toBe(1);
      expect(ms).toBeLessThan(10_000);
      expect(server.stderr.filter(Boolean)).toEqual([
        `error: cannot reach the database at 127.0.0.1:${port}/app (DATABASE_URL): no answer within 5000 ms`,
      ]);
    } finally {
      silent.close();
    }
  });

  it('PORT already in use', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    const testDatabase = await createTestDatabase();
    try {
      const server = start({ PORT: String(port), ...databaseEnv(testDatabase) });
      expect(await server.exited).toBe(1);
      expect(server.stderr.filter(Boolean)).toEqual([
        `error: PORT=${port} is already in use on 127.0.0.1 (choose another, e.g. PORT=4001)`,
      ]);
    } finally {
      taken.close();
      await testDatabase.drop();
    }
  });
});

describe('start-up failures of the Redis session store: exit 1, one line naming REDIS_URL, password hidden', () => {
  let testDatabase: TestDatabase;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });
  afterAll(() => testDatabase.drop());

  it('REDIS_URL pointing at a closed port', async () => {
    const port = await freePort();
    const server = start({
      ...databaseEnv(testDatabase),
      SESSION_STORE: 'redis',
      REDIS_URL: `redis://app:secret@127.0.0.1:${port}/0`,
      LOG_LEVEL: 'debug',
    });
    const { code, ms } = await exitAfter(server, /^connecting to Redis$/);
    expect(code).toBe(1);
    expect(ms).toBeLessThan(10_000);
    expect(server.stderr.filter(Boolean)).toEqual([
      `error: cannot reach Redis at redis://app:***@127.0.0.1:${port}/0 (REDIS_URL): connection refused (is Redis running and listening on that port?)`,
    ]);
  });

  it('REDIS_URL pointing at a host that accepts the connection and never answers', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const server = start({
        ...databaseEnv(testDatabase),
        SESSION_STORE: 'redis',
        REDIS_URL: `redis://127.0.0.1:${port}`,
        LOG_LEVEL: 'debug',
      });
      const { code, ms } = await exitAfter(server, /^connecting to Redis$/);
      expect(code).toBe(1);
      expect(ms).toBeLessThan(15_000);
      expect(server.stderr.filter(Boolean)).toEqual([
        `error: cannot reach Redis at redis://127.0.0.1:${port} (REDIS_URL): no answer within 5000 ms`,
      ]);
    } finally {
      silent.close();
    }
  });
});

describeWithRedis('the server with SESSION_STORE=redis', () => {
  let testDatabase: TestDatabase;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });
  afterAll(() => testDatabase.drop());

  it('keeps its sessions in Redis under REDIS_KEY_PREFIX, is ready, and stops cleanly on SIGTERM', async () => {
    const storeEnv = redisStoreEnv();
    const prefix = storeEnv.REDIS_KEY_PREFIX ?? '';
    const redis = await connectRedis(requireRedisUrl());
    try {
      const server = start({
        ...databaseEnv(testDatabase),
        ...storeEnv,
        REGISTRATION_OPEN: 'true',
        ARGON2_MEMORY_KIB: '1024',
        ARGON2_TIME_COST: '1',
      });
      const url = await server.ready();
      expect((await new HttpClient(url).fetch('/readyz')).status).toBe(200);
      const client = new HttpClient(url);
      const registered = await client.graphql(
        'mutation { register(input: { username: "proc", email: "proc@example.com", password: "a-long-fresh-passphrase" }) { username } }',
      );
      expect(registered.body).toEqual({ data: { register: { username: 'proc' } } });
      expect(await keysMatching(redis, `${prefix}session:*`)).toHaveLength(1);
      expect((await client.graphql('{ me { username } }')).body).toEqual({ data: { me: { username: 'proc' } } });

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(server.stderr.filter(Boolean)).toEqual([]);
    } finally {
      const keys = await keysMatching(redis, `${prefix}*`);
      if (keys.length > 0) await redis.del(keys);
      await redis.close();
    }
  });
});

describe(`restart on the ${usingServer() ? 'PostgreSQL server' : 'embedded database'}`, () => {
  let restartDatabase: TestDatabase | undefined;
  afterAll(() => restartDatabase?.drop());

  it('keeps data written before the restart', async () => {
    // A brand-new folder (embedded) or database (server): the first start creates and migrates it.
    let env: Record<string, string>;
    if (usingServer()) {
      restartDatabase = await createTestDatabase();
      env = databaseEnv(restartDatabase);
    } else {
      env = { DATA_DIR: path.join(scratchDir('restart'), 'data') };
    }

    const first = start(env);
    const url = await first.ready(60_000);
    const databaseUrl = env.DATABASE_URL ?? String((await first.waitForLog(/^database ready$/)).url);
    expect((await new HttpClient(url).graphql('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
    await withSql(databaseUrl, async (client) => {
      await client.query('CREATE TABLE kept (note text)');
      await client.query(`INSERT INTO kept VALUES ('written before the restart')`);
    });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = start(env);
    await second.ready(60_000);
    const secondUrl = env.DATABASE_URL ?? String((await second.waitForLog(/^database ready$/)).url);
    const rows = await withSql(
      secondUrl,
      async (client) => (await client.query<{ note: string }>('SELECT note FROM kept')).rows,
    );
    expect(rows).toEqual([{ note: 'written before the restart' }]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe('the embedded data folder', () => {
  it('is locked against a second server, which exits 1 naming the holder', async () => {
    // Always an embedded folder, whichever database the rest of the suite runs on.
    const dataDir = path.join(scratchDir('lock'), 'data');
    const first = start({ DATA_DIR: dataDir });
    await first.ready(60_000);
    const second = start({ DATA_DIR: dataDir });
    expect(await second.exited).toBe(1);
    expect(second.stderr.filter(Boolean)).toEqual([
      `error: the embedded database in ${dataDir} is in use by process ${first.child.pid}; stop it or set another DATA_DIR`,
    ]);
    // The first server is untouched by the attempt.
    expect((await new HttpClient(await first.ready()).fetch('/readyz')).status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'server.pid'))).toBe(false);
  });
});

describe('graceful shutdown', () => {
  let testDatabase: TestDatabase;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });
  afterAll(() => testDatabase.drop());

  /** Sends the head of a POST and part of its body, and returns a function that sends the rest. */
  async function beginSlowRequest(
    baseUrl: string,
    { keepAlive = false } = {},
  ): Promise<{ finish(next?: string): Promise<string>; socket: net.Socket }> {
    const { hostname, port } = new URL(baseUrl);
    const body = JSON.stringify({ query: '{ __typename }' });
    const socket = net.connect(Number(port), hostname);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<void>((resolve) =>
      socket.once('close', () => {
        resolve();
      }),
    );
    // Expect: 100-continue makes the server answer "100 Continue" once it has taken the request in hand:
    // from then on the request is in flight, not an idle connection that a shutdown may close at once.
    const continued = new Promise<void>((resolve) => {
      const onData = () => {
        if (Buffer.concat(chunks).toString('utf8').startsWith('HTTP/1.1 100 Continue')) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
    });
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n` +
        `${keepAlive ? '' : 'Connection: close\r\n'}\r\n`,
    );
    await continued;
    socket.write(body.slice(0, 5));
    return {
      socket,
      /** Sends the rest of the body, then `next` (a request pipelined after it), and gives all that came back. */
      async finish(next = '') {
        socket.write(body.slice(5) + next);
        await ended;
        return Buffer.concat(chunks).toString('utf8');
      },
    };
  }

  it('on SIGTERM, lets an in-flight request finish, refuses new connections, and exits 0', async () => {
    const server = start(databaseEnv(testDatabase));
    const url = await server.ready();
    const slow = await beginSlowRequest(url);

    server.child.kill('SIGTERM');
    await server.waitForLog(/^shutting down/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    await sleep(500);

    const response = (await slow.finish()).replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(response.slice(response.indexOf('\r\n\r\n') + 4)).toBe('{"data":{"__typename":"Query"}}\n');
    expect(await server.exited).toBe(0);
  });

  it('on SIGTERM, closes idle kept-alive connections at once and answers a request arriving in the drain 503', async () => {
    const server = start(databaseEnv(testDatabase));
    const url = await server.ready();
    const { hostname, port } = new URL(url);
    const request = (close = false) => {
      const body = JSON.stringify({ query: '{ __typename }' });
      return (
        `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${close ? 'Connection: close\r\n' : ''}\r\n${body}`
      );
    };
    // Three kept-alive connections, each having had its answer: idle, as a load balancer's pool leaves them.
    const idle = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const socket = net.connect(Number(port), hostname);
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        let received = '';
        socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
        const closed = new Promise<void>((resolve) =>
          socket.once('close', () => {
            resolve();
          }),
        );
        socket.write(request());
        while (!received.includes('"__typename"')) await sleep(10);
        return { closed, received: () => received };
      }),
    );
    // A request in flight holds the drain open; the idle connections must not wait for it.
    const slow = await beginSlowRequest(url, { keepAlive: true });

    server.child.kill('SIGTERM');
    await server.waitForLog(/^shutting down/);
    let slowFinished = false;
    const idleClosed = Promise.all(idle.map(({ closed }) => closed)).then(() => slowFinished);
    await sleep(300);
    // A second request pipelined on the busy connection arrives while the server drains.
    const response = (await slow.finish(request(true))).replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    slowFinished = true;
    expect(await idleClosed).toBe(false); // all three closed while the request in flight was still running
    for (const { received } of idle) expect(received().match(/HTTP\/1\.1 /g)).toHaveLength(1);
    const [first = '', second = ''] = response.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\nconnection: close\r\n/i);
    expect(await server.exited).toBe(0);
  });

  it('reaches the server when the signal is sent to `npm start` (as a process manager does)', async () => {
    const npm = start(databaseEnv(testDatabase), { viaNpmStart: true });
    const url = await npm.ready();
    const serverPid = Number((await npm.waitForLog(/^GraphQL at /)).pid);
    expect(serverPid).not.toBe(npm.child.pid);

    npm.child.kill('SIGTERM');
    await npm.waitForLog(/^stopped$/);
    await npm.exited;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    // No orphan left behind: the server process itself is gone.
    expect(() => process.kill(serverPid, 0)).toThrow();
  });

  it('drains on a terminal Ctrl-C, which reaches npm and the server and which npm forwards again', async () => {
    const npm = start(databaseEnv(testDatabase), { viaNpmStart: true });
    // A request in flight holds the drain open, so the second delivery surely lands while it lasts.
    const slow = await beginSlowRequest(await npm.ready());
    process.kill(-(npm.child.pid ?? 0), 'SIGINT'); // the whole process group, as a terminal does
    await npm.waitForLog(/^shutting down/);
    await sleep(500);
    const response = (await slow.finish()).replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
    await npm.exited;
    const messages = npm.stdout
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    // Drained and stopped, not cut short by the second delivery of the same Ctrl-C.
    expect(messages).toEqual(expect.arrayContaining(['shutting down: draining requests', 'stopped']));
    expect(messages).not.toContain('second signal: exiting now');
  });

  it('on SIGTERM, finishes the logins whose client went away before it closes the database', async () => {
    // Slow hashes, one at a time: four logins take a good second, and most of them are still waiting their turn to
    // hash when the signal comes, with nobody left to answer.
    const env: Record<string, string> = {
      ...databaseEnv(testDatabase),
      ARGON2_TIME_COST: '12',
      PASSWORD_HASHING_CONCURRENCY: '1',
      // The waiting logins hash at full priority and have 30 s, so that a busy machine cannot run the wait out:
      // what is tested is that shutdown waits, not how fast it hashes.
      PASSWORD_HASHING_NICE: '0',
      SHUTDOWN_TIMEOUT_MS: '30000',
      LOG_LEVEL: 'info',
    };
    const password = 'walker-secret-1234';
    const made = await runManage(['createsuperuser', '--no-input'], {
      ...env,
      SUPERUSER_USERNAME: 'walker',
      SUPERUSER_PASSWORD: password,
    });
    expect(made.code).toBe(0);
    const server = start(env);
    const url = await server.ready();
    const databaseUrl = env.DATABASE_URL ?? String((await server.waitForLog(/^database ready$/)).url);
    const { hostname, port } = new URL(url);
    const body = JSON.stringify({
      query: 'mutation ($password: String!) { login(username: "walker", password: $password) { id } }',
      variables: { password },
    });
    const sockets = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const socket = net.connect(Number(port), hostname);
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        socket.write(
          `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
        return socket;
      }),
    );
    // The first login has hashed and stored its session: the others were read while it hashed, and wait their turn.
    // Then every client gives up without an answer.
    let stored = 0;
    while (stored === 0) {
      await sleep(20);
      stored = await countSessions(databaseUrl, 'walker');
    }
    for (const socket of sockets) socket.destroy();
    server.child.kill('SIGTERM');
    // Some logins were still running at the signal, or the test would prove nothing.
    expect(stored).toBeLessThan(4);

    expect(await server.exited).toBe(0);
    const logged = server.stdout.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
    // Without the wait, the logins were lost, or failed with "driver has already been destroyed".
    expect(logged.filter(({ level }) => level >= 40).map(({ msg }) => msg)).toEqual([]); // nor cut at the timeout
    expect(logged.map(({ msg }) => msg)).toEqual(expect.arrayContaining(['stopped']));
    expect(await sessionsOf('walker', env)).toBe(4);
  });

  it('cuts a request still running after SHUTDOWN_TIMEOUT_MS and still exits 0', async () => {
    const server = start({ ...databaseEnv(testDatabase), SHUTDOWN_TIMEOUT_MS: '1000' });
    const url = await server.ready();
    const stuck = await beginSlowRequest(url);
    const closed = new Promise<void>((resolve) =>
      stuck.socket.once('close', () => {
        resolve();
      }),
    );
    await sleep(100);

    server.child.kill('SIGTERM');
    const { code, ms } = await timeExit(server);
    await closed;
    expect(code).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(8000);
  });
});

describe('the threads where hashes run', () => {
  let testDatabase: TestDatabase;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });
  afterAll(() => testDatabase.drop());

  /** The nice value of each thread of process `pid` named `name` (Linux's /proc). */
  function niceOf(pid: number, name: string): number[] {
    return fs.readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      if (fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() !== name) return [];
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // After the command name (in parentheses, and it may hold spaces): the state is field 3, the nice value 19.
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    });
  }

  // A thread's own nice value exists on Linux only; elsewhere the server leaves the pool alone.
  (process.platform === 'linux' ? it : it.skip)(
    'run at PASSWORD_HASHING_NICE (10 by default), and the event loop at the nice value it started with',
    async () => {
      const started = os.getPriority();
      for (const [env, expected] of [
        [{}, Math.max(started, 10)],
        [{ PASSWORD_HASHING_NICE: '0' }, started],
      ] as const) {
        const server = start({ ...databaseEnv(testDatabase), ...env });
        await server.ready();
        const pid = Number((await server.waitForLog(/^GraphQL at /)).pid);
        const pool = niceOf(pid, 'libuv-worker');
        expect(pool.length).toBeGreaterThan(0);
        expect(pool).toEqual(pool.map(() => expected));
        expect(niceOf(pid, 'MainThread')).toEqual([started]);
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
        expect(server.stdout.join('\n')).not.toContain('keep their priority');
      }
    },
  );
});

describe('settings problems at start-up', () => {
  let testDatabase: TestDatabase;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });
  afterAll(() => testDatabase.drop());

  it('are logged with the ids `check` reports them by; the server still starts', async () => {
    const server = start({
      ...databaseEnv(testDatabase),
      NODE_ENV: 'production',
      SESSION_SECRET: 'p'.repeat(48),
      PUBLIC_URL: 'https://api.example.com',
      CORS_ORIGINS: '*',
    });
    const url = await server.ready();
    const logged = server.stdout
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { check?: string; level: number })
      .filter((line) => line.check !== undefined)
      .map(({ check, level }) => `${check ?? ''} ${level}`);
    // Errors at level 50, warnings at 40: the deploy ones too, in production.
    expect(logged.sort()).toEqual(['mail.W001 40', 'mail.W002 40', 'security.E008 50', 'security.E015 50']);
    expect((await new HttpClient(url).fetch('/readyz')).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});

describe('cluster mode (WEB_CONCURRENCY)', () => {
  it('refuses the embedded database, which serves one process', async () => {
    const server = start({ DATA_DIR: path.join(scratchDir('cluster'), 'data'), WEB_CONCURRENCY: '2' });
    expect((await timeExit(server)).code).toBe(1);
    expect(server.stderr.filter(Boolean)).toEqual([
      'error: WEB_CONCURRENCY=2 needs DATABASE_URL: the embedded database serves one process',
    ]);
  });

  // Needs a PostgreSQL server every worker can reach: CI's second run has one (TEST_DATABASE_URL); a machine with
  // only the embedded database skips it, saying so.
  (usingServer() ? it : it.skip)(
    `runs the workers on one port, replaces one that dies, and drains them all on SIGTERM${usingServer() ? '' : ' (skipped: needs TEST_DATABASE_URL)'}`,
    async () => {
      const testDatabase = await createTestDatabase();
      try {
        const server = start({ ...databaseEnv(testDatabase), WEB_CONCURRENCY: '2' });
        const readyLines = async (count: number) => {
          const deadline = Date.now() + 30_000;
          for (;;) {
            const lines = server.stdout
              .filter((line) => line.includes('"GraphQL at '))
              .map((line) => JSON.parse(line) as { pid: number; url: string });
            if (lines.length >= count) return lines;
            if (Date.now() > deadline) throw new Error(`${lines.length} of ${count} workers ready`);
            await sleep(100);
          }
        };
        const [first, second] = await readyLines(2);
        expect(first?.pid).not.toBe(second?.pid);
        expect(first?.url).toBe(second?.url); // one port, shared
        const base = (first?.url ?? '').replace(/\/graphql$/, '');
        const answers = await Promise.all(
          Array.from({ length: 20 }, () => new HttpClient(base).graphql('{ __typename }')),
        );
        expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 20 }, () => 200));

        process.kill(first?.pid ?? 0, 'SIGKILL');
        await server.waitForLog(/^a worker exited: starting another$/);
        const [, , third] = await readyLines(3);
        expect([first?.pid, second?.pid]).not.toContain(third?.pid);
        expect((await new HttpClient(base).graphql('{ __typename }')).status).toBe(200);

        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
        expect(server.stdout.some((line) => line.includes('"cluster stopped"'))).toBe(true);
      } finally {
        await testDatabase.drop();
      }
    },
  );
});

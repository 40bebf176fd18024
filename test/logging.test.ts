/**
 * What a developer sees in the terminal and what a machine reads: readable log lines when the server's stdout is a
 * terminal in development (a real pseudo-terminal, made by `script`), JSON lines when piped or in production. And
 * the database URL the server logs at start-up works as DATABASE_URL, as it is.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/index.js';
import { withoutPassword } from '../src/db/database.js';
import { createTestDatabase, databaseEnv, type TestDatabase } from './support/database.js';
import { HttpClient } from './support/http-client.js';
import { spawnServer, type ServerProcess } from './support/process.js';
import { startNodeOptions } from './support/start-command.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PRODUCTION = { NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(48) };

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the server as `npm start` does, its stdout and stderr a pseudo-terminal (`script`), until it logs
 * "GraphQL at"; gives everything the terminal showed until then, without the terminal's carriage returns.
 */
function outputInTerminal(env: Record<string, string>): Promise<string> {
  const command = [process.execPath, ...startNodeOptions(), '--import', 'tsx', 'src/main.ts'].map(quote).join(' ');
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV_FILE: 'none', PORT: '0', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // `script` and the server (in the terminal's own session, so it ends with it when the terminal closes).
  const stop = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  cleanups.push(stop);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no "GraphQL at" within 60 s:\n${output}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8').replace(/\r/g, '');
      if (output.includes('GraphQL at')) {
        clearTimeout(timer);
        stop();
        resolve(output);
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`the server exited before "GraphQL at":\n${output}`));
    });
  });
}

const running: ServerProcess[] = [];
function start(env: Record<string, string>): ServerProcess {
  const server = spawnServer(env);
  running.push(server);
  return server;
}
afterAll(() => {
  for (const server of running) server.child.kill('SIGKILL');
});

/** A database of its own for each server: one killed in a terminal may hold its embedded folder a moment longer. */
const databases: TestDatabase[] = [];
async function databaseOfItsOwn(): Promise<Record<string, string>> {
  const testDatabase = await createTestDatabase();
  databases.push(testDatabase);
  return databaseEnv(testDatabase);
}
afterAll(() => Promise.all(databases.map((database) => database.drop())));

describe('log lines', () => {
  it('are readable in development on a terminal: time, level, message, fields', async () => {
    const output = await outputInTerminal({ NODE_ENV: 'development', ...(await databaseOfItsOwn()) });
    const lines = output.split('\n').filter(Boolean);
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
    expect(output).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}database ready {2}database=(?:"[^"]*"|\S+) url=postgres/m);
    expect(output).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}GraphQL at http:\/\/127\.0\.0\.1:\d+\/graphql/m);
  }, 90_000);

  it('are JSON in production, terminal or not', async () => {
    const output = await outputInTerminal({ ...PRODUCTION, ...(await databaseOfItsOwn()) });
    const lines = output.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toEqual(expect.objectContaining({ msg: expect.any(String) }));
  }, 90_000);

  it('are JSON in development when stdout is a pipe', async () => {
    const server = start({ NODE_ENV: 'development', ...(await databaseOfItsOwn()) });
    await server.ready(60_000);
    expect(server.stdout.length).toBeGreaterThan(0);
    for (const line of server.stdout)
      expect(JSON.parse(line)).toEqual(expect.objectContaining({ msg: expect.any(String) }));
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 90_000);
});

describe('the database URL the server logs', () => {
  it('works as DATABASE_URL, copied as it is', async () => {
    const first = start({ NODE_ENV: 'development', ...(await databaseOfItsOwn()) });
    await first.ready(60_000);
    const logged = String((await first.waitForLog(/^database ready$/)).url);
    expect(logged).toMatch(/^postgres(ql)?:\/\//);

    // A second server (the embedded database serves others while its server runs), told only that URL.
    const second = start({ NODE_ENV: 'development', DATABASE_URL: logged });
    const url = await second.ready(60_000);
    expect((await new HttpClient(url).graphql('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
    // And the second logs a URL that works just as well: the same one.
    expect((await second.waitForLog(/^database ready$/)).url).toBe(logged);
  }, 120_000);

  it('leaves the password out and stays a URL DATABASE_URL accepts', () => {
    const url = withoutPassword('postgres://app:s3cret@db.internal:5433/app?sslmode=require');
    expect(url).toBe('postgres://app@db.internal:5433/app?sslmode=require');
    expect(loadConfig({ DATABASE_URL: url }).database).toMatchObject({ kind: 'server', url });
  });
});

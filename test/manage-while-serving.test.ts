/**
 * Management commands on the embedded database while a server has it open: the folder is locked by the server,
 * so the commands reach the database through the server's socket; when that is not possible they say what to do
 * in one line. Real server and command processes, on an embedded folder whichever database the suite runs on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { CHEAP_HASHING } from './support/auth.js';
import { scratchDir } from './support/database.js';
import { HttpClient } from './support/http-client.js';
import { runManage, spawnServer, timeExit, type ServerProcess } from './support/process.js';

const running = new Set<ServerProcess>();
afterAll(() => {
  for (const server of running) server.child.kill('SIGKILL');
});

describe('manage commands while the server runs on the embedded database', () => {
  it('create a superuser the running server logs in, and migrate, clear sessions and check through it', async () => {
    const dataDir = path.join(scratchDir('serving'), 'data');
    const env = { DATA_DIR: dataDir, ...CHEAP_HASHING };
    const server = spawnServer(env);
    running.add(server);
    const client = new HttpClient(await server.ready(60_000));

    const created = await runManage(['createsuperuser', '--no-input'], {
      ...env,
      SUPERUSER_USERNAME: 'night-admin',
      SUPERUSER_EMAIL: 'night@example.com',
      SUPERUSER_PASSWORD: 'created-while-serving-7',
    });
    expect({ code: created.code, err: created.err }).toEqual({ code: 0, err: [] });
    expect(created.out).toContain('Superuser created successfully.');

    const login = await client.graphql<{ login: { username: string } }>(
      'mutation { login(username: "night-admin", password: "created-while-serving-7") { username } }',
    );
    expect(login.body).toEqual({ data: { login: { username: 'night-admin' } } });

    const migrate = spawnServer(env, { entry: 'src/cli/migrate.ts' });
    expect((await timeExit(migrate)).code).toBe(0);
    expect(migrate.stdout.filter(Boolean).at(-1)).toMatch(/^no pending migrations \(embedded:/);
    const cleared = await runManage(['clearsessions'], env);
    expect(cleared).toMatchObject({ code: 0, err: [], lines: ['0 expired session(s) deleted (postgres store)'] });
    const check = await runManage(['check'], env);
    expect(check.out).not.toContain('database.E001');

    // The commands borrowed the server's database; it still serves, then stops cleanly and unlocks the folder.
    expect((await client.graphql('{ me { username } }')).body).toEqual({ data: { me: { username: 'night-admin' } } });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(fs.readdirSync(dataDir).filter((name) => name.startsWith('server.'))).toEqual([]);
  });

  it('a folder locked by a live process that serves nothing: one line saying what to do', async () => {
    const dataDir = path.join(scratchDir('stale'), 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    // A live process that is no server: this test's own (as after a crash, when the pid was given to another).
    fs.writeFileSync(path.join(dataDir, 'server.pid'), String(process.pid));
    const result = await runManage(['clearsessions'], { DATA_DIR: dataDir });
    expect(result).toMatchObject({
      code: 1,
      err: [
        `error: the embedded database in ${dataDir} is locked by process ${process.pid}, which does not serve it: if that is a server still starting, run the command again; if it is no server of this app, delete ${path.join(dataDir, 'server.pid')}`,
      ],
    });
  });

  it('a server whose socket does not answer: one line saying what to do', async () => {
    const dataDir = path.join(scratchDir('unreachable'), 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'server.pid'), String(process.pid));
    // What a server that is stuck, or whose socket file was removed, leaves behind: an address nobody answers at.
    fs.writeFileSync(
      path.join(dataDir, 'server.json'),
      JSON.stringify({ pid: process.pid, host: dataDir, port: 5432 }),
    );
    const result = await runManage(['createsuperuser', '--no-input'], {
      DATA_DIR: dataDir,
      SUPERUSER_USERNAME: 'root',
    });
    expect(result).toMatchObject({
      code: 1,
      err: [
        `error: the embedded database in ${dataDir} is in use by process ${process.pid}, which does not answer on ${path.join(dataDir, '.s.PGSQL.5432')} (no socket there): stop that process and run the command again`,
      ],
    });
  });
});

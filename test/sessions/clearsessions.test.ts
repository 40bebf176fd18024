/**
 * clearsessions (Django's): the sessions that are over leave the store; the others stay. On each store, and as a
 * command.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { TestClock } from '../support/clock.js';
import { scratchDir } from '../support/database.js';
import { spawnServer, timeExit } from '../support/process.js';
import { describeEachStore } from '../support/session-stores.js';
import { loggedInClient, whoAmI } from '../support/sessions.js';

describeEachStore('clearsessions', (sessionStore) => {
  let app: TestApp;
  const clock = new TestClock();

  beforeAll(async () => {
    app = await createTestApp({
      clock,
      sessionStore,
      env: { ...CHEAP_HASHING, SESSION_IDLE_TIMEOUT: '3600', SESSION_TOUCH_INTERVAL: '60' },
    });
    const em = app.database.orm.em.fork();
    for (const username of ['old', 'fresh']) {
      await createAuth(app.config).users.createUser(em, { username, password: `${username}-password-1` });
    }
  });
  afterAll(() => app.stop());

  it('deletes the sessions that are over, and only those', async () => {
    await loggedInClient(app.url, 'old', 'old-password-1');
    clock.advance(3000);
    const fresh = await loggedInClient(app.url, 'fresh', 'fresh-password-1');
    clock.advance(700); // old: 3,700 s without activity (over); fresh: 700 s
    expect(await app.sessions.count()).toBe(2);
    expect(await app.sessions.store.clearExpired()).toBe(1);
    expect(await app.sessions.count()).toBe(1);
    expect(await whoAmI(fresh)).toBe('fresh');
    expect(await app.sessions.store.clearExpired()).toBe(0);
  });
});

it('runs as `npm run manage -- clearsessions` (after `manage migrate`), printing how many it deleted', async () => {
  const env = { DATA_DIR: path.join(scratchDir('clearsessions'), 'data') };
  const manage = (args: string[]) => spawnServer(env, { entry: 'src/cli/manage.ts', args });
  const unmigrated = manage(['clearsessions']);
  expect((await timeExit(unmigrated)).code).toBe(1);
  expect(unmigrated.stderr.filter(Boolean)).toEqual([
    'error: the database has no session table: run `npm run migrate` first',
  ]);
  const migrate = manage(['migrate']);
  expect((await timeExit(migrate)).code).toBe(0);
  expect(migrate.stdout.filter(Boolean).at(-1)).toMatch(/^\d+ migration\(s\) applied to /);
  const cli = manage(['clearsessions']);
  expect((await timeExit(cli)).code).toBe(0);
  expect(cli.stdout.filter(Boolean)).toEqual(['0 expired session(s) deleted (postgres store)']);
});

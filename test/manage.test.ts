/**
 * `npm run manage -- seed-demo`: the demo data for Sandbox, made once, logged in with, refused in production.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEMO_GROUPS, DEMO_USERS, seedDemo } from '../src/cli/seed-demo.js';
import { Poll } from '../src/entities/poll.js';
import { createAuthFixture, type AuthFixture } from './support/auth.js';
import { scratchDir } from './support/database.js';
import { spawnServer, timeExit } from './support/process.js';

describe('seed-demo', () => {
  let fixture: AuthFixture;
  beforeAll(async () => {
    fixture = await createAuthFixture();
  });
  afterAll(() => fixture.close());

  it('creates the groups, users and polls once; its users log in and hold their groups’ permissions', async () => {
    const first = await seedDemo(fixture.em(), fixture.auth);
    expect(first).toHaveLength(Object.keys(DEMO_GROUPS).length + DEMO_USERS.length + 1);
    expect(await seedDemo(fixture.em(), fixture.auth)).toEqual([]);
    expect(await fixture.em().count(Poll, {})).toBe(2);
    for (const demo of DEMO_USERS) {
      const result = await fixture.auth.authenticate(fixture.em(), {
        username: demo.username,
        password: demo.password,
      });
      expect(result?.user.username).toBe(demo.username);
    }
    const checker = fixture.auth.permissions(fixture.em());
    const user = async (username: string) =>
      (
        await fixture.auth.authenticate(fixture.em(), {
          username,
          password: DEMO_USERS.find((demo) => demo.username === username)?.password ?? '',
        })
      )?.user ?? null;
    const editor = await user('editor');
    const viewer = await user('viewer');
    expect(await checker.hasPerm(editor, 'polls.add_poll')).toBe(true);
    expect(await checker.hasPerm(viewer, 'polls.view_poll')).toBe(true);
    expect(await checker.hasPerm(viewer, 'polls.add_poll')).toBe(false);
    expect(await checker.hasPerm(editor, 'polls.delete_poll')).toBe(false);
  });

  it('runs as a command, and refuses production', async () => {
    const dataDir = path.join(scratchDir('seed-demo'), 'data');
    const cli = spawnServer({ DATA_DIR: dataDir }, { entry: 'src/cli/manage.ts', args: ['seed-demo'] });
    expect((await timeExit(cli)).code).toBe(0);
    expect(cli.stdout.filter((line) => line.startsWith('created '))).toHaveLength(6);
    const production = spawnServer(
      { DATA_DIR: dataDir, NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(40) },
      { entry: 'src/cli/manage.ts', args: ['seed-demo'] },
    );
    expect((await timeExit(production)).code).toBe(1);
    expect(production.stderr.filter(Boolean)).toEqual(['error: seed-demo refuses to run with NODE_ENV=production']);
  });
});

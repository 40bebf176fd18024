/**
 * A DATABASE_URL naming a database that does not exist: the server, `npm run migrate` and the manage commands stop
 * with one line naming it (and never create it behind the operator's back); `npm run manage -- createdb` creates
 * it. Needs a PostgreSQL server (TEST_DATABASE_URL); without one these tests are skipped, and the run says so.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { scratchDir } from './support/database.js';
import { RUN_ID_VAR, requireVar, serverUrl, withDatabase } from './support/env.js';
import { runManage, spawnServer, timeExit } from './support/process.js';
import { withSql } from './support/sql.js';

const url = serverUrl();
if (!url) {
  console.warn(
    'database creation tests skipped: they need a PostgreSQL server (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres)',
  );
}
// Creating and dropping databases needs a PostgreSQL server (the embedded one is a single database): skipped
// without TEST_DATABASE_URL, saying so above; CI's server run has it.
const describeOnServer = url ? describe : describe.skip;

/** A database name of this run (the run's teardown drops whatever is left) that does not exist yet. */
function freshName(): string {
  return `${requireVar(RUN_ID_VAR)}_missing_${crypto.randomBytes(4).toString('hex')}`;
}

/** The URL of `name` on the test server, with a password that must never be echoed. */
function urlOf(name: string): string {
  const parsed = new URL(withDatabase(url ?? '', name));
  parsed.password = 'never-echoed';
  return parsed.toString();
}

async function exists(name: string): Promise<boolean> {
  return withSql(url ?? '', async (client) => {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rows.length > 0;
  });
}

function hostPort(): string {
  const parsed = new URL(url ?? 'postgres://localhost');
  return `${parsed.hostname}:${parsed.port || '5432'}`;
}

describeOnServer(
  `a DATABASE_URL naming a database that does not exist${url ? '' : ' (skipped: needs TEST_DATABASE_URL)'}`,
  () => {
    const missingLine = (name: string) =>
      `error: the database "${name}" does not exist on ${hostPort()} (DATABASE_URL); create it with \`npm run manage -- createdb\``;

    it('stops the server with exit 1 and one line naming it, and creates nothing', async () => {
      const name = freshName();
      const server = spawnServer({ DATABASE_URL: urlOf(name) });
      // Before the fix the server created the database and served: stop it rather than wait forever.
      void server.ready(60_000).then(
        () => server.child.kill('SIGKILL'),
        () => undefined,
      );
      const { code } = await timeExit(server);
      expect(server.stderr.filter(Boolean)).toEqual([missingLine(name)]);
      expect(code).toBe(1);
      expect(await exists(name)).toBe(false);
    });

    it('stops `npm run migrate` and the manage commands the same way', async () => {
      const name = freshName();
      const env = { DATABASE_URL: urlOf(name) };
      const migrate = spawnServer(env, { entry: 'src/cli/migrate.ts' });
      expect((await timeExit(migrate)).code).toBe(1);
      expect(migrate.stderr.filter(Boolean)).toEqual([missingLine(name)]);
      for (const args of [['clearsessions'], ['createsuperuser', '--no-input']]) {
        const result = await runManage(args, { ...env, SUPERUSER_USERNAME: 'root' });
        expect({ args, code: result.code, err: result.err }).toEqual({ args, code: 1, err: [missingLine(name)] });
      }
      const check = await runManage(['check'], env);
      expect(check.code).toBe(1);
      expect(check.out).toContain(`database "${name}" does not exist`);
      expect(check.out).not.toContain('never-echoed');
      expect(await exists(name)).toBe(false);
    });

    it('is created by `npm run manage -- createdb` (once), after which migrate fills it', async () => {
      const name = freshName();
      const env = { DATABASE_URL: urlOf(name) };
      const created = await runManage(['createdb'], env);
      expect(created).toMatchObject({ code: 0, err: [] });
      expect(created.lines).toEqual([
        `created the database "${name}" on ${hostPort()}; \`npm start\` or \`npm run migrate\` creates its tables`,
      ]);
      expect(await exists(name)).toBe(true);
      const again = await runManage(['createdb'], env);
      expect(again).toMatchObject({
        code: 0,
        err: [],
        lines: [`the database "${name}" already exists on ${hostPort()}`],
      });
      const migrate = spawnServer(env, { entry: 'src/cli/migrate.ts' });
      expect((await timeExit(migrate)).code).toBe(0);
      expect(migrate.stdout.join('\n')).toMatch(/migration\(s\) applied to/);
    });

    describe('by a role that may not create databases', () => {
      const role = `${requireVar(RUN_ID_VAR)}_nocreate`;
      afterAll(async () => {
        await withSql(url ?? '', (client) => client.query(`DROP ROLE IF EXISTS "${role}"`));
      });

      it('says so in one line, with the statement an administrator can run', async () => {
        await withSql(url ?? '', (client) => client.query(`CREATE ROLE "${role}" LOGIN NOCREATEDB`));
        const name = freshName();
        const parsed = new URL(urlOf(name));
        parsed.username = role;
        const result = await runManage(['createdb'], { DATABASE_URL: parsed.toString() });
        expect(result).toMatchObject({
          code: 1,
          err: [
            `error: the role "${role}" may not create databases on ${hostPort()}: ask an administrator to run CREATE DATABASE "${name}" OWNER "${role}"`,
          ],
        });
        expect(await exists(name)).toBe(false);
      });
    });
  },
);

describe('createdb on the embedded database', () => {
  it('has nothing to create: the data folder is made on first start', async () => {
    const dataDir = path.join(scratchDir('createdb'), 'data');
    const result = await runManage(['createdb'], { DATA_DIR: dataDir });
    expect(result).toMatchObject({
      code: 0,
      err: [],
      lines: [`nothing to create: the embedded database in ${dataDir} is made when the server first starts`],
    });
  });
});

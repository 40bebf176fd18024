/**
 * The server's reads behind a real PgBouncer in transaction mode, as docs/operations.md advises with many processes:
 * PgBouncer with its defaults (it refuses the startup parameter `options`), a few server connections shared by several
 * processes, each with its own pool and its own pipelined connection (src/db/pipeline.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createAuth } from '../src/auth/index.js';
import { loadConfig } from '../src/config/index.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { preparedOne } from '../src/db/sql.js';
import { createLogger } from '../src/logger.js';
import { createStores, type Stores } from '../src/stores/create-stores.js';
import { CHEAP_HASHING } from './support/auth.js';
import { TestClock } from './support/clock.js';
import { createTestDatabase, describeOnServer, type TestDatabase } from './support/database.js';
import { testLogger } from './support/env.js';
import { pgbouncerUnavailable, startPgBouncer, type PgBouncer } from './support/pgbouncer.js';
import { backendOf } from './support/pipeline.js';

const unavailable = pgbouncerUnavailable();

// On a PostgreSQL server only: PgBouncer stands in front of a server, and the embedded database has no pipelined
// connection to put behind it.
describeOnServer('behind PgBouncer in transaction mode', () => {
  // Skipped, saying why in its title, where no PgBouncer binary is installed (.ci/run installs Debian's package; a
  // developer's machine may not have it): these tests need a real pooler, not a stand-in.
  (unavailable === undefined ? describe : describe.skip)(
    unavailable === undefined ? 'with its defaults' : `with its defaults (skipped: ${unavailable})`,
    () => {
      const clock = new TestClock();
      const config = loadConfig(CHEAP_HASHING);
      let testDatabase: TestDatabase | undefined;
      let bouncer: PgBouncer | undefined;
      /** What each process logged at warning level or above. */
      const warnings: string[][] = [];
      const processes: { database: Database; stores: Stores }[] = [];

      beforeAll(async () => {
        testDatabase = await createTestDatabase();
        if (testDatabase.config.kind !== 'server') throw new Error('a server database was expected');
        // One server connection for three processes, each with a pool and a pipelined connection: the statement the
        // first process prepares is there when the others prepare it (42P05), and they go unnamed.
        bouncer = await startPgBouncer(testDatabase.config.url, 1);
        for (let n = 0; n < 3; n++) {
          const logged: string[] = [];
          warnings.push(logged);
          const logger = createLogger('debug', {
            write(line: string) {
              const { level, msg } = JSON.parse(line) as { level: number; msg: string };
              if (level >= 40) logged.push(msg);
            },
          });
          // Not migrated through PgBouncer, whose transaction pooling would split migrate's advisory lock from its
          // unlock (docs/operations.md): the test database comes migrated.
          const database = await openDatabase({ ...testDatabase.config, url: bouncer.url }, logger, { migrate: false });
          const stores = createStores(config.session, { database, clock, logger });
          await stores.sessions.open();
          processes.push({ database, stores });
        }
      });
      afterAll(async () => {
        for (const { stores, database } of processes) {
          await stores.close();
          await database.close();
        }
        await bouncer?.stop();
        await testDatabase?.drop();
      });

      it('opens the pipelined connection, which PgBouncer refuses with the startup parameter `options`', async () => {
        const pipeline = processes[0]?.database.pipeline;
        if (!pipeline) throw new Error('a database on a server has a pipelined connection');
        expect(await backendOf(pipeline)).toEqual(expect.any(Number));
        // Opened without the server's statement limit, which it says; the pool's statements never carried one.
        expect(warnings[0]).toEqual([expect.stringContaining("without the server's statement limit")]);
      });

      it("answers every process's session reads with the right user, and says once per process that names fail", async () => {
        const [first] = processes;
        if (!first) throw new Error('no process');
        const users: number[] = [];
        for (let n = 0; n < 30; n++) {
          const user = await createAuth(config).users.createUser(first.database.orm.em.fork(), {
            username: `user${n}`,
          });
          await first.stores.sessions.insert(
            `sid-${user.id}`,
            { userId: user.id },
            new Date(clock.now().getTime() + 3_600_000),
          );
          users.push(user.id);
        }
        const answers = { right: 0, wrong: 0, failed: [] as string[] };
        for (let round = 0; round < 30; round++) {
          await Promise.all(
            processes.flatMap(({ stores }) =>
              users.map(async (id) => {
                try {
                  const found = await stores.sessions.getSessionAndUser(`sid-${id}`);
                  if (typeof found === 'object' && found?.user?.id === id) answers.right += 1;
                  else answers.wrong += 1;
                } catch (error) {
                  answers.failed.push((error as Error).message);
                }
              }),
            ),
          );
        }
        expect(answers).toEqual({ right: 30 * 3 * 30, wrong: 0, failed: [] });
        // The session read's name, prepared by the first process on the one server connection, is already there for
        // the others (42P05): they go unnamed, each saying so once, not once per statement that was in flight.
        const said = warnings.map(
          (logged) => logged.filter((msg) => msg.includes('is sent unnamed from now on')).length,
        );
        expect(Math.max(...said)).toBe(1);
        expect(said.every((times) => times <= 1)).toBe(true);
      });

      it("runs each process's own text under a name two versions share, as in a rolling deploy", async () => {
        const databaseConfig = testDatabase?.config;
        if (!bouncer || databaseConfig?.kind !== 'server') throw new Error('not started');
        const url = bouncer.url;
        const open = () => openDatabase({ ...databaseConfig, url }, testLogger, { migrate: false });
        const [old, next] = [await open(), await open()];
        try {
          // The same name, another text: the user columns one version reads and the other does not, say.
          const ask = (database: Database, n: number) =>
            preparedOne(database.orm.em.fork(), 'test_version', `SELECT ${n}::int AS n`, []);
          expect(await ask(next, 2)).toEqual({ n: 2 });
          // The one server connection as a new one would be (PgBouncer's server_lifetime, say): nothing prepared.
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          await client.query('DEALLOCATE ALL');
          await client.end();
          expect(await ask(old, 1)).toEqual({ n: 1 });
          // The next version's Bind: under a name both versions share, it would run the text the old one prepared
          // there (and answer 1); under its text's own name, unknown there (26000), it goes unnamed.
          expect(await ask(next, 2)).toEqual({ n: 2 });
        } finally {
          await old.close();
          await next.close();
        }
      });
    },
  );
});

/**
 * The session store port (Lucia's adapter): `getSessionAndUser` returns a session and its user in one call, as a
 * contract, on every store; only a fresh id is inserted, only a live session updated; expiry is the stored time.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from '@jest/globals';
import pg from 'pg';
import { createAuth } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import type { PipelinedConnection } from '../../src/db/pipeline.js';
import type { User } from '../../src/entities/user.js';
import { createStores, type Stores } from '../../src/stores/create-stores.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { TestClock } from '../support/clock.js';
import { createTestDatabase, describeOnServer, type TestDatabase } from '../support/database.js';
import { testLogger } from '../support/env.js';
import { backendOf, preparedNamesOn } from '../support/pipeline.js';
import { describeEachStore, redisStoreEnv } from '../support/session-stores.js';
import { sqlLogger } from '../support/sql-log.js';

describeEachStore('the session store port', (kind) => {
  const clock = new TestClock();
  const statements: string[] = [];
  let testDatabase: TestDatabase;
  let database: Database;
  let stores: Stores;
  let bob: User;
  const later = (seconds: number) => new Date(clock.now().getTime() + seconds * 1000);

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    database = await openDatabase(testDatabase.config, sqlLogger(statements));
    const config = loadConfig({ ...CHEAP_HASHING, ...(kind === 'redis' ? redisStoreEnv() : {}) });
    stores = createStores(config.session, { database, clock, logger: testLogger });
    await stores.sessions.open();
    bob = await createAuth(config).users.createUser(database.orm.em.fork(), {
      username: 'bob',
      password: 'bob-pass-1',
    });
  });
  afterAll(async () => {
    await stores.close();
    await database.close();
    await testDatabase.drop();
  });

  it('returns the session and its user, password hash included, with one SQL statement', async () => {
    await stores.sessions.insert('sid-1', { userId: bob.id, backend: 'model' }, later(60));
    statements.length = 0;
    const found = await stores.sessions.getSessionAndUser('sid-1');
    expect(found).toEqual({
      session: { userId: bob.id, backend: 'model' },
      user: expect.objectContaining({ id: bob.id, username: 'bob', password: expect.stringMatching(/^argon2\$/) }),
    });
    expect(statements).toHaveLength(1);
  });

  it('returns no user for a session without one, or whose user is gone', async () => {
    await stores.sessions.insert('sid-anonymous', { note: 'no user' }, later(60));
    expect(await stores.sessions.getSessionAndUser('sid-anonymous')).toEqual({
      session: { note: 'no user' },
      user: null,
    });
    const em = database.orm.em.fork();
    const gone = await createAuth(loadConfig(CHEAP_HASHING)).users.createUser(em, { username: 'gone' });
    await stores.sessions.insert('sid-gone', { userId: gone.id }, later(60));
    await em.getConnection().execute('DELETE FROM auth_user WHERE id = ?', [gone.id]);
    // PostgreSQL deletes the user's sessions with it (ON DELETE CASCADE); Redis keeps the session, without a user.
    expect([null, { session: { userId: gone.id }, user: null }]).toContainEqual(
      await stores.sessions.getSessionAndUser('sid-gone'),
    );
  });

  it('answers null for an unknown id, and for a session past its time (deleting it)', async () => {
    expect(await stores.sessions.getSessionAndUser('never-issued')).toBeNull();
    await stores.sessions.insert('sid-short', { userId: bob.id }, later(10));
    clock.advance(10);
    expect(await stores.sessions.getSessionAndUser('sid-short')).toBeNull();
    clock.advance(-10);
    expect(await stores.sessions.getSessionAndUser('sid-short')).toBeNull();
  });

  it('updates only a session that still exists: a destroyed one is never brought back', async () => {
    await stores.sessions.insert('sid-2', { userId: bob.id, n: 1 }, later(60));
    await stores.sessions.update('sid-2', { userId: bob.id, n: 2 }, later(60));
    expect((await stores.sessions.getSessionAndUser('sid-2'))?.valueOf()).toMatchObject({ session: { n: 2 } });
    await stores.sessions.destroy('sid-2');
    await stores.sessions.update('sid-2', { userId: bob.id, n: 3 }, later(60));
    expect(await stores.sessions.getSessionAndUser('sid-2')).toBeNull();
  });

  it('ends every session of a user but one, and says how many', async () => {
    await stores.sessions.destroyForUser(bob.id);
    for (const sid of ['a', 'b', 'c']) await stores.sessions.insert(sid, { userId: bob.id }, later(60));
    expect(await stores.sessions.destroyForUser(bob.id, 'b')).toBe(2);
    expect(await stores.sessions.getSessionAndUser('b')).toMatchObject({ session: { userId: bob.id } });
    expect(await stores.sessions.getSessionAndUser('a')).toBeNull();
  });

  it("lists a user's sessions that are not past their time, and no one else's", async () => {
    await stores.sessions.destroyForUser(bob.id);
    const carol = await createAuth(loadConfig(CHEAP_HASHING)).users.createUser(database.orm.em.fork(), {
      username: 'carol',
      password: 'carol-pass-1',
    });
    await stores.sessions.insert('list-1', { userId: bob.id, publicId: 'p1' }, later(60));
    await stores.sessions.insert('list-2', { userId: bob.id, publicId: 'p2' }, later(120));
    await stores.sessions.insert('list-old', { userId: bob.id, publicId: 'p3' }, later(10));
    await stores.sessions.insert('list-carol', { userId: carol.id, publicId: 'p4' }, later(60));
    await stores.sessions.insert('list-anonymous', { note: 'nobody' }, later(60));
    clock.advance(30);
    const listed = await stores.sessions.listForUser(bob.id);
    expect(listed.sort((a, b) => a.sid.localeCompare(b.sid))).toEqual([
      { sid: 'list-1', data: { userId: bob.id, publicId: 'p1' }, expiresAt: later(30) },
      { sid: 'list-2', data: { userId: bob.id, publicId: 'p2' }, expiresAt: later(90) },
    ]);
    await stores.sessions.destroy('list-1');
    expect((await stores.sessions.listForUser(bob.id)).map(({ sid }) => sid)).toEqual(['list-2']);
    expect(await stores.sessions.listForUser(carol.id + 1000)).toEqual([]);
  });
});

// On a PostgreSQL server only: the embedded database serves every connection with one backend, where the store
// parses the statement each time instead, on the pool (src/stores/postgres-session-store.ts).
describeOnServer('the PostgreSQL store on a server', () => {
  let testDatabase: TestDatabase;
  let database: Database;
  let stores: Stores;
  let pool: pg.Pool;
  /** The pipelined connection (src/db/pipeline.ts): statements asked about below are asked on it. */
  let pipeline: PipelinedConnection;
  const users: User[] = [];
  const clock = new TestClock();
  const inAMinute = () => new Date(clock.now().getTime() + 60_000);
  beforeEach(async () => {
    testDatabase = await createTestDatabase();
    if (testDatabase.config.kind !== 'server') throw new Error('a server database was expected');
    // One pool connection: the pool's own statements are asked about on the connection that ran them.
    database = await openDatabase({ ...testDatabase.config, poolSize: 1 }, testLogger);
    if (!database.pipeline) throw new Error('a database on a server has a pipelined connection');
    pipeline = database.pipeline;
    pool = await database.orm.em.getConnection().getNativeClient();
    const config = loadConfig(CHEAP_HASHING);
    stores = createStores(config.session, { database, clock, logger: testLogger });
    users.length = 0;
    for (const username of ['ann', 'ben', 'cid']) {
      users.push(await createAuth(config).users.createUser(database.orm.em.fork(), { username, password: 'pass-1-x' }));
    }
  });
  afterEach(async () => {
    await stores.close();
    await database.close();
    await testDatabase.drop();
  });

  it('reads a session with a statement prepared once, on a connection of its own, not on the pool', async () => {
    await stores.sessions.getSessionAndUser('no-such-session');
    await stores.sessions.getSessionAndUser('no-such-session');
    expect(await preparedNamesOn(pipeline)).toContain('gqlauth_session_and_user');
    expect(await preparedNamesOn(pool)).not.toContain('gqlauth_session_and_user');
  });

  it('answers reads sent together each with its own session, in any number', async () => {
    const sids = Array.from({ length: 60 }, (_, n) => `sid-${n}`);
    for (const [n, sid] of sids.entries()) {
      await stores.sessions.insert(sid, { userId: users[n % users.length]?.id, n }, inAMinute());
    }
    const read = await Promise.all([...sids, 'no-such-session'].map((sid) => stores.sessions.getSessionAndUser(sid)));
    expect(read.at(-1)).toBeNull();
    sids.forEach((_sid, n) => {
      const answer = read[n];
      if (answer === null || typeof answer !== 'object') throw new Error(`no session for ${n}`);
      expect(answer.session).toEqual({ userId: users[n % users.length]?.id, n });
      expect(answer.user?.id).toBe(users[n % users.length]?.id);
    });
  });

  it("holds none of the pool's connections: a session is read while a transaction holds the only one", async () => {
    await stores.sessions.insert('sid-1', { userId: users[0]?.id }, inAMinute());
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let begun = () => {};
    const inside = new Promise<void>((resolve) => (begun = resolve));
    const transaction = database.orm.em.fork().transactional(async (em) => {
      await em.getConnection().execute('SELECT 1', [], 'all', em.getTransactionContext());
      begun();
      await held;
    });
    try {
      await inside;
      expect(pool.idleCount).toBe(0);
      const read = stores.sessions.getSessionAndUser('sid-1');
      const late = new Promise((resolve) =>
        setTimeout(() => {
          resolve('still waiting after 2 s');
        }, 2000),
      );
      const answer = await Promise.race([read, late]);
      expect(answer).toMatchObject({ user: { id: users[0]?.id } });
    } finally {
      release();
      await transaction;
    }
  });

  it('goes on unnamed, on the pool, where the connection lost the statement (PgBouncer in transaction mode)', async () => {
    await stores.sessions.insert('sid-1', { userId: users[1]?.id }, inAMinute());
    await stores.sessions.getSessionAndUser('sid-1');
    // What a transaction-mode pooler does to it: the next call reaches a server connection that never prepared it.
    const { rows } = await pipeline.query<{ name: string }>({
      name: 'test_session_read_name',
      text: "SELECT name FROM pg_prepared_statements WHERE name LIKE 'gqlauth_session_and_user%'",
      values: [],
    });
    expect(rows).toHaveLength(1);
    await pipeline.query({ name: 'test_deallocate', text: `DEALLOCATE "${rows[0]?.name}"`, values: [] });
    for (let n = 0; n < 2; n++) {
      expect(await stores.sessions.getSessionAndUser('sid-1')).toMatchObject({ user: { id: users[1]?.id } });
    }
    expect(await preparedNamesOn(pipeline)).not.toContain('gqlauth_session_and_user');
    expect(await preparedNamesOn(pool)).not.toContain('gqlauth_session_and_user');
  });

  it('opens another connection when the server ends its own, and the process goes on', async () => {
    await stores.sessions.insert('sid-1', { userId: users[2]?.id }, inAMinute());
    const first = await backendOf(pipeline);
    await pool.query('SELECT pg_terminate_backend($1)', [first]);
    // Whether or not the connection has heard of its end yet, each read is answered: sent again on the pool, or on
    // a new connection.
    for (let n = 0; n < 3; n++) {
      expect(await stores.sessions.getSessionAndUser('sid-1')).toMatchObject({ user: { id: users[2]?.id } });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await backendOf(pipeline)).not.toBe(first);
  });

  it('ends its connection when the database closes', async () => {
    await stores.sessions.getSessionAndUser('no-such-session');
    const backend = await backendOf(pipeline);
    await database.close();
    if (testDatabase.config.kind !== 'server') throw new Error('a server database was expected');
    const outside = new pg.Client({ connectionString: testDatabase.config.url });
    await outside.connect();
    try {
      const { rows } = await outside.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [backend]);
      expect(rows[0]).toEqual({ n: 0 });
    } finally {
      await outside.end();
    }
  });
});

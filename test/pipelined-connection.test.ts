/**
 * The pipelined connection (src/db/pipeline.ts) and preparedOne's use of it (src/db/sql.ts): what it takes from the
 * pool, how it meets a failed Parse, a transaction left open, an idle time and a server it cannot reach.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { openDatabase, type Database } from '../src/db/database.js';
import { PipelinedConnection, pipelineOptions } from '../src/db/pipeline.js';
import { pipelineNamedStatements, preparedOne } from '../src/db/sql.js';
import { createTestDatabase, describeOnServer, type TestDatabase } from './support/database.js';
import { testLogger } from './support/env.js';
import { backendOf, preparedNamesOn } from './support/pipeline.js';
import { startTcpProxy } from './support/tcp-proxy.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the pipelined connection options', () => {
  it("keep the pool's password, which a pg pool holds out of its enumerable options", async () => {
    const pool = new pg.Pool({ host: '127.0.0.1', user: 'app', password: 'secret', database: 'app' });
    try {
      expect({ ...pool.options }.password).toBeUndefined();
      expect(pipelineOptions(pool.options)).toMatchObject({ password: 'secret', user: 'app', pipeline: true });
    } finally {
      await pool.end();
    }
  });

  it("put the server's statement limit after the pool's own startup options, so that it is the one in force", () => {
    expect(pipelineOptions({ options: '-c search_path=app' }).options).toBe(
      '-c search_path=app -c statement_timeout=9000',
    );
    expect(pipelineOptions({}).options).toBe('-c statement_timeout=9000');
    // For a pooler that refuses startup options: the pool's own kept, this connection's limit left out.
    expect(pipelineOptions({ options: '-c search_path=app' }, 10_000, false).options).toBe('-c search_path=app');
    expect(pipelineOptions({}, 10_000, false).options).toBe('');
  });

  it("wait for an answer a second longer than the server's limit, or as long as a test asks", () => {
    expect(pipelineOptions({}).query_timeout).toBe(10_000);
    expect(pipelineOptions({}, 500).query_timeout).toBe(500);
  });
});

// On a PostgreSQL server only: the embedded database has no pipelined connection (its one backend serves every
// connection, and named statements go unnamed there).
describeOnServer('the pipelined connection on a server', () => {
  let testDatabase: TestDatabase;
  let database: Database;
  let url: string;
  const outside = async <T>(work: (client: pg.Client) => Promise<T>) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  /** A proxy to the database that a test can cut, freeze and restore, and the database's URL through it. */
  const throughProxy = async () => {
    const target = new URL(url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    target.hostname = '127.0.0.1';
    target.port = String(proxy.port);
    return Object.assign(proxy, { url: target.href });
  };
  /**
   * `work` on a pipelined connection through a proxy that froze once it had connected (its backend: `first`), each
   * statement unanswered after 300 ms.
   */
  const onFrozenConnection = async (work: (pipeline: PipelinedConnection, first?: number) => Promise<void>) => {
    const proxy = await throughProxy();
    const pipeline = new PipelinedConnection({ connectionString: proxy.url }, testLogger, { statementMs: 300 });
    try {
      const first = await backendOf(pipeline);
      proxy.freeze();
      await work(pipeline, first);
    } finally {
      await pipeline.close();
      await proxy.close();
    }
  };
  /**
   * Runs `migration` under a statement prepared on the database's pipelined connection, then expects `read` answered
   * twice (on the pool, then on a new connection) and its name prepared anew there: neither failing for good on the
   * backend where its preparation went stale, nor sent unnamed for good.
   */
  const preparedAnewAfter = async (migration: string, read: () => Promise<unknown>, answer: unknown, name: string) => {
    const pipeline = database.pipeline;
    if (!pipeline) throw new Error('a database on a server has a pipelined connection');
    const first = await backendOf(pipeline);
    await outside((client) => client.query(migration));
    expect(await read()).toEqual(answer);
    expect(await read()).toEqual(answer);
    expect(await backendOf(pipeline)).not.toBe(first);
    expect(await preparedNamesOn(pipeline)).toContain(name);
  };
  /** A table `name` (k int PRIMARY KEY, v int) holding the row (1, 5), made outside the database under test. */
  const keyTable = (name: string) =>
    outside((client) =>
      client.query(`CREATE TABLE ${name} (k int PRIMARY KEY, v int); INSERT INTO ${name} VALUES (1, 5)`),
    );
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    if (testDatabase.config.kind !== 'server') throw new Error('a server database was expected');
    url = testDatabase.config.url;
    database = await openDatabase(testDatabase.config, testLogger);
  });
  afterAll(async () => {
    await database.close();
    await testDatabase.drop();
  });

  it('makes statements of one name wait for the first one to be parsed, so that its failure is its own', async () => {
    const pipeline = new PipelinedConnection({ connectionString: url, options: '-c lock_timeout=150' }, testLogger);
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      // Open before the lock is taken: the Parse, not the connect, is what waits for it.
      await backendOf(pipeline);
      // The first Parse waits for this lock and gives up after 150 ms; the lock goes at 250 ms.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE auth_user IN ACCESS EXCLUSIVE MODE');
      const statement = {
        name: 'test_users',
        text: 'SELECT count(*)::int AS n FROM auth_user WHERE id > $1',
        values: [0],
      };
      const asked = Array.from({ length: 6 }, () => pipeline.query(statement));
      await sleep(250);
      await locker.query('COMMIT');
      const settled = await Promise.allSettled(asked);
      const codes = settled.flatMap((each) =>
        each.status === 'rejected' ? [String((each.reason as { code?: unknown }).code)] : [],
      );
      // Pipelined behind a failed Parse without waiting, they would each fail as unknown (26000).
      expect(codes.length).toBeGreaterThan(0);
      expect(codes.every((code) => code === '55P03')).toBe(true);
      expect(settled.filter((each) => each.status === 'fulfilled').length).toBeGreaterThanOrEqual(4);
    } finally {
      await locker.end();
      await pipeline.close();
    }
  });

  it("has the server end its statements after 9 s, whatever the pool's own limit", async () => {
    const pipeline = new PipelinedConnection({ connectionString: url, options: '-c statement_timeout=0' }, testLogger);
    try {
      const { rows } = await pipeline.query<{ statement_timeout: string }>({
        name: 'test_show_timeout',
        text: 'SHOW statement_timeout',
        values: [],
      });
      expect(rows[0]).toEqual({ statement_timeout: '9s' });
    } finally {
      await pipeline.close();
    }
  });

  it('lets the connection go when a statement leaves a transaction open, so no read sees an old snapshot', async () => {
    const pipeline = new PipelinedConnection({ connectionString: url }, testLogger);
    try {
      const first = await backendOf(pipeline);
      await pipeline.query({ name: 'test_begin', text: 'BEGIN ISOLATION LEVEL REPEATABLE READ', values: [] });
      const count = async () =>
        (
          await pipeline.query<{ n: number }>({
            name: 'test_count',
            text: 'SELECT count(*)::int AS n FROM auth_group',
            values: [],
          })
        ).rows[0]?.n;
      const before = await count();
      await outside((client) => client.query("INSERT INTO auth_group (name) VALUES ('test-pipeline-snapshot')"));
      expect(await count()).toBe((before ?? 0) + 1);
      expect(await backendOf(pipeline)).not.toBe(first);
    } finally {
      await pipeline.close();
    }
  });

  it('closes its connection once unused for the idle time, and opens another at the next statement', async () => {
    const pipeline = new PipelinedConnection({ connectionString: url, idleTimeoutMillis: 300 }, testLogger);
    try {
      const first = await backendOf(pipeline);
      // Kept while in use: a statement every 30 ms for about 600 ms (two idle checks), each on the same backend.
      for (let n = 0; n < 20; n++) {
        expect(await backendOf(pipeline)).toBe(first);
        await sleep(30);
      }
      // Unused for two checks at most: closed.
      await sleep(900);
      const open = await outside((client) =>
        client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [first]),
      );
      expect(open.rows[0]).toEqual({ n: 0 });
      expect(await backendOf(pipeline)).not.toBe(first);
    } finally {
      await pipeline.close();
    }
  });

  it('after a failed connect, refuses statements at once for a while instead of connecting again', async () => {
    const unreachable = new PipelinedConnection({ host: '127.0.0.1', port: 1, user: 'nobody' }, testLogger);
    try {
      const statement = { name: 'test_one', text: 'SELECT 1', values: [] };
      await expect(unreachable.query(statement)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
      await expect(unreachable.query(statement)).rejects.toThrow(/statements go to the pool meanwhile/);
    } finally {
      await unreachable.close();
    }
  });

  it('tries to connect again after 1 s, then 2 s, and after 1 s again once it has connected', async () => {
    const proxy = await throughProxy();
    let clock = 0;
    const pipeline = new PipelinedConnection({ connectionString: proxy.url }, testLogger, {
      now: () => clock,
    });
    const statement = { name: 'test_one', text: 'SELECT 1 AS one', values: [] };
    const refused = { cause: { code: 'ECONNREFUSED' } };
    const meanwhile = /statements go to the pool meanwhile/;
    try {
      proxy.cut('refuse');
      await expect(pipeline.query(statement)).rejects.toMatchObject(refused);
      await expect(pipeline.query(statement)).rejects.toThrow(meanwhile);
      clock += 1_001;
      await expect(pipeline.query(statement)).rejects.toMatchObject(refused);
      // The second failure doubles the pause.
      clock += 1_001;
      await expect(pipeline.query(statement)).rejects.toThrow(meanwhile);
      clock += 1_000;
      await proxy.restore();
      expect((await pipeline.query(statement)).rows).toEqual([{ one: 1 }]);
      // Connected once: the next failure pauses 1 s again, not 4.
      proxy.cut('refuse');
      for (let attempt = 0; ; attempt++) {
        const error = await pipeline.query(statement).then(
          () => undefined,
          (failure: unknown) => failure,
        );
        // The first statement may still meet the connection the proxy just cut, before its end is seen.
        if ((error as { cause?: { code?: string } } | undefined)?.cause?.code === 'ECONNREFUSED') break;
        if (attempt === 20) throw new Error(`the connect was not refused: ${String(error)}`);
        await sleep(20);
      }
      await expect(pipeline.query(statement)).rejects.toThrow(meanwhile);
      clock += 1_001;
      await proxy.restore();
      expect((await pipeline.query(statement)).rows).toEqual([{ one: 1 }]);
    } finally {
      await pipeline.close();
      await proxy.close();
    }
  });

  it('ends a connection whose statement goes unanswered, and sends the statement again on the pool', async () => {
    const pool = await database.orm.em.getConnection().getNativeClient();
    const proxy = await throughProxy();
    const pipeline = new PipelinedConnection({ connectionString: proxy.url }, testLogger, {
      statementMs: 500,
    });
    pipelineNamedStatements(pool, pipeline);
    try {
      const em = database.orm.em.fork();
      const first = await backendOf(pipeline);
      // A NAT or firewall that forgot the connection: nothing comes back, nothing says it ended.
      proxy.freeze();
      const started = performance.now();
      // Bounded, so that a connection that waits forever fails the test instead of holding it to Jest's limit.
      const giveUp = new AbortController();
      const answer = await Promise.race([
        preparedOne<{ n: number }>(em, 'test_seven', 'SELECT $1::int AS n', [7]),
        delay(5_000, 'no answer within 5 s', { signal: giveUp.signal }),
      ]).finally(() => {
        giveUp.abort();
      });
      expect(answer).toEqual({ n: 7 });
      expect(performance.now() - started).toBeGreaterThanOrEqual(450);
      // The next statement opens a connection of its own (through the proxy, which forwards new ones).
      expect(await backendOf(pipeline)).not.toBe(first);
    } finally {
      if (database.pipeline) pipelineNamedStatements(pool, database.pipeline);
      await pipeline.close();
      await proxy.close();
    }
  });

  it('opens a new connection for a statement asked for before the timed-out one has finished closing', async () => {
    await onFrozenConnection(async (pipeline, first) => {
      // Asked for as soon as the timeout is known: pg has destroyed the socket, but has not yet seen it close (that
      // comes a turn of the event loop later). A busy process answers its fallback on the pool within that turn.
      const next = await pipeline.query({ name: 'test_seven', text: 'SELECT 7 AS n', values: [] }).then(
        () => {
          throw new Error('a frozen connection answered');
        },
        () => backendOf(pipeline),
      );
      expect(next).toEqual(expect.any(Number));
      expect(next).not.toBe(first);
    });
  });

  it('sends statements that waited on an unanswered first Parse of their name on the next connection', async () => {
    await onFrozenConnection(async (pipeline) => {
      const statement = { name: 'test_eight', text: 'SELECT 8 AS n', values: [] };
      // The first carries the Parse and goes unanswered; the second waits for it, then parses anew.
      const [first, second] = await Promise.allSettled([pipeline.query(statement), pipeline.query(statement)]);
      expect(first.status).toBe('rejected');
      expect(second.status === 'fulfilled' ? second.value.rows : second.reason).toEqual([{ n: 8 }]);
    });
  });

  it('never sends a statement the server cancelled (57014) again on the pool, which would double its wait', async () => {
    const pipeline = database.pipeline;
    if (!pipeline) throw new Error('a database on a server has a pipelined connection');
    await outside((client) => client.query('CREATE SEQUENCE test_calls'));
    const backend = await backendOf(pipeline);
    // Each run of the statement takes a number from the sequence, which no rollback gives back.
    const slow = preparedOne<{ n: number }>(
      database.orm.em.fork(),
      'test_slow',
      // nextval first, then the sleep: a run cancelled during its sleep has taken its number.
      "SELECT nextval('test_calls')::int AS n, pg_sleep(2)",
      [],
    ).then(
      () => 'answered',
      (error: unknown) => (error as { code?: string }).code,
    );
    await outside(async (client) => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const { rows } = await client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%test_calls%' AND state = 'active'",
          [backend],
        );
        if (rows[0]?.n === 1) break;
        await sleep(20);
      }
      // The server's statement limit answers so too (57014): here an administrator's cancel stands for it.
      await client.query('SELECT pg_cancel_backend($1)', [backend]);
    });
    expect(await slow).toBe('57014');
    const calls = await outside((client) =>
      client.query<{ last_value: string; is_called: boolean }>('SELECT last_value, is_called FROM test_calls'),
    );
    // One run: the pipelined connection's. A second run, on the pool, would have taken 2.
    expect(calls.rows[0]).toEqual({ last_value: '1', is_called: true });
  });

  it('sends a statement again on the pool when the pipelined connection cannot be opened', async () => {
    const pool = await database.orm.em.getConnection().getNativeClient();
    // Port 1: nothing listens there, the connection is refused.
    const unreachable = new PipelinedConnection({ host: '127.0.0.1', port: 1, user: 'nobody' }, testLogger);
    pipelineNamedStatements(pool, unreachable);
    try {
      const row = await preparedOne<{ n: number }>(database.orm.em.fork(), 'test_seven', 'SELECT $1::int AS n', [7]);
      expect(row).toEqual({ n: 7 });
    } finally {
      await unreachable.close();
      if (database.pipeline) pipelineNamedStatements(pool, database.pipeline);
    }
  });

  it('sends a statement whose cached plan changed again on the pool, and prepares it anew on a new connection', async () => {
    const em = database.orm.em.fork();
    await outside((client) =>
      client.query('CREATE TABLE test_plan (id int PRIMARY KEY, v int); INSERT INTO test_plan VALUES (1, 5)'),
    );
    const read = () => preparedOne<{ v: unknown }>(em, 'test_plan_read', 'SELECT v FROM test_plan WHERE id = $1', [1]);
    expect(await read()).toEqual({ v: 5 });
    // A migration of another project, say: the prepared plan's result type is no longer the table's.
    await preparedAnewAfter('ALTER TABLE test_plan ALTER COLUMN v TYPE bigint', read, { v: '5' }, 'test_plan_read');
    // A second migration: the same again, names kept.
    await preparedAnewAfter('ALTER TABLE test_plan ALTER COLUMN v TYPE text', read, { v: '5' }, 'test_plan_read');
  });

  it("sends a statement whose parameter's column changed type again on the pool, and prepares it anew", async () => {
    const em = database.orm.em.fork();
    await keyTable('test_key');
    const read = () => preparedOne<{ v: number }>(em, 'test_key_read', 'SELECT v FROM test_key WHERE k = $1', [1]);
    expect(await read()).toEqual({ v: 5 });
    // The plan's parameter stays an int, fixed at its Parse: revalidated against a text column it fails with 42883
    // ("operator does not exist: text = integer"), on this backend, for good. A fresh Parse takes $1 as text.
    await preparedAnewAfter('ALTER TABLE test_key ALTER COLUMN k TYPE text', read, { v: 5 }, 'test_key_read');
  });

  it('finds a preparation stale after a first statement that failed once parsed, which pg never parses again', async () => {
    const em = database.orm.em.fork();
    await keyTable('test_key2');
    const read = (key: unknown) =>
      preparedOne<{ v: number }>(em, 'test_key2_read', 'SELECT v FROM test_key2 WHERE k = $1', [key]).catch(
        (error: unknown) => (error as { code?: string }).code,
      );
    // Parsed, then failed at its Bind (22P02: not an integer): pg sends only a Bind for this name from now on.
    expect(await read('one')).toBe('22P02');
    await preparedAnewAfter(
      'ALTER TABLE test_key2 ALTER COLUMN k TYPE text',
      () => read(1),
      { v: 5 },
      'test_key2_read',
    );
  });

  it("keeps the connection for an error of a statement's values, which the pool answers alike", async () => {
    const em = database.orm.em.fork();
    const pipeline = database.pipeline;
    if (!pipeline) throw new Error('a database on a server has a pipelined connection');
    const tableOf = (name: string) =>
      preparedOne<{ t: string }>(em, 'test_regclass', 'SELECT $1::regclass::text AS t', [name]).catch(
        (error: unknown) => (error as { code?: string }).code,
      );
    expect(await tableOf('pg_class')).toEqual({ t: 'pg_class' });
    const backend = await backendOf(pipeline);
    // 42P01 (no such table) at the Bind of a prepared statement: class 42, as a stale preparation's would be, but the
    // pool answers it so too. Were each such request to cost a reconnect, a client could make them at will.
    for (let call = 0; call < 3; call++) expect(await tableOf('no_such_table')).toBe('42P01');
    expect(await backendOf(pipeline)).toBe(backend);
    expect(await tableOf('pg_class')).toEqual({ t: 'pg_class' });
  });

  it('neither reconnects nor gives up names for a statement answered 0A000 everywhere (not a changed plan)', async () => {
    // A database of its own: were its pool to go unnamed for good, the other tests' pool would not.
    const other = await openDatabase(testDatabase.config, testLogger);
    try {
      const pipeline = other.pipeline;
      if (!pipeline) throw new Error('a database on a server has a pipelined connection');
      const em = other.orm.em.fork();
      // 0A000 at every Parse, named or not: "FOR UPDATE is not allowed with aggregate functions" (feature not
      // supported). The same code as a changed plan's, from another routine.
      const invalid = () =>
        preparedOne(em, 'test_invalid', 'SELECT count(*) FROM pg_class WHERE relpages >= $1 FOR UPDATE', [0]).then(
          () => 'answered',
          (error: unknown) => (error as { code?: string }).code,
        );
      const backends = [];
      for (let call = 0; call < 3; call++) {
        expect(await invalid()).toBe('0A000');
        backends.push(await backendOf(pipeline));
      }
      // The same pipelined connection throughout, and named statements still go over it.
      expect(new Set(backends).size).toBe(1);
      expect(await preparedOne(em, 'test_valid', 'SELECT $1::int AS n', [3])).toEqual({ n: 3 });
      expect(await preparedNamesOn(pipeline)).toContain('test_valid');
    } finally {
      await other.close();
    }
  });
});

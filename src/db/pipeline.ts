/**
 * One connection of the process's own, in pg's pipeline mode, for the named statements every request runs (the
 * session and its user; an access token). A pool gives each statement a connection and waits for its answer before
 * lending that connection again, so under load every request wakes another backend. Here each statement is written
 * as soon as it is asked for, without waiting for the ones before it; one backend answers them in order, each
 * statement with its own Sync, so a statement's error is its own. In the bench's side-by-side rounds it took the CPU
 * of an authenticated request from 822 to 446 us (docs/benchmarks.md).
 *
 * Only statements that stand alone go here: never a transaction's, since each request's transaction needs a
 * connection of its own. Every statement reads the database as it is when the statement runs, as the pool's do: a
 * revocation committed before the request is in force for it. preparedOne (src/db/sql.ts) decides what comes here,
 * and where a statement goes when this connection cannot take it.
 */
import pg from 'pg';
import type { Logger } from '../logger.js';

/** pg-pool's default: how long a connection may sit unused before it is closed. */
const IDLE_MS = 10_000;
/** How long close() waits for the server to see the connection end before cutting it. */
const CLOSE_MS = 2_000;
/**
 * The server ends a statement of this connection that runs this long (57014, not sent again): a read waiting on a
 * lock (another project's migration, say) fails there, and its backend is free, rather than piling up behind it.
 */
const SERVER_STATEMENT_MS = 9_000;
/**
 * A statement unanswered this long, a second after the server's own limit, ends the connection, and every statement on
 * it is sent again on the pool: one connection carries every request's read, and a server gone without a word (a
 * failover, a dropped NAT entry) would otherwise hold them all until TCP gives up, a quarter of an hour later.
 */
const STATEMENT_MS = SERVER_STATEMENT_MS + 1_000;
/** After a failed connect, statements go to the pool for this long, doubling up to the last, before another try. */
const BACKOFF_MS = [1_000, 30_000] as const;

/**
 * Whether a statement prepared earlier on its connection may have failed because a migration made its preparation
 * stale, so that this backend fails it for good where a fresh Parse would succeed:
 * - a cached plan whose result changed ("cached plan must not change result type": a column under it altered), told
 *   by the server's routine, not its message (translated under lc_messages), nor by 0A000 alone ("feature not
 *   supported", which an invalid statement answers too, on every connection);
 * - an error of class 42 (syntax error or access rule violation): the plan, revalidated, keeps the parameter types
 *   fixed at its Parse, so a parameter's column that changed type fails with 42883 ("operator does not exist: text =
 *   integer"). Class 42 also holds errors of the statement as it is now (a table dropped, a grant revoked) or of its
 *   values (a regclass that names no table): preparedOne tells them apart by sending it unnamed on the pool.
 */
function mayBeStale(error: unknown): boolean {
  if (!(error instanceof pg.DatabaseError)) return false;
  return (error.code === '0A000' && error.routine === 'RevalidateCachedQuery') || /^42/.test(error.code ?? '');
}

/**
 * A statement prepared on the pipelined connection that failed as a stale preparation would (mayBeStale). preparedOne
 * sends it unnamed on the pool: answered there, the preparation was stale, and `stale()` lets the connection go (a new
 * one prepares anew); failing there too, the pool's error is the caller's and the connection stays, so that an error
 * of the statement itself, or of its values, never costs a reconnect.
 */
export class PossiblyStaleStatementError extends Error {
  constructor(
    cause: unknown,
    readonly stale: () => void,
  ) {
    super('a statement prepared on the pipelined connection failed as a stale one would', { cause });
    this.name = 'PossiblyStaleStatementError';
  }
}

/** What a test may set instead of the defaults: the clock of the backoff, and the time a statement may go unanswered. */
export interface PipelineTimes {
  /** Milliseconds, as performance.now(). */
  readonly now: () => number;
  readonly statementMs: number;
}

/** The pool's options for a client of its own: the pool keeps the password out of its enumerable options. */
export function pipelineOptions(
  poolOptions: pg.PoolConfig,
  statementMs = STATEMENT_MS,
  serverLimit = true,
): pg.ClientConfig {
  const { password } = poolOptions;
  // After the pool's own options (its `options`, or PGOPTIONS as pg reads it when it has none: set here, this
  // connection's would replace them, a search_path among them), so that this limit is the one in force.
  const own = poolOptions.options ?? process.env.PGOPTIONS;
  const options = [own, serverLimit ? `-c statement_timeout=${SERVER_STATEMENT_MS}` : undefined]
    .filter(Boolean)
    .join(' ');
  return {
    ...poolOptions,
    ...(password === undefined ? {} : { password }),
    options,
    pipeline: true,
    // TCP keepalive after 10 s of silence (pg's default delay, 0, means the system's: two hours), so that a server
    // gone without a word is found out while the connection is idle; STATEMENT_MS covers it while it is busy.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: statementMs,
  };
}

/** What pg's connection records of the statements its backend has parsed (pg/lib/client.js, on ParseComplete). */
interface ParsedNames {
  readonly parsedStatements: Record<string, string>;
}

/** A client and the names its backend has prepared (or is preparing: the first statement's answer). */
interface Line {
  readonly client: pg.Client;
  readonly names: Map<string, Promise<unknown> | true>;
  /** Set by the client's 'error' event: the client is never used again. */
  failed: boolean;
}

export class PipelinedConnection {
  private line: Line | undefined;
  private connecting: Promise<Line> | undefined;
  private closed = false;
  /** Whether a statement was asked for since the idle check last looked, and how many are unanswered. */
  private used = false;
  private inFlight = 0;
  private readonly idleCheck: NodeJS.Timeout | undefined;
  private options: pg.ClientConfig;
  /** The same without the server's statement limit, for a pooler that refuses startup options (refusesOptions). */
  private readonly optionsWithoutLimit: pg.ClientConfig;
  /** After a failed connect: until when statements are refused (so that preparedOne sends them to the pool). */
  private downUntil = 0;
  private backoffMs: number = BACKOFF_MS[0];
  private readonly now: () => number;

  /** `options`: the pool's own (connection target, TLS, timeouts, type parsers), so both read alike. */
  constructor(
    poolOptions: pg.PoolConfig,
    private readonly logger: Logger,
    times: Partial<PipelineTimes> = {},
  ) {
    this.options = pipelineOptions(poolOptions, times.statementMs);
    this.optionsWithoutLimit = pipelineOptions(poolOptions, times.statementMs, false);
    this.now = times.now ?? (() => performance.now());
    // Closed when unused, as the pool closes its idle connections (between one and two idle times here): a connection
    // left open for hours may have been dropped silently on the way, and the next statement would wait on it.
    const idleMs = poolOptions.idleTimeoutMillis ?? IDLE_MS;
    if (idleMs > 0) {
      this.idleCheck = setInterval(() => {
        if (!this.used && this.inFlight === 0) this.release();
        this.used = false;
      }, idleMs).unref();
    }
  }

  /** A named statement's result; connects first (again, after a lost or idle connection) when needed. */
  async query<T extends pg.QueryResultRow>(statement: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<pg.QueryResult<T>> {
    this.used = true;
    this.inFlight += 1;
    try {
      let line = this.line ?? (await this.connect());
      // The first statement of a name carries its Parse. Pipelined behind it, the next ones would only Bind: if that
      // Parse failed (a lock timeout, say), each would fail as unknown, which preparedOne takes for a pooler that
      // lost the name. So they wait for the first one's answer; after a failure the next one parses again.
      for (let parsed = line.names.get(statement.name); parsed !== true; parsed = line.names.get(statement.name)) {
        if (parsed !== undefined) {
          await parsed.catch(() => undefined);
          // The connection let go meanwhile (its statement unanswered, say): on to the next one, not the one ending.
          if (this.line !== line) line = this.line ?? (await this.connect());
          continue;
        }
        const first = this.send<T>(line, statement);
        line.names.set(statement.name, first);
        try {
          const result = await first;
          line.names.set(statement.name, true);
          return result;
        } catch (error) {
          line.names.delete(statement.name);
          throw error;
        }
      }
      return await this.send<T>(line, statement);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Sends a statement on `line`, and checks the connection after its answer or its error. */
  private async send<T extends pg.QueryResultRow>(
    line: Line,
    statement: { name: string; text: string; values: unknown[] },
  ): Promise<pg.QueryResult<T>> {
    // Whether pg sends it as a Bind alone: parsed on this backend before, by an earlier statement of this name (even
    // one that failed after its Parse).
    const parsed = (line.client.connection as unknown as Partial<ParsedNames>).parsedStatements;
    const preparedBefore = parsed !== undefined && Object.hasOwn(parsed, statement.name);
    try {
      const result = await line.client.query<T>(statement);
      this.check(line);
      return result;
    } catch (error) {
      if (preparedBefore && mayBeStale(error)) {
        throw new PossiblyStaleStatementError(error, () => {
          if (this.line === line) this.release('a prepared statement went stale (a migration)');
        });
      }
      throw this.failed(line, error);
    }
  }

  /** Ends the connection; a statement asked for later is refused. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idleCheck);
    const line = await this.connecting?.catch(() => undefined);
    this.line = undefined;
    this.connecting = undefined;
    if (line) await end(line.client);
  }

  /**
   * Outside any transaction after each statement, or the connection is let go: a transaction left open on it would
   * make every later read see the database as it was then (a revoked session still valid).
   */
  private check(line: Line): void {
    if (this.line === line && line.client.getTransactionStatus() !== 'I') {
      this.release('a statement left a transaction open');
    }
  }

  /**
   * A statement's error. A statement unanswered in time has had pg destroy the socket: the connection is let go at
   * once, not when the socket's close is seen a turn of the event loop later, or a statement asked for meanwhile would
   * be written to it and fail too.
   */
  private failed(line: Line, error: unknown): unknown {
    if (this.line === line && line.client.connection.stream.destroyed) this.release('a statement went unanswered');
    return error;
  }

  /** Lets the current connection go (unused, failed or suspect); the next statement opens another. */
  private release(reason?: string): void {
    const line = this.line;
    if (line === undefined) return;
    this.line = undefined;
    this.connecting = undefined;
    if (reason !== undefined && !this.closed) {
      this.logger.warn(`the pipelined connection was let go (${reason}); the next statement opens another`);
    }
    void end(line.client);
  }

  private connect(): Promise<Line> {
    if (this.closed) return Promise.reject(new Error('the database is closed'));
    if (this.connecting === undefined && this.now() < this.downUntil) {
      return Promise.reject(new Error('the pipelined connection is down; statements go to the pool meanwhile'));
    }
    this.connecting ??= (async () => {
      let line: Line;
      try {
        line = await this.open(this.options).catch((error: unknown) => {
          if (!refusesOptions(error) || this.options === this.optionsWithoutLimit) throw error;
          // PgBouncer with its defaults refuses the startup parameter `options` (ignore_startup_parameters may list
          // it). The pool sends none unless its URL has some, so only this connection's own limit is dropped; the
          // read timeout (STATEMENT_MS) still ends a statement that hangs, and the pooler's own limits stand.
          this.logger.warn(
            { err: error },
            "the database refused the pipelined connection's startup option (a pooler: PgBouncer, say); it opens " +
              "without the server's statement limit",
          );
          this.options = this.optionsWithoutLimit;
          return this.open(this.options);
        });
      } catch (error) {
        this.connecting = undefined;
        // Not tried again at once: each try would cost the requests waiting on it a whole connect, and the server a
        // backend (when it refuses for too many connections, it would be asked again at every request).
        if (this.backoffMs === BACKOFF_MS[0] && !this.closed) {
          this.logger.warn(
            { err: error },
            'the pipelined connection cannot be opened; statements go to the pool, and it is tried again later',
          );
        }
        this.downUntil = this.now() + this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MS[1]);
        // Not the server's error about a statement (a password refused, say, is one): preparedOne sends the
        // statements waiting on this connect to the pool, which connects in its own way.
        throw new Error('the pipelined connection could not be opened', { cause: error });
      }
      // An error in the same read as the server's "ready" has already been seen: this client is never installed.
      if (line.failed) {
        this.connecting = undefined;
        throw new Error('the pipelined connection failed as it opened');
      }
      this.line = line;
      this.backoffMs = BACKOFF_MS[0];
      return line;
    })();
    return this.connecting;
  }

  /** A connected client with `options`, or the connect's error (the client ended). */
  private async open(options: pg.ClientConfig): Promise<Line> {
    const client = new pg.Client(options);
    const line: Line = { client, names: new Map(), failed: false };
    // A connection the server drops (a restart, pg_terminate_backend, idle_session_timeout) emits 'error': without a
    // listener that would end the process. pg rejects its statements in flight; the next one reconnects.
    client.on('error', (error: Error) => {
      line.failed = true;
      if (this.line === line) this.release(error.message);
      else void end(client);
    });
    client.on('end', () => {
      line.failed = true;
      if (this.line === line) this.release('closed by the server');
    });
    try {
      await client.connect();
    } catch (error) {
      void end(client);
      throw error;
    }
    return line;
  }
}

/**
 * Whether a connect failed on the startup parameter `options`: PgBouncer answers "unsupported startup parameter:
 * options" unless its ignore_startup_parameters lists it. PostgreSQL itself takes this connection's option.
 */
function refusesOptions(error: unknown): boolean {
  // 08P01 (protocol violation), as PgBouncer says it: "unsupported startup parameter: options" (1.18), "unsupported
  // startup parameter in options: ..." (1.20 on), and nothing else that mentions options.
  return (
    error instanceof pg.DatabaseError &&
    error.code === '08P01' &&
    /unsupported startup parameter\b.*\boptions\b/.test(error.message)
  );
}

/** Ends a client, cutting its socket if the server has not seen the end within CLOSE_MS. */
async function end(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      client.connection.stream.destroy();
      resolve();
    }, CLOSE_MS);
  });
  try {
    await Promise.race([client.end().catch(() => undefined), cut]);
  } finally {
    clearTimeout(timer);
  }
}

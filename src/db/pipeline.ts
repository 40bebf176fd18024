/**
 * One connection of the process's own, in pg's pipeline mode, for the named statements every request runs (the
 * session and its user; an access token). A pool gives each statement a connection and waits for its answer before
 * lending that connection again, so under load every request wakes another backend. Here each statement is written
 * as soon as it is asked for, without waiting for the ones before it; one backend answers them in order, each
 * statement with its own Sync (an error ends that statement alone). In the bench this halved the CPU per
 * authenticated request next to the pool's path (docs/benchmarks.md).
 *
 * Only statements that stand alone go here: never a transaction's, since each request's transaction needs a
 * connection of its own. Every statement reads the database as it is when the statement runs, as the pool's do: a
 * revocation committed before the request is in force for it.
 */
import pg from 'pg';
import type { Logger } from '../logger.js';

/** pg-pool's default: how long a connection may sit unused before it is closed. */
const IDLE_MS = 10_000;

export class PipelinedConnection {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private closed = false;
  /** Statements asked for since the idle check last looked, and not yet answered. */
  private used = false;
  private inFlight = 0;
  private readonly idleCheck: NodeJS.Timeout;

  /** `options`: the pool's own (connection target, TLS, timeouts, type parsers), so both read alike. */
  constructor(
    private readonly options: pg.PoolConfig,
    private readonly logger: Logger,
  ) {
    // Closed when unused, as the pool closes its idle connections: a connection left open for hours may have been
    // dropped silently by a firewall or a NAT on the way, and the next statement would wait for TCP to give up.
    const idleMs = options.idleTimeoutMillis || IDLE_MS;
    this.idleCheck = setInterval(() => {
      if (!this.used && this.inFlight === 0) this.release();
      this.used = false;
    }, idleMs).unref();
  }

  /** A statement's result; connects first (again, after a lost or idle connection) when needed. */
  async query<T extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<T>> {
    this.used = true;
    this.inFlight += 1;
    try {
      const client = this.client ?? (await this.connect());
      return await client.query<T>(config);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Ends the connection; a statement asked for later is refused. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idleCheck);
    const client = await this.connecting?.catch(() => undefined);
    this.client = undefined;
    this.connecting = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Ends an idle connection; the next statement opens another. */
  private release(): void {
    const client = this.client;
    if (client === undefined) return;
    this.client = undefined;
    this.connecting = undefined;
    client.end().catch(() => undefined);
  }

  private connect(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error('the database is closed'));
    this.connecting ??= (async () => {
      const client = new pg.Client({ ...this.options, pipeline: true });
      const drop = (reason: string) => {
        if (this.connecting !== undefined && this.client === client) {
          this.client = undefined;
          this.connecting = undefined;
          if (!this.closed)
            this.logger.warn(`the pipelined connection was lost (${reason}); the next statement opens another`);
        }
      };
      // A connection the server drops (a restart, pg_terminate_backend, idle_session_timeout) emits 'error': without a
      // listener that would end the process. Its statements in flight are rejected by pg; the next one reconnects.
      client.on('error', (error: Error) => {
        drop(error.message);
      });
      client.on('end', () => {
        drop('closed');
      });
      try {
        await client.connect();
      } catch (error) {
        this.connecting = undefined;
        throw error;
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }
}

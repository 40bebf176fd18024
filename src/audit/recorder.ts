/**
 * Writes the audit log without the requests it records waiting for it or failing with it.
 *
 * A listener on the auth events turns each into a row (rows.ts) while the request is still being served (its id,
 * address and user are read then), and puts it in a queue in memory: that is all the request pays. One writer, outside
 * any request, empties the queue in batches, one INSERT each, in the order the events happened. A slow database
 * delays the log, never an answer: the writer waits, holding one connection of the pool, while requests go on with the
 * others. A failed write is tried again a few times, then its rows are dropped and counted in an error line; the
 * queue is bounded (AUDIT_QUEUE_LIMIT): past it, new events are dropped and counted, so that a database down for long
 * costs a bounded amount of memory. At shutdown, after the last requests, what is queued is written (for a bounded
 * time).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthEventBus, AuthEvents } from '../auth/events.js';
import type { Clock } from '../auth/clock.js';
import { run } from '../db/sql.js';
import { currentRequest, outsideRequest, type Logger } from '../logger.js';
import { AUDITED_EVENTS, auditRowOf, type AuditRow } from './rows.js';

/** Writes rows (all or none); the default is one INSERT on the database. */
export type AuditWrite = (rows: readonly AuditRow[]) => Promise<void>;

export interface AuditRecorderOptions {
  readonly logger: Pick<Logger, 'error' | 'warn'>;
  /** Rows waiting, at most (AUDIT_QUEUE_LIMIT). */
  readonly queueLimit: number;
  /** Rows per INSERT. */
  readonly batchSize?: number;
  /** Waits before each new try of a failed write; after the last, its rows are dropped. */
  readonly retryDelaysMs?: readonly number[];
}

/** A few tries over about ten seconds: a restarting database or a failover, not an outage. */
const RETRY_DELAYS_MS = [250, 1000, 3000, 6000];

const COLUMNS = [
  ['at', 'timestamptz'],
  ['kind', 'varchar'],
  ['actor_id', 'integer'],
  ['impersonator_id', 'integer'],
  ['target_user_id', 'integer'],
  ['target_group_id', 'integer'],
  ['username', 'varchar'],
  ['address', 'varchar'],
  ['request_id', 'varchar'],
  ['details', 'jsonb'],
] as const;

/**
 * One INSERT for a batch: the rows as one JSON parameter (a batch of any size is one statement, planned alike),
 * in their order. The username of a row that names a target user and no username is the user's at this moment:
 * the log keeps who it was, after a rename or a deletion.
 */
const INSERT = `INSERT INTO gqlauth_audit_event (${COLUMNS.map(([name]) => name).join(', ')})
  SELECT r.at, r.kind, r.actor_id, r.impersonator_id, r.target_user_id, r.target_group_id,
         coalesce(r.username, (SELECT u.username FROM auth_user u WHERE u.id = r.target_user_id)),
         r.address, r.request_id, r.details
    FROM ROWS FROM (jsonb_to_recordset(?::jsonb) AS (${COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')}))
         WITH ORDINALITY AS r(${COLUMNS.map(([name]) => name).join(', ')}, position)
   ORDER BY r.position`;

/** Writes with `em` (a fork of its own: the writer is no request's). */
export function databaseWrite(em: EntityManager): AuditWrite {
  return async (rows) => {
    const json = rows.map((row) => ({
      at: row.at.toISOString(),
      kind: row.kind,
      actor_id: row.actorId,
      impersonator_id: row.impersonatorId,
      target_user_id: row.targetUserId,
      target_group_id: row.targetGroupId,
      username: row.username,
      address: row.address,
      request_id: row.requestId,
      details: row.details,
    }));
    await run(em.fork(), INSERT, [JSON.stringify(json)]);
  };
}

export class AuditRecorder {
  private queue: AuditRow[] = [];
  /** The writer, while it runs. */
  private writing: Promise<void> | undefined;
  /** Rows dropped since the last line that said so. */
  private dropped = 0;
  private closed = false;
  /** Cuts a retry's wait short at shutdown. */
  private readonly stopWaiting = new AbortController();

  constructor(
    private readonly write: AuditWrite,
    private readonly options: AuditRecorderOptions,
  ) {}

  /** Subscribes to every event of `events`; returns the unsubscription. */
  listen(events: AuthEventBus, clock: Clock): () => void {
    const offs = AUDITED_EVENTS.map((name) =>
      events.on(name, (event: AuthEvents[typeof name]) => {
        // Read now, synchronously: the request's scope is the emitter's, and the time is the event's.
        const row = auditRowOf(name, event, currentRequest(), clock.now());
        if (row) this.record(row);
      }),
    );
    return () => {
      for (const off of offs) off();
    };
  }

  /** Queues a row; never throws, never waits. */
  record(row: AuditRow): void {
    if (this.closed || this.queue.length >= this.options.queueLimit) {
      if (this.dropped === 0) {
        this.options.logger.error(
          { queueLimit: this.options.queueLimit, closed: this.closed },
          this.closed
            ? 'audit event after shutdown: dropped'
            : 'the audit queue is full (the database is slow or down): new audit events are dropped',
        );
      }
      this.dropped += 1;
      return;
    }
    this.queue.push(row);
    // Outside the request: the writer's statements and lines are no request's, and it outlives the one that started it.
    this.writing ??= outsideRequest(() => this.drain());
  }

  /** Rows waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once everything queued so far is written (or dropped). */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /**
   * Writes what is queued, for `timeoutMs` at most, then refuses new rows. Rows still waiting then are dropped,
   * and counted in an error line.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      timer = setTimeout(() => {
        resolve(true);
      }, timeoutMs);
    });
    try {
      if (await Promise.race([this.flushed().then(() => false), timedOut])) {
        this.stopWaiting.abort();
        const lost = this.queue.length;
        this.queue = [];
        this.options.logger.error({ lost }, `${lost} audit event(s) not written before shutdown`);
      }
    } finally {
      clearTimeout(timer);
    }
    this.reportDropped();
  }

  private async drain(): Promise<void> {
    try {
      // After the emitting request's own work in this turn of the event loop: its answer goes first.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.batchSize ?? 500);
        if (await this.writeWithRetries(batch)) this.reportDropped();
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** True once written; false when every try failed (the rows are dropped and counted). */
  private async writeWithRetries(batch: AuditRow[]): Promise<boolean> {
    const delays = this.options.retryDelaysMs ?? RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.write(batch);
        return true;
      } catch (error) {
        const delay = delays[attempt];
        if (delay === undefined || this.stopWaiting.signal.aborted) {
          this.options.logger.error(
            { err: error, lost: batch.length },
            `${batch.length} audit event(s) could not be written and are lost`,
          );
          return false;
        }
        this.options.logger.warn({ err: error, retryInMs: delay }, 'writing the audit log failed; trying again');
        try {
          await sleep(delay, undefined, { signal: this.stopWaiting.signal });
        } catch {
          // Shutdown cut the wait: one last try.
        }
      }
    }
  }

  private reportDropped(): void {
    if (this.dropped === 0) return;
    this.options.logger.error({ dropped: this.dropped }, `${this.dropped} audit event(s) were dropped`);
    this.dropped = 0;
  }
}

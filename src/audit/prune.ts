/**
 * The audit log's retention (AUDIT_RETENTION_DAYS): `npm run manage -- pruneaudit` deletes the events older than it.
 * The only code that deletes audit rows: the table's trigger refuses a DELETE unless the transaction says it prunes.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { run, selectOne } from '../db/sql.js';

/** Rows per DELETE: each a short transaction, so that a first prune of a big log never holds locks for long. */
const BATCH = 10_000;

/** The moment before which events are past a retention of `days` at `now`; null for 0 (kept forever). */
export function retentionCutoff(days: number, now: Date): Date | null {
  return days === 0 ? null : new Date(now.getTime() - days * 86_400_000);
}

/** Deletes the events older than `cutoff`, `batch` rows per transaction; returns how many. */
export async function pruneAuditEvents(em: EntityManager, cutoff: Date, batch = BATCH): Promise<number> {
  let deleted = 0;
  for (;;) {
    const count = await em.transactional(async (tx) => {
      // For this transaction only: the append-only trigger lets these DELETEs through.
      await selectOne(tx, "SELECT set_config('gqlauth.audit_prune', 'on', true)");
      return run(
        tx,
        `DELETE FROM gqlauth_audit_event WHERE id IN (
           SELECT id FROM gqlauth_audit_event WHERE at < ? ORDER BY at LIMIT ?)`,
        [cutoff, batch],
      );
    });
    deleted += count;
    if (count < batch) return deleted;
  }
}

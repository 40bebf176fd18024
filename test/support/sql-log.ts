/** A server logger that keeps the SQL statements the ORM runs (its debug lines), for tests that count queries. */
import { createLogger, type Logger } from '../../src/logger.js';

/**
 * The audit log's writer runs on its own, after the requests whose events it writes (src/audit/recorder.ts): its
 * INSERT lands whenever its batch is ready, in whichever request a test happens to be counting.
 */
export function isAuditWrite(statement: string): boolean {
  return /^\s*INSERT INTO gqlauth_audit_event\b/i.test(statement);
}

/** Appends each statement's text to `into`, in order, without its parameters (the ORM never logs those). */
export function sqlLogger(into: string[]): Logger {
  return createLogger('debug', {
    write(line: string) {
      const parsed = JSON.parse(line) as { namespace?: string; msg?: string };
      if (parsed.namespace === 'query' && parsed.msg && !isAuditWrite(parsed.msg)) into.push(parsed.msg);
    },
  });
}

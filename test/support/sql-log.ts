/** A server logger that keeps the SQL statements the ORM runs (its debug lines), for tests that count queries. */
import { createLogger, type Logger } from '../../src/logger.js';

/** Appends each statement's text to `into`, in order, without its parameters (the ORM never logs those). */
export function sqlLogger(into: string[]): Logger {
  return createLogger('debug', {
    write(line: string) {
      const parsed = JSON.parse(line) as { namespace?: string; msg?: string };
      if (parsed.namespace === 'query' && parsed.msg) into.push(parsed.msg);
    },
  });
}

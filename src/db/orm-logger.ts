/**
 * MikroORM's logger, routed into the server's pino logger: the ORM's warnings and errors (a pool error, a
 * lost connection) always reach the log; queries appear at LOG_LEVEL=debug, with their timing but never their
 * parameters (which can hold password hashes and session data).
 */
import type { LogContext, Logger as OrmLogger, LoggerNamespace } from '@mikro-orm/core';
import type { Logger } from '../logger.js';

export function ormLogger(logger: Logger): OrmLogger {
  const log = logger.child({ component: 'orm' });
  const debug = (): boolean => log.isLevelEnabled('debug');
  return {
    log(namespace, message) {
      if (debug()) log.debug({ namespace }, message);
    },
    warn(namespace, message) {
      log.warn({ namespace }, message);
    },
    error(namespace, message) {
      log.error({ namespace }, message);
    },
    logQuery(context: LogContext) {
      if (!debug()) return;
      log.debug(
        { namespace: 'query', took: context.took, results: context.results, affected: context.affected },
        context.query ?? '',
      );
    },
    setDebugMode() {
      // The level comes from LOG_LEVEL, through pino.
    },
    isEnabled(namespace: LoggerNamespace) {
      return namespace !== 'query-params' && debug();
    },
  };
}

/**
 * Probes for orchestrators and load balancers.
 * - GET /healthz: 200 while the process lives and serves HTTP (liveness).
 * - GET /readyz: 200 only while the database and the session store answer, none of the project's tables or
 *   authorization triggers is missing, and the server is not shutting down (readiness); 503 otherwise, so a load
 *   balancer stops sending traffic before the process goes away, or to a server whose logins could only fail.
 */
import { Router } from 'express';
import type { Database } from '../db/database.js';
import { missingProjectObjects } from '../db/project-tables.js';
import type { SessionStore } from '../stores/session-store.js';

/** Shared with the shutdown sequence: readiness turns false as soon as shutdown begins. */
export interface Lifecycle {
  shuttingDown: boolean;
}

/** How long the look at the project's tables may take before the database counts as unavailable. */
const SCHEMA_TIMEOUT_MS = 2000;

export function healthRoutes(database: Database, store: SessionStore, lifecycle: Lifecycle): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (lifecycle.shuttingDown) {
      res.status(503).json({ status: 'shutting down' });
      return;
    }
    const [databaseUp, storeUp] = await Promise.all([database.ping(), store.ping()]);
    const schemaComplete = databaseUp && (await projectSchemaComplete(database));
    const status = !databaseUp
      ? 'database unavailable'
      : !schemaComplete
        ? // Which tables or triggers is for `check` to say: a public probe names no part of the schema.
          'database schema incomplete'
        : !storeUp
          ? 'session store unavailable'
          : 'ready';
    res.status(status === 'ready' ? 200 : 503).json({ status });
  });
  return router;
}

/** True while no project table or authorization trigger is missing; false too if the database does not answer. */
async function projectSchemaComplete(database: Database): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, SCHEMA_TIMEOUT_MS);
  });
  const check = missingProjectObjects(database.orm.em.fork()).then(
    (missing) => missing.tables.length === 0 && missing.triggers.length === 0,
    () => false,
  );
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

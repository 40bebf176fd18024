/**
 * Probes for orchestrators and load balancers.
 * - GET /healthz: 200 while the process lives and serves HTTP (liveness).
 * - GET /readyz: 200 only while the database and the session store answer and the server is not shutting down
 *   (readiness); 503 otherwise, so a load balancer stops sending traffic before the process goes away.
 */
import { Router } from 'express';
import type { Database } from '../db/database.js';
import type { SessionStore } from './session-store.js';

/** Shared with the shutdown sequence: readiness turns false as soon as shutdown begins. */
export interface Lifecycle {
  shuttingDown: boolean;
}

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
    const status = !databaseUp ? 'database unavailable' : !storeUp ? 'session store unavailable' : 'ready';
    res.status(databaseUp && storeUp ? 200 : 503).json({ status });
  });
  return router;
}

/**
 * Cluster mode (WEB_CONCURRENCY > 1): this process forks that many workers, each a whole server (main.ts) on the
 * same port (node:cluster shares the listening socket), and supervises them:
 * - a worker that exits while the cluster runs is replaced, unless workers keep exiting (2 × WEB_CONCURRENCY
 *   exits within a minute: a bad configuration or an unreachable database), and then the cluster stops, exit 1;
 * - SIGTERM or SIGINT is passed to every worker, which drains as a single server does; this process exits when the
 *   last one has, 0 if every worker stopped cleanly.
 * Workers share nothing in memory: sessions and counters are in PostgreSQL or Redis, as for replicas.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config/index.js';
import type { Logger } from './logger.js';

/** How long a crash is remembered when deciding that workers keep exiting. */
const CRASH_WINDOW_MS = 60_000;
/** Past the workers' own drain limit, they get this long before this process exits anyway. */
const STOP_MARGIN_MS = 5000;

export function runPrimary(config: Config, logger: Logger, fail: (message: string) => never): void {
  if (config.database.kind === 'embedded') {
    // The embedded database is opened by one process at a time.
    fail(`WEB_CONCURRENCY=${config.webConcurrency} needs DATABASE_URL: the embedded database serves one process`);
  }
  const workers = new Set<Worker>();
  const crashes: number[] = [];
  let stopping = false;
  let exitCode = 0;

  const fork = () => {
    workers.add(cluster.fork());
  };

  const stopAll = (code: number) => {
    if (!stopping) {
      stopping = true;
      exitCode = code;
      setTimeout(() => {
        logger.error('workers did not stop in time: exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs + STOP_MARGIN_MS).unref();
    }
    for (const worker of workers) worker.process.kill('SIGTERM');
    if (workers.size === 0) process.exit(exitCode);
  };

  cluster.on('exit', (worker, code, signal) => {
    workers.delete(worker);
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (workers.size === 0) {
        logger.info('cluster stopped');
        process.exit(exitCode);
      }
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && (crashes[0] ?? now) < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length >= 2 * config.webConcurrency) {
      logger.fatal({ exits: crashes.length }, 'workers keep exiting: stopping the cluster');
      stopAll(1);
      return;
    }
    logger.error({ workerPid: worker.process.pid, code, signal }, 'a worker exited: starting another');
    fork();
  });

  const onSignal = (signal: NodeJS.Signals) => {
    // A terminal's Ctrl-C reaches the workers too; each drains once, however many times it is told.
    logger.info({ signal }, 'stopping the cluster: draining every worker');
    stopAll(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  logger.info({ workers: config.webConcurrency }, `cluster: starting ${config.webConcurrency} workers`);
  for (let index = 0; index < config.webConcurrency; index += 1) fork();
}

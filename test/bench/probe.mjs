/**
 * Loaded into every benchmarked Node server process (`node [options] --import ./test/bench/probe.mjs entry`): counts
 * the SQL statements the process sends (every query of every pg client, transactions' BEGIN/COMMIT included), watches
 * the event loop's delay, and answers the bench over the IPC channel (probe-protocol.ts). Plain JavaScript, so that
 * the built server and its peers run without a TypeScript loader. The servers themselves are unchanged: this only
 * observes them.
 */
import process from 'node:process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';

/**
 * A statement of the server's own timers, no request's: the sweep of expired login counters (src/stores/counters.ts),
 * every 5 minutes. Counted apart: within a measure it made one `me` of 5,000 look like 1.0002 statements.
 */
const BACKGROUND = /^\s*delete\s+from\s+gqlauth_login_failure\s+where\s+expire\s*</i;

let statements = 0;
let backgroundStatements = 0;
let sessionWrites = 0;
let cpuAtReset = process.cpuUsage();

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  const [first] = args;
  const text = typeof first === 'string' ? first : first?.text;
  if (typeof text === 'string' && BACKGROUND.test(text)) backgroundStatements += 1;
  else statements += 1;
  if (typeof text === 'string' && /^\s*(insert into|update|delete from) gqlauth_session\b/i.test(text)) {
    sessionWrites += 1;
  }
  return query.apply(this, args);
};

// 1 ms resolution: a blocked loop shows as a delay well above it.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

process.on('message', (message) => {
  if (message.type === 'reset') {
    statements = 0;
    backgroundStatements = 0;
    sessionWrites = 0;
    loopDelay.reset();
    cpuAtReset = process.cpuUsage();
  }
  let rssWithPooledPages;
  if (message.type === 'memory') {
    // Garbage is not a leak: collected first (the process runs with --expose-gc), so that what stays is what is kept.
    globalThis.gc?.();
    rssWithPooledPages = process.memoryUsage.rss();
    // Then a last-resort collection, as under memory pressure: V8 also gives back the heap pages it keeps for reuse
    // and shrinks its heap to what it holds. After an ordinary one it keeps them resident, up to its heap's peak: in a
    // script doing what the bench does, 952 mappings of 256 KiB (238 MiB) while V8 reported a heap of 65 MiB; in one
    // process at 100,000 requests, 391 MiB resident after an ordinary collection and 229 MiB after this one.
    globalThis.gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  }
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  const cpu = process.cpuUsage(cpuAtReset);
  process.send?.({
    id: message.id,
    statements,
    backgroundStatements,
    sessionWrites,
    cpuMicros: cpu.user + cpu.system,
    rssBytes: rss,
    rssWithPooledPagesBytes: rssWithPooledPages,
    heapUsedBytes: heapUsed,
    heapTotalBytes: heapTotal,
    externalBytes: external,
    loopDelayMs: {
      p50: loopDelay.percentile(50) / 1e6,
      p99: loopDelay.percentile(99) / 1e6,
      max: loopDelay.max / 1e6,
    },
  });
});

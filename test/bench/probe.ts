/**
 * Loaded into a benchmarked server process (`node [npm start's options] --import tsx --import
 * ./test/bench/probe.ts src/main.ts`): counts the SQL statements the process sends (every query of every pg client,
 * transactions' BEGIN/COMMIT included), watches the event loop's delay, and answers the bench over the IPC channel.
 * The server itself is unchanged: this only observes it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import type { ProbeReply, ProbeRequest } from './probe-protocol.js';

let statements = 0;
let sessionWrites = 0;
let cpuAtReset = process.cpuUsage();

// eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the client as `this`
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function countedQuery(this: pg.Client, ...args: unknown[]) {
  statements += 1;
  const [first] = args;
  const text = typeof first === 'string' ? first : (first as { text?: unknown } | undefined)?.text;
  if (typeof text === 'string' && /^\s*(insert into|update|delete from) gqlauth_session\b/i.test(text)) {
    sessionWrites += 1;
  }
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;

// 1 ms resolution: a blocked loop shows as a delay well above it.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', (message: ProbeRequest) => {
  if (message.type === 'reset') {
    statements = 0;
    sessionWrites = 0;
    loopDelay.reset();
    cpuAtReset = process.cpuUsage();
  }
  // Garbage is not a leak: collected first (the process runs with --expose-gc), so that what stays is what is kept.
  if (message.type === 'memory') gc?.();
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  const cpu = process.cpuUsage(cpuAtReset);
  const reply: ProbeReply = {
    id: message.id,
    statements,
    sessionWrites,
    cpuMicros: cpu.user + cpu.system,
    rssBytes: rss,
    heapUsedBytes: heapUsed,
    heapTotalBytes: heapTotal,
    externalBytes: external,
    loopDelayMs: {
      p50: loopDelay.percentile(50) / 1e6,
      p99: loopDelay.percentile(99) / 1e6,
      max: loopDelay.max / 1e6,
    },
  };
  process.send?.(reply);
});

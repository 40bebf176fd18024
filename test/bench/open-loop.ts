/**
 * Requests at a constant rate, evenly spaced (one every 1000/rate ms) whatever the server's answers do: an open
 * loop, as independent users arrive. For the bench's fixed-rate runs, where autocannon's rate limit does not fit:
 * it lets each connection send its whole quota for the second at the top of every second (a burst of `rate`
 * requests, then silence), and corrects for coordinated omission as if requests were due every millisecond, so its
 * latencies at a fixed rate describe its own bursts more than the server.
 *
 * Each latency runs from when the request was due, not from when a connection was free to send it: a server that
 * stalls is charged for every request that waited behind the stall (no coordinated omission). The generator's own
 * delays (its timers, its garbage collection, the other load it runs) are charged too: the figures are an upper
 * bound.
 */
import http from 'node:http';

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** The most requests in flight at once (sockets); a request due while all are busy waits, and that counts. */
  connections: number;
  headers: Record<string, string>;
  body: string;
  /** A cookie per request, round robin. */
  cookies: readonly string[];
  check: (body: string) => boolean;
  /** The body and headers of request `index`, when they differ from request to request. */
  vary?: (index: number) => { body: string; headers: Record<string, string> };
}

export interface OpenLoopResult {
  /** Each request's latency in milliseconds, from when it was due; sorted. */
  latencies: number[];
  seconds: number;
}

/** The nearest-rank percentile of sorted values (`quantile` 0.5 for the median, 1 for the largest). */
export function percentile(sorted: readonly number[], quantile: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1))] ?? 0;
}

/** Longer than this, an answer is a failure: a hung server must end the bench, not hold it forever. */
const TIMEOUT_MS = 30_000;

export async function openLoop(url: string, options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { rate, seconds, connections, headers, cookies, check, vary } = options;
  // Sockets taken in turn (FIFO), not the last one freed first: with LIFO a quiet server's answers all came back on
  // one socket, the others idled past the server's keep-alive timeout, and a request sent on one just as the server
  // closed it failed with ECONNRESET (seen once in a full run): a race of the harness, not an answer of the server.
  // And with a timeout, the agent heeds the server's `Keep-Alive: timeout=5` and drops an idle socket a second before
  // the server would (without one it ignores the hint).
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, scheduling: 'fifo', timeout: TIMEOUT_MS });
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const failures: string[] = [];
  const start = performance.now() + 10;
  const send = (index: number, due: number) =>
    new Promise<void>((resolve) => {
      let settled = false;
      const settle = (failure?: string) => {
        if (settled) return;
        settled = true;
        if (failure === undefined) latencies.push(performance.now() - due);
        else failures.push(failure);
        resolve();
      };
      const varied = vary?.(index);
      const body = varied?.body ?? options.body;
      const request = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            ...headers,
            ...varied?.headers,
            'content-length': String(Buffer.byteLength(body)),
            cookie: cookies[index % cookies.length] ?? '',
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const good = response.statusCode === 200 && check(text);
            settle(good ? undefined : `${String(response.statusCode)}: ${text.slice(0, 300)}`);
          });
          // A connection cut in the middle of an answer ends neither in 'end' nor in an 'error' of the request.
          response.on('close', () => {
            settle('the connection closed before the answer was complete');
          });
        },
      );
      request.setTimeout(TIMEOUT_MS, () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      request.on('error', (error) => {
        settle(error.message);
      });
      request.end(body);
    });
  const sent: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    let index = 0;
    // One timer at a time, each set for the next request due: no drift, and a late timer sends all that is due.
    const tick = () => {
      const now = performance.now();
      while (index < total && start + index * interval <= now) {
        sent.push(send(index, start + index * interval));
        index += 1;
      }
      if (index >= total) resolve();
      else setTimeout(tick, Math.max(0, start + index * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  await Promise.all(sent);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  if (failures.length > 0) throw new Error(`${failures.length} failed requests at a fixed rate: ${failures[0]}`);
  latencies.sort((a, b) => a - b);
  return { latencies, seconds: elapsed };
}

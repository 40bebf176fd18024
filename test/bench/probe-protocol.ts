/** What the bench asks a probed server process (probe.ts) over IPC, and what it answers. */
export interface ProbeRequest {
  id: number;
  /**
   * reset: zero the counters and the delay histogram; read: report them; memory: collect garbage (as under memory
   * pressure: V8 also gives back the pages it pooled), then report.
   */
  type: 'reset' | 'read' | 'memory';
}

export interface ProbeReply {
  id: number;
  /** SQL statements sent since the last reset, but for those of the server's own timers. */
  statements: number;
  /** Those of the server's own timers (the login counters' sweep), no request's. */
  backgroundStatements: number;
  /** Of those, the ones that wrote the session table (INSERT, UPDATE or DELETE). */
  sessionWrites: number;
  /** CPU time the process used since the last reset (user + system, all its threads), in microseconds. */
  cpuMicros: number;
  /** Resident size; after `memory`, once V8 has given back the heap pages it pools for reuse. */
  rssBytes: number;
  /** After `memory`: the resident size after an ordinary full collection, V8's pooled pages included (its peak). */
  rssWithPooledPagesBytes?: number;
  heapUsedBytes: number;
  /** What V8 has reserved for the heap (used or not): RSS grows with it without anything being kept. */
  heapTotalBytes: number;
  /** Memory outside the JS heap that JS objects hold (Buffers among it). */
  externalBytes: number;
  /** The event loop's delay since the last reset (a loop blocked by hashing would show here). */
  loopDelayMs: { p50: number; p99: number; max: number };
}

/**
 * Guessing access tokens, held back as guessing passwords is: each bearer token that is no token (malformed, never
 * issued, revoked, a wrong secret) counts against the client's address, and LOCKOUT_LIMIT of them within
 * LOCKOUT_COOLOFF refuse that address's bearer requests for LOCKOUT_COOLOFF, before any lookup.
 *
 * The count is never kept in PostgreSQL, unlike the lockout's with the PostgreSQL session store: a bad token must
 * cost no database write (a flood of them would otherwise be a flood of writes). It is kept in Redis where the
 * lockout's counters are (every process sees it), else in this process's memory (each process of a cluster counts
 * apart: WEB_CONCURRENCY times the limit at most). A token's secret has 190 bits: the limit does not make guessing
 * hopeless, it already is; it keeps a flood of made-up tokens from costing a lookup each.
 */
import crypto from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { addressKey } from './lockout.js';

/** Failed bearer tokens per client address: LOCKOUT_LIMIT per LOCKOUT_COOLOFF. */
export class BearerGuard {
  private readonly limiter: RateLimiterAbstract | undefined;
  private readonly keys = new LRUCache<string, string>({ max: 10_000 });

  /** `counter`: LOCKOUT_LIMIT points per LOCKOUT_COOLOFF (src/stores/counters.ts); `limit` 0: no limit. */
  constructor(
    private readonly limit: number,
    private readonly cooloffSeconds: number,
    private readonly keySecret: string,
    counter: RateLimiterAbstract | undefined,
  ) {
    this.limiter = limit <= 0 ? undefined : counter;
  }

  /** 0 while the address may present tokens; otherwise the seconds it must wait. */
  async refusedFor(ip: string): Promise<number> {
    const counted = this.limiter && (await this.limiter.get(this.key(ip)));
    return counted && counted.consumedPoints >= this.limit ? Math.max(1, Math.ceil(counted.msBeforeNext / 1000)) : 0;
  }

  /** One more failure for the address; the one that reaches the limit locks it for the whole cool-off. */
  async failed(ip: string): Promise<void> {
    if (!this.limiter) return;
    const key = this.key(ip);
    const counted = await this.limiter.penalty(key, 1);
    if (counted.consumedPoints >= this.limit) await this.limiter.block(key, this.cooloffSeconds);
  }

  /**
   * Named by an HMAC, as the lockout's counters are: a shared store holds no address. Each address's name is kept
   * (bounded): every bearer request asks for it, and the HMAC costs more than the lookup.
   */
  private key(ip: string): string {
    let key = this.keys.get(ip);
    if (key === undefined) {
      key = crypto
        .createHmac('sha256', this.keySecret)
        .update(`bearer:${addressKey(ip)}`)
        .digest('hex');
      this.keys.set(ip, key);
    }
    return key;
  }
}

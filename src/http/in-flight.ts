/**
 * The requests whose handlers are still running, whether or not their client is still there. The HTTP drain waits
 * for open connections only: a client that gave up (a load balancer's timeout, a closed tab, a killed script)
 * leaves behind a handler that may still be reading and writing the database, a login waiting for its turn to hash
 * for instance. Shutdown waits for those too before it closes the session store and the database under them.
 */
import type { ServerResponse } from 'node:http';

export class InFlightRequests {
  private running = 0;
  private readonly waiting = new Set<() => void>();

  /** How many handlers are running now. */
  get size(): number {
    return this.running;
  }

  /**
   * Counts the request until its handler ends the response. Called first, before any middleware wraps `res.end`:
   * express-session's wrapper saves the session before it calls this one, so a save is part of the request.
   */
  track(res: ServerResponse): void {
    this.running += 1;
    let ended = false;
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<typeof end>) => {
      if (!ended) {
        ended = true;
        this.running -= 1;
        if (this.running === 0) for (const wake of this.waiting) wake();
      }
      return end(...args);
    }) as typeof res.end;
  }

  /** Resolves true once no handler runs, or false after `timeoutMs` with some still running. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiting.delete(wake);
        resolve(false);
      }, timeoutMs);
      this.waiting.add(wake);
    });
  }
}

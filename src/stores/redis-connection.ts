/**
 * The one connection to Redis (SESSION_STORE=redis), through node-redis, shared by the session store and the lockout
 * counters: one connection to heal after an outage or a half-open socket, and every command bounded in time.
 *
 * While Redis is unreachable, every call fails at once (the request answers SERVICE_UNAVAILABLE) and the client
 * reconnects by itself; at start-up, an unreachable Redis stops the server before it listens.
 */
import { createClient } from 'redis';
import { outsideRequest, type Logger } from '../logger.js';
import { explainSocketError, firstLineOf } from '../db/socket-errors.js';
import { StartupError } from '../startup-error.js';

/** Longest wait for Redis at start-up: the TCP connection, then its first answers. */
const CONNECT_TIMEOUT_MS = 5000;
/** Longest wait for one command: a Redis that stopped answering must not hold requests open. */
const COMMAND_TIMEOUT_MS = 3000;
/** Longest wait for /readyz's PING. */
const PING_TIMEOUT_MS = 2000;
/** Longest pause between two reconnection attempts while Redis is away. */
const MAX_RECONNECT_DELAY_MS = 2000;

export interface RedisOptions {
  /** redis:// or rediss:// (REDIS_URL). */
  readonly url: string;
  /** Prepended to every key (REDIS_KEY_PREFIX). */
  readonly keyPrefix: string;
}

/** Redis could not be reached at start-up. Its message is one line meant for an operator. */
export class RedisUnreachableError extends StartupError {
  constructor(
    readonly location: string,
    readonly reason: string,
  ) {
    super(`cannot reach Redis at ${location} (REDIS_URL): ${reason}`);
    this.name = 'RedisUnreachableError';
  }
}

/** A call made while the connection to Redis is down. */
export class RedisOfflineError extends Error {
  constructor() {
    super('Redis is not connected (reconnecting)');
    this.name = 'RedisOfflineError';
  }
}

export class RedisConnection {
  private current: ReturnType<RedisConnection['newClient']>;
  /** Whether a new connection is being opened to replace one that stopped answering. */
  private replacing = false;
  /** Set once the first connection is up: from then on a lost connection is retried, never given up. */
  private connectedOnce = false;
  /** Whether an outage has been logged and its end not yet. */
  private down = false;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly options: RedisOptions,
    private readonly logger: Logger,
  ) {
    this.current = this.newClient();
  }

  /**
   * The connection as it is now (a half-open one is replaced, see replaceClient): for building commands and
   * SCANs. Send each command through `call`.
   */
  get client(): RedisConnection['current'] {
    return this.current;
  }

  /** A client with this connection's options and listeners (also used to replace one that stopped answering). */
  private newClient() {
    const client = createClient({
      url: this.options.url,
      // While Redis is away, commands fail at once (SERVICE_UNAVAILABLE, no cookie) instead of waiting in a queue
      // until it returns, holding every request open.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        // At start-up the first failure is final: the server must not listen without its session store. Once
        // connected, a lost connection is retried forever (backing off to 2 s), so the server heals by itself.
        reconnectStrategy: (retries, cause) =>
          this.connectedOnce ? Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS) : cause,
      },
    });
    // Always listened to: an 'error' event without a listener is thrown, and would crash the whole process.
    client.on('error', (error: unknown) => {
      // Start-up failures are reported by `open`, as one line; only an outage of a running server is logged here.
      if (!this.connectedOnce || this.down) return;
      this.down = true;
      this.logger.error({ err: error }, 'the Redis session store is unreachable: reconnecting');
    });
    client.on('ready', () => {
      this.connectedOnce = true;
      if (!this.down) return;
      this.down = false;
      this.logger.info('the Redis session store is reachable again');
    });
    return client;
  }

  /**
   * Redis did not answer on a connection node-redis still believes open (a half-open connection: a firewall or NAT
   * that forgot it). node-redis would wait for the kernel to notice, which takes minutes: open a new connection now.
   */
  private replaceClient(): void {
    if (this.replacing || this.closed) return;
    this.replacing = true;
    this.logger.error('the Redis session store did not answer in time: opening a new connection');
    const stale = this.current;
    // The connection serves every later request: its events are no request's (outsideRequest).
    outsideRequest(() => {
      this.current = this.newClient();
      stale.destroy();
      this.client
        .connect()
        .catch(() => undefined) // reported by the 'error' listener; reconnection goes on by itself
        .finally(() => {
          this.replacing = false;
        });
    });
  }

  /** Prepended to every key (REDIS_KEY_PREFIX): the sessions' and the counters' alike. */
  get keyPrefix(): string {
    return this.options.keyPrefix;
  }

  async open(): Promise<void> {
    this.logger.debug({ redis: describeRedisUrl(this.options.url) }, 'connecting to Redis');
    try {
      await withTimeout(this.client.connect(), CONNECT_TIMEOUT_MS, `no answer within ${CONNECT_TIMEOUT_MS} ms`);
    } catch (error) {
      this.client.destroy();
      throw new RedisUnreachableError(describeRedisUrl(this.options.url), explainRedisError(error));
    }
  }

  async ping(): Promise<boolean> {
    if (!this.client.isReady) return false;
    try {
      await withTimeout(this.client.ping(), PING_TIMEOUT_MS, 'PING timed out');
      return true;
    } catch (error) {
      if (error instanceof CommandTimeoutError) this.replaceClient();
      return false;
    }
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      if (!this.client.isOpen) return;
      try {
        // The HTTP server has drained: nothing should be pending, but what is gets its answer.
        await withTimeout(this.client.close(), COMMAND_TIMEOUT_MS, 'close timed out');
      } catch {
        this.client.destroy();
      }
    })();
    return this.closed;
  }

  /**
   * The connection for code that sends its own commands (the lockout counters, through rate-limiter-flexible):
   * always the current connection, and every command, MULTI included, goes through `call`: refused at once while
   * offline, bounded in time.
   */
  sharedClient(): RedisConnection['current'] {
    const bounded = <T extends object>(target: () => T): T =>
      new Proxy({} as T, {
        get: (_shell, property) => {
          const current = target();
          const value: unknown = Reflect.get(current, property);
          if (typeof value !== 'function') return value;
          if (property === 'multi') return (...args: unknown[]) => chain(Reflect.apply(value, current, args) as object);
          // Sent only through `call`: while offline it refuses before the command exists, so no promise of
          // node-redis's is left rejected with nobody listening (that would end the process).
          return (...args: unknown[]) => this.call(() => Promise.resolve(Reflect.apply(value, current, args)));
        },
      });
    // A MULTI's builder: its commands chain (returning the builder) and only `exec` talks to Redis.
    const chain = <T extends object>(builder: T): T => {
      const proxy: T = new Proxy(builder, {
        get: (target, property) => {
          const value: unknown = Reflect.get(target, property);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (property === 'exec') return this.call(() => Reflect.apply(value, target, args) as Promise<unknown>);
            const result: unknown = Reflect.apply(value, target, args);
            return result === target ? proxy : result;
          };
        },
      });
      return proxy;
    };
    return bounded(() => this.client);
  }

  /** Runs one operation: at once an error while disconnected, and bounded in time. */
  call<T>(operation: () => Promise<T>): Promise<T> {
    // node-redis refuses single commands while offline, but queues a MULTI until its next connection attempt (up
    // to 2 s away): refuse everything here, so that no request waits on an outage.
    if (!this.client.isReady) return Promise.reject(new RedisOfflineError());
    return withTimeout(operation(), COMMAND_TIMEOUT_MS, `Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`).catch(
      (error: unknown) => {
        if (error instanceof CommandTimeoutError) this.replaceClient();
        throw error;
      },
    );
  }
}

/** Redis did not answer in time. */
class CommandTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandTimeoutError';
  }
}

/** Races `promise` against a timer; the loser's outcome is ignored (never an unhandled rejection). */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new CommandTimeoutError(message));
    }, ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** REDIS_URL as an operator may see it: its password, if any, replaced by ***. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

/** Turns a node-redis connection error into a short reason an operator can act on. */
export function explainRedisError(error: unknown): string {
  // When the reconnect strategy gives up, node-redis wraps the socket's own error.
  const cause = (error as { socketError?: unknown } | undefined)?.socketError ?? error;
  const { code, message } = (cause ?? {}) as { code?: string; message?: string };
  const network = explainSocketError(code, 'Redis');
  if (network) return network;
  const text = message ?? 'unknown error';
  if (/^(WRONGPASS|NOAUTH)/.test(text)) return 'authentication failed (check the user and password in REDIS_URL)';
  return firstLineOf(text, CONNECT_TIMEOUT_MS);
}

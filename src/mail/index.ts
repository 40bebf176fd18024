/**
 * Sending e-mail (Django's EMAIL_BACKEND): a backend interface with two backends, `console` (writes each message to
 * the log: development) and `smtp` (nodemailer, SMTP_URL). The Mailer in front of them sends in the background: a
 * request never waits for a mail server, so how long `requestPasswordReset` takes does not tell whether the address
 * has an account. `close()` waits for what is still being sent.
 */
import crypto from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { MailConfig } from '../config/index.js';
import type { Logger } from '../logger.js';

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export interface MailBackend {
  send(message: MailMessage & { readonly from: string }): Promise<void>;
  close(): Promise<void>;
}

/** Writes each message to the log, whole (link included): for development, never for production. */
export class ConsoleMailBackend implements MailBackend {
  constructor(private readonly logger: Logger) {}

  send(message: MailMessage & { readonly from: string }): Promise<void> {
    this.logger.info({ mail: message }, `e-mail to ${message.to}: ${message.subject} (console mail backend)`);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Bounds on every SMTP exchange, so that a mail server that hangs cannot hold a send (or a shutdown) forever. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/**
 * Sends through an SMTP server. `smtp://` upgrades with STARTTLS when the server offers it; `smtps://` speaks TLS
 * from the first byte (port 465). User and password come from the URL, percent-decoded.
 */
export class SmtpMailBackend implements MailBackend {
  private readonly transport: Transporter;

  constructor(url: string) {
    const parsed = new URL(url);
    const secure = parsed.protocol === 'smtps:';
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    this.transport = nodemailer.createTransport({
      host,
      port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
      secure,
      // Reset links are bearer tokens and the URL may carry a password: over the network, STARTTLS is required,
      // so that an attacker cannot strip it and read both. A relay on this very host is the one exception.
      requireTLS: !secure && !LOOPBACK.has(host),
      // A few connections, reused: a burst of messages does not open one connection each.
      pool: true,
      maxConnections: 3,
      ...(parsed.username
        ? { auth: { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } }
        : {}),
      ...SMTP_TIMEOUTS,
    });
  }

  async send(message: MailMessage & { readonly from: string }): Promise<void> {
    await this.transport.sendMail(message);
  }

  close(): Promise<void> {
    this.transport.close();
    return Promise.resolve();
  }
}

/** The most a task given to `later` waits, in milliseconds (each waits a random time below it). */
const LATER_MS = 400;
/** Tasks waiting at most: past this, more are dropped (and logged) rather than held in memory. */
const MAX_WAITING = 10_000;

export class Mailer {
  private readonly pending = new Set<Promise<void>>();
  private readonly waiting = new Map<NodeJS.Timeout, { task: () => Promise<void>; about: Record<string, unknown> }>();

  constructor(
    private readonly backend: MailBackend,
    private readonly from: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Queues a message and returns at once. A failure is logged (with what the message was about, not its text:
   * it may hold a reset link); the caller is not told, as the client must not be either.
   */
  send(message: MailMessage, about: Record<string, unknown> = {}): void {
    this.defer(() => this.backend.send({ ...message, from: this.from }), { subject: message.subject, ...about });
  }

  /**
   * Runs `task` in the background, tracked like a message (close() waits for it); a failure is logged with `about`.
   * For work whose duration must not show in a response, such as finding whom to e-mail.
   */
  defer(task: () => Promise<void>, about: Record<string, unknown> = {}): void {
    const running: Promise<void> = task()
      .catch((error: unknown) => {
        this.logger.error({ err: error, ...about }, 'an e-mail could not be sent');
      })
      .finally(() => {
        this.pending.delete(running);
      });
    this.pending.add(running);
  }

  /**
   * Runs `task` in the background after a random wait (below LATER_MS), not now. Work that only some requests cause
   * (finding an account, making its link, talking to the mail server) then falls on whatever request the server is
   * answering at a moment nobody chose, never on the request that comes right after the one that caused it: a
   * client timing its requests one after the other cannot tell which of them caused work (for
   * requestPasswordReset: which addresses have an account).
   */
  later(task: () => Promise<void>, about: Record<string, unknown> = {}): void {
    if (this.waiting.size >= MAX_WAITING) {
      this.logger.warn({ ...about, waiting: this.waiting.size }, 'background work dropped: too much is waiting');
      return;
    }
    const timer = setTimeout(() => {
      this.waiting.delete(timer);
      this.defer(task, about);
    }, crypto.randomInt(LATER_MS));
    this.waiting.set(timer, { task, about });
  }

  /** Resolves when every message queued so far has been handed over (or has failed); runs what `later` holds now. */
  async flush(): Promise<void> {
    for (const [timer, { task, about }] of this.waiting) {
      clearTimeout(timer);
      this.waiting.delete(timer);
      this.defer(task, about);
    }
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Waits for queued messages, then closes the backend. */
  async close(): Promise<void> {
    await this.flush();
    await this.backend.close();
  }
}

export function createMailer(config: MailConfig, logger: Logger): Mailer {
  const backend = config.backend === 'smtp' ? new SmtpMailBackend(config.smtpUrl) : new ConsoleMailBackend(logger);
  return new Mailer(backend, config.from, logger);
}

/**
 * The server's structured logger (pino): one JSON object per line on stdout.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/index.js';

export type { Logger };

export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    // Defence in depth: these never belong in a log line, whichever object carries them.
    redact: {
      paths: ['password', '*.password', 'req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
      censor: '[redacted]',
    },
  });
}

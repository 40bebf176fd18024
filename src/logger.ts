/**
 * The server's structured logger (pino): one JSON object per line on stdout.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/index.js';

export type { Logger };

/** `destination` is stdout unless given (tests pass a stream to read the lines). */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { pid: process.pid },
    // Defence in depth: these never belong in a log line, whichever object carries them.
    redact: {
      paths: ['password', '*.password', 'newPassword', '*.newPassword', 'oldPassword', '*.oldPassword'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

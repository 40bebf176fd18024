/**
 * Log lines for a person at a terminal: pino's JSON objects turned into one readable line each,
 *
 *   14:03:07.512 INFO  GraphQL at http://127.0.0.1:4000/graphql  url=http://127.0.0.1:4000/graphql
 *
 * the time, the level, the message, then the other fields as key=value; an error's stack follows on its own lines.
 * Development on a terminal only (LOG_FORMAT): everywhere else the lines stay JSON, for machines to read.
 */
import type { DestinationStream } from 'pino';
import type { LogFormat, NodeEnv } from './config/index.js';

/** `auto`: readable in development when stdout is a terminal; JSON when piped, redirected, or in other environments. */
export function chooseLogFormat(format: LogFormat, nodeEnv: NodeEnv, stdoutIsTerminal: boolean): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return nodeEnv === 'development' && stdoutIsTerminal ? 'pretty' : 'json';
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** ANSI colours of the level names: errors red, warnings yellow, the rest dim or plain. */
const COLOURS: Record<number, string> = { 10: '2', 20: '2', 30: '32', 40: '33', 50: '31', 60: '31' };
/** Fields every line has, shown in their own places or not at all. */
const SHOWN_APART = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'err']);

function value(field: unknown): string {
  if (typeof field === 'string') return /^[^\s"]+$/.test(field) ? field : JSON.stringify(field);
  return JSON.stringify(field);
}

/** One JSON log line as a readable line (with its newline); a line that is not JSON is passed on as it is. */
export function formatLogLine(line: string, { colour = false }: { colour?: boolean } = {}): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const time = typeof entry.time === 'number' ? new Date(entry.time).toTimeString().slice(0, 8) : '';
  const millis = typeof entry.time === 'number' ? `.${String(entry.time % 1000).padStart(3, '0')}` : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !SHOWN_APART.has(key))
    .map(([key, field]) => `${key}=${value(field)}`);
  const shownLevel = colour ? `\u001b[${COLOURS[level] ?? '0'}m${name}\u001b[0m` : name;
  let text = `${time}${millis} ${shownLevel} ${typeof entry.msg === 'string' ? entry.msg : ''}`;
  if (fields.length > 0) text += `  ${fields.join(' ')}`;
  const error = entry.err as { stack?: unknown; message?: unknown } | undefined;
  if (error && typeof error === 'object') {
    const stack = typeof error.stack === 'string' ? error.stack : String(error.message);
    text += `\n    ${stack.split('\n').join('\n    ')}`;
  }
  return `${text}\n`;
}

/** A pino destination that writes readable lines to `out` (a terminal: colours on). */
export function prettyDestination(out: NodeJS.WriteStream): DestinationStream {
  const colour = out.isTTY && out.hasColors();
  return { write: (line: string) => out.write(formatLogLine(line, { colour })) };
}

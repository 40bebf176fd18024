import { describe, expect, it } from '@jest/globals';
import { chooseLogFormat, formatLogLine } from './pretty-log.js';

describe('chooseLogFormat', () => {
  it.each([
    ['auto', 'development', true, 'pretty'],
    ['auto', 'development', false, 'json'],
    ['auto', 'production', true, 'json'],
    ['auto', 'test', true, 'json'],
    ['json', 'development', true, 'json'],
    ['pretty', 'production', false, 'pretty'],
  ] as const)('LOG_FORMAT=%s, NODE_ENV=%s, terminal %s: %s', (format, nodeEnv, terminal, expected) => {
    expect(chooseLogFormat(format, nodeEnv, terminal)).toBe(expected);
  });
});

describe('formatLogLine', () => {
  const time = new Date(2026, 0, 2, 14, 3, 7, 512).getTime();

  it('writes the time, the level, the message and the other fields as key=value', () => {
    const line = JSON.stringify({ level: 30, time, pid: 7, msg: 'database ready', database: 'db:5432/app', n: 3 });
    expect(formatLogLine(line)).toBe('14:03:07.512 INFO  database ready  database=db:5432/app n=3\n');
  });

  it('quotes a value with spaces, shows objects as JSON, and colours the level only when asked', () => {
    const line = JSON.stringify({ level: 40, time, msg: 'slow', hint: 'set X', pool: { threads: 4 } });
    expect(formatLogLine(line)).toBe('14:03:07.512 WARN  slow  hint="set X" pool={"threads":4}\n');
    expect(formatLogLine(line, { colour: true })).toBe(
      '14:03:07.512 \u001b[33mWARN \u001b[0m slow  hint="set X" pool={"threads":4}\n',
    );
  });

  it("puts an error's stack on the lines after it", () => {
    const line = JSON.stringify({
      level: 50,
      time,
      msg: 'failed',
      err: { message: 'boom', stack: 'Error: boom\n    at f' },
    });
    expect(formatLogLine(line)).toBe('14:03:07.512 ERROR failed\n    Error: boom\n        at f\n');
  });

  it('passes a line that is not JSON on as it is', () => {
    expect(formatLogLine('plain text')).toBe('plain text\n');
  });
});

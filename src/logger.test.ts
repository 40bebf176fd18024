import { describe, expect, it } from '@jest/globals';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  it('redacts passwords wherever a log line carries them', () => {
    const lines: unknown[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(JSON.parse(line)) });
    logger.info({ password: 'hunter2', input: { oldPassword: 'a', newPassword: 'b', username: 'alice' } }, 'changed');
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'changed',
        password: '[redacted]',
        input: { oldPassword: '[redacted]', newPassword: '[redacted]', username: 'alice' },
      }),
    ]);
  });

  it('writes nothing below its level', () => {
    const lines: string[] = [];
    createLogger('warn', { write: (line: string) => lines.push(line) }).info('quiet');
    expect(lines).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { createLogger, currentRequestId, runWithRequestId } from './logger.js';

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

describe('request ids', () => {
  it('are on every line written while a request is served, awaited or not, and on no other line', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('info', {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    logger.info('start-up');
    let background: Promise<void> | undefined;
    await runWithRequestId('req-1', async () => {
      logger.child({ component: 'auth' }).info('inside');
      await Promise.resolve();
      background = new Promise<void>((resolve) => {
        setTimeout(() => {
          logger.warn('later, in the background');
          resolve();
        }, 5);
      });
    });
    logger.info('outside');
    await background;
    expect(lines.map(({ msg, reqId }) => ({ msg, reqId }))).toEqual([
      { msg: 'start-up', reqId: undefined },
      { msg: 'inside', reqId: 'req-1' },
      { msg: 'outside', reqId: undefined },
      { msg: 'later, in the background', reqId: 'req-1' },
    ]);
    expect(currentRequestId()).toBeUndefined();
  });
});

/** The one rule for when a session ends, used by the flow (getUser) and by every store (expiresAt). */
import { describe, expect, it } from '@jest/globals';
import { sessionEnd } from './session-expiry.js';

const MINUTE = 60_000;
const timeouts = { idleTimeoutSeconds: 30 * 60, absoluteTimeoutSeconds: 8 * 60 * 60 };
const loginAt = Date.parse('2026-11-23T08:00:00Z');

describe('sessionEnd', () => {
  it('ends an active session SESSION_ABSOLUTE_TIMEOUT after login', () => {
    const lastActivityAt = loginAt + 8 * 60 * MINUTE - 5 * MINUTE;
    expect(sessionEnd({ loginAt, lastActivityAt }, timeouts, lastActivityAt)).toEqual({
      at: loginAt + 8 * 60 * MINUTE,
      by: 'absolute',
    });
  });

  it('ends a quiet session SESSION_IDLE_TIMEOUT after its last activity', () => {
    const lastActivityAt = loginAt + 60 * MINUTE;
    expect(sessionEnd({ loginAt, lastActivityAt }, timeouts, lastActivityAt)).toEqual({
      at: lastActivityAt + 30 * MINUTE,
      by: 'idle',
    });
  });

  it('counts a missing time from now (a session written without one ends at the first timeout from now)', () => {
    expect(sessionEnd({}, timeouts, loginAt)).toEqual({ at: loginAt + 30 * MINUTE, by: 'idle' });
  });
});

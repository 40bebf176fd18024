import { describe, expect, it } from '@jest/globals';
import { decodeUid, encodeUid } from './password-reset.js';

describe('reset link uids', () => {
  // Django: urlsafe_base64_encode(force_bytes(pk)).
  it.each([
    [1, 'MQ'],
    [42, 'NDI'],
    [1234, 'MTIzNA'],
    [2_147_483_647, 'MjE0NzQ4MzY0Nw'],
  ])('encodes %i as Django does (%s) and back', (id, uid) => {
    expect(encodeUid(id)).toBe(uid);
    expect(decodeUid(uid)).toBe(id);
  });

  it.each([
    ['', 'empty'],
    ['MQ==', 'padded'],
    ['MA', 'zero'],
    ['MDE', 'a leading zero ("01")'],
    ['LTE', 'negative ("-1")'],
    ['MjE0NzQ4MzY0OA', 'past the largest integer id'],
    ['YWJj', 'not digits ("abc")'],
    ['M Q', 'not base64url'],
    ['MR', 'a second spelling of "1" (unused low bits set)'],
    ['MQ'.repeat(20), 'too long'],
  ])('refuses %j (%s)', (uid) => {
    expect(decodeUid(uid)).toBeNull();
  });
});

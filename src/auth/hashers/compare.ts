import crypto from 'node:crypto';

/**
 * Constant-time string comparison (Django's `constant_time_compare`): the time taken does not reveal how many
 * leading characters match, so a hash cannot be guessed one character at a time.
 */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  // timingSafeEqual needs equal lengths; comparing `left` with itself keeps the time the same on a mismatch.
  if (left.length !== right.length) {
    crypto.timingSafeEqual(left, left);
    return false;
  }
  return crypto.timingSafeEqual(left, right);
}

/**
 * The one source of randomness of the auth core, injectable so tests can make it predictable.
 */
import crypto from 'node:crypto';

export interface RandomSource {
  /** `size` cryptographically secure random bytes. */
  bytes(size: number): Buffer;
}

export const secureRandom: RandomSource = { bytes: (size) => crypto.randomBytes(size) };

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Django's `get_random_string`: `length` characters drawn uniformly from `alphabet`.
 * Rejection sampling keeps the draw uniform (a plain modulo would favour the first characters).
 */
export function randomString(length: number, random: RandomSource = secureRandom, alphabet = ALPHANUMERIC): string {
  const limit = 256 - (256 % alphabet.length);
  let result = '';
  while (result.length < length) {
    for (const byte of random.bytes(length - result.length + 8)) {
      if (byte >= limit) continue;
      result += alphabet.charAt(byte % alphabet.length);
      if (result.length === length) break;
    }
  }
  return result;
}

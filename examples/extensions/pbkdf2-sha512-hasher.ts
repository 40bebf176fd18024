/**
 * A password hasher: PBKDF2 with HMAC-SHA512 at OWASP's 210,000 iterations, in Django's format
 * (`pbkdf2_sha512$<iterations>$<salt>$<base64 hash>`). First in the list, it hashes new passwords; the built-ins
 * after it still verify the hashes they made, which are rewritten with this one at the next login.
 *
 *   PASSWORD_HASHERS=./examples/extensions/pbkdf2-sha512-hasher.ts,argon2,pbkdf2_sha256
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { CustomPasswordHasher } from 'graphql-auth-server';

const derive = promisify(pbkdf2);
const ITERATIONS = 210_000;
/** 32 bytes of the derived key: enough, and the whole hash fits Django's password column (128 characters). */
const KEY_LENGTH = 32;

async function hash(password: string, salt: string, iterations: number): Promise<string> {
  return (await derive(password, salt, iterations, KEY_LENGTH, 'sha512')).toString('base64');
}

const hasher: CustomPasswordHasher = {
  algorithm: 'pbkdf2_sha512',
  async encode(password) {
    const salt = randomBytes(16).toString('base64url');
    return `pbkdf2_sha512$${ITERATIONS}$${salt}$${await hash(password, salt, ITERATIONS)}`;
  },
  // Bounds the iterations a stored hash may ask for: a tampered row must not keep a worker busy for hours.
  recognizes(encoded) {
    const [algorithm, iterations, salt, digest] = encoded.split('$');
    return algorithm === 'pbkdf2_sha512' && /^\d{1,7}$/.test(iterations ?? '') && !!salt && !!digest;
  },
  async verify(password, encoded) {
    const [, iterations, salt = '', digest = ''] = encoded.split('$');
    const expected = Buffer.from(digest, 'base64');
    const actual = Buffer.from(await hash(password, salt, Number(iterations)), 'base64');
    // Constant time: how long the comparison takes must not tell how many bytes matched.
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  },
  mustUpdate: (encoded) => encoded.split('$')[1] !== String(ITERATIONS),
};

export default hasher;

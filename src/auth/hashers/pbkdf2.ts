/**
 * Django's PBKDF2PasswordHasher (`pbkdf2_sha256`) and PBKDF2SHA1PasswordHasher (`pbkdf2_sha1`):
 * `<algorithm>$<iterations>$<salt>$<base64 hash>`, the hash as long as the digest, the salt 22 alphanumerics.
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { randomString, secureRandom, type RandomSource } from '../random.js';
import { timingSafeEqualStrings } from './compare.js';
import { boundedInteger, saltTooWeak, type PasswordHasher } from './hasher.js';

const pbkdf2 = promisify(crypto.pbkdf2);

/** Django 5.2's default for pbkdf2_sha256. */
export const DJANGO_PBKDF2_ITERATIONS = 1_000_000;
/** The most iterations a stored hash may ask for: ten times Django 5.2's default, about ten seconds of work. */
const MAX_ITERATIONS = 10_000_000;

export interface Pbkdf2Options {
  digest: 'sha256' | 'sha1';
  iterations?: number;
  random?: RandomSource;
}

export class Pbkdf2Hasher implements PasswordHasher {
  readonly algorithm: string;
  readonly iterations: number;
  private readonly digest: 'sha256' | 'sha1';
  private readonly random: RandomSource;

  constructor({ digest, iterations = DJANGO_PBKDF2_ITERATIONS, random = secureRandom }: Pbkdf2Options) {
    this.algorithm = `pbkdf2_${digest}`;
    this.digest = digest;
    this.iterations = iterations;
    this.random = random;
  }

  encode(password: string): Promise<string> {
    return this.encodeWith(password, randomString(22, this.random), this.iterations);
  }

  recognizes(encoded: string): boolean {
    return this.decode(encoded) !== undefined;
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const decoded = this.decode(encoded);
    if (!decoded) return false;
    const candidate = await this.encodeWith(password, decoded.salt, decoded.iterations);
    return timingSafeEqualStrings(encoded, candidate);
  }

  mustUpdate(encoded: string): boolean {
    const decoded = this.decode(encoded);
    return !decoded || decoded.iterations !== this.iterations || saltTooWeak(decoded.salt.length);
  }

  async hardenRuntime(password: string, encoded: string): Promise<void> {
    const decoded = this.decode(encoded);
    if (!decoded) return;
    const extra = this.iterations - decoded.iterations;
    if (extra > 0) await this.encodeWith(password, decoded.salt, extra);
  }

  private async encodeWith(password: string, salt: string, iterations: number): Promise<string> {
    const size = this.digest === 'sha256' ? 32 : 20;
    const hash = await pbkdf2(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), iterations, size, this.digest);
    return `${this.algorithm}$${iterations}$${salt}$${hash.toString('base64')}`;
  }

  private decode(encoded: string): { iterations: number; salt: string } | undefined {
    const [algorithm, iterationsText, salt, hash, ...rest] = encoded.split('$');
    const iterations = boundedInteger(iterationsText, 1, MAX_ITERATIONS);
    if (algorithm !== this.algorithm || iterations === undefined || !salt || !hash || rest.length > 0) return undefined;
    return { iterations, salt };
  }
}

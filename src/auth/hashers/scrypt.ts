/**
 * Django's ScryptPasswordHasher (Django 4.0+): `scrypt$<N>$<salt>$<r>$<p>$<base64 of 64 bytes>`.
 */
import crypto from 'node:crypto';
import { randomString, secureRandom, type RandomSource } from '../random.js';
import { timingSafeEqualStrings } from './compare.js';
import { boundedInteger, type PasswordHasher } from './hasher.js';

export interface ScryptOptions {
  workFactor?: number;
  blockSize?: number;
  parallelism?: number;
  random?: RandomSource;
}

/**
 * Memory scrypt may use: 128·N·r bytes. Above Node's default ceiling (32 MiB) so that larger valid parameters work,
 * and fixed, so that a tampered stored hash cannot ask for gigabytes.
 */
const MAX_MEMORY = 256 * 1024 * 1024;
const MAX_PARALLELISM = 16;

function scrypt(password: string, salt: string, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = MAX_MEMORY + 1024 * 1024;
    crypto.scrypt(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), 64, { N, r, p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

export class ScryptHasher implements PasswordHasher {
  readonly algorithm = 'scrypt';
  readonly workFactor: number;
  readonly blockSize: number;
  readonly parallelism: number;
  private readonly random: RandomSource;

  /** Defaults are Django 5's: N=2^14, r=8, p=5. */
  constructor({ workFactor = 2 ** 14, blockSize = 8, parallelism = 5, random = secureRandom }: ScryptOptions = {}) {
    this.workFactor = workFactor;
    this.blockSize = blockSize;
    this.parallelism = parallelism;
    this.random = random;
  }

  encode(password: string): Promise<string> {
    return this.encodeWith(password, randomString(22, this.random), this.workFactor, this.blockSize, this.parallelism);
  }

  recognizes(encoded: string): boolean {
    return this.decode(encoded) !== undefined;
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const decoded = this.decode(encoded);
    if (!decoded) return false;
    try {
      const candidate = await this.encodeWith(password, decoded.salt, decoded.N, decoded.r, decoded.p);
      return timingSafeEqualStrings(encoded, candidate);
    } catch {
      return false; // parameters the platform refuses, from a tampered hash
    }
  }

  mustUpdate(encoded: string): boolean {
    const decoded = this.decode(encoded);
    return !decoded || decoded.N !== this.workFactor || decoded.r !== this.blockSize || decoded.p !== this.parallelism;
  }

  /** As Django: scrypt's runtime is too complicated for a sensible hardening, so none. */
  hardenRuntime(): Promise<void> {
    return Promise.resolve();
  }

  private async encodeWith(password: string, salt: string, N: number, r: number, p: number): Promise<string> {
    const hash = await scrypt(password, salt, N, r, p);
    return `${this.algorithm}$${N}$${salt}$${r}$${p}$${hash.toString('base64')}`;
  }

  private decode(encoded: string): { N: number; salt: string; r: number; p: number } | undefined {
    const [algorithm, nText, salt, rText, pText, hash, ...rest] = encoded.split('$');
    const N = boundedInteger(nText, 2, 2 ** 24);
    const r = boundedInteger(rText, 1, 64);
    const p = boundedInteger(pText, 1, MAX_PARALLELISM);
    if (algorithm !== this.algorithm || !salt || !hash || rest.length > 0) return undefined;
    if (N === undefined || r === undefined || p === undefined) return undefined;
    // N must be a power of two, and the memory the parameters need within bounds.
    if ((N & (N - 1)) !== 0 || 128 * N * r > MAX_MEMORY) return undefined;
    return { N, salt, r, p };
  }
}

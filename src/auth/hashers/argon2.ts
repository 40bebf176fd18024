/**
 * Django's Argon2PasswordHasher: `argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`, which is
 * `argon2` followed by the standard PHC string. Verifies every variant Django has written (argon2i before Django
 * 2.1, argon2id since), with any parameters; new hashes are argon2id.
 */
import argon2 from 'argon2';
import { randomString, secureRandom, type RandomSource } from '../random.js';
import { boundedInteger, saltTooWeak, type PasswordHasher } from './hasher.js';

export interface Argon2Options {
  /** KiB of memory. OWASP's minimum for argon2id is 19 MiB (19456) with t=2, p=1. */
  memoryCost?: number;
  timeCost?: number;
  parallelism?: number;
  random?: RandomSource;
}

/** OWASP Password Storage Cheat Sheet's minimum configuration for argon2id. */
export const OWASP_ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

interface Argon2Params {
  variant: string;
  version: number;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  saltLength: number;
  hashLength: number;
}

/** Django's argon2 hash length. */
const HASH_LENGTH = 32;
/** Bounds on what a stored hash may ask for: 1 GiB of memory, 16 passes, 64 lanes. */
const MAX_MEMORY_KIB = 1_048_576;
const MAX_TIME_COST = 16;
const MAX_PARALLELISM = 64;

/** Bytes in an unpadded base64 string. */
const base64Bytes = (text: string) => Math.floor((text.length * 3) / 4);

const PHC = /^\$(argon2id|argon2i|argon2d)\$v=(16|19)\$([a-z]=\d+(?:,[a-z]=\d+)*)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export class Argon2Hasher implements PasswordHasher {
  readonly algorithm = 'argon2';
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
  private readonly random: RandomSource;

  constructor({
    memoryCost = OWASP_ARGON2.memoryCost,
    timeCost = OWASP_ARGON2.timeCost,
    parallelism = OWASP_ARGON2.parallelism,
    random = secureRandom,
  }: Argon2Options = {}) {
    this.memoryCost = memoryCost;
    this.timeCost = timeCost;
    this.parallelism = parallelism;
    this.random = random;
  }

  async encode(password: string): Promise<string> {
    const phc = await argon2.hash(password, {
      type: argon2.argon2id,
      memoryCost: this.memoryCost,
      timeCost: this.timeCost,
      parallelism: this.parallelism,
      hashLength: HASH_LENGTH,
      // Django salts argon2 with 22 alphanumerics (get_random_string); so do we, for identical hashes.
      salt: Buffer.from(randomString(22, this.random), 'ascii'),
    });
    // Django (argon2-cffi, through the C reference decoder) reads parameters only in the order m, t, p;
    // node-argon2 writes m, p, t. Rewrite them so Django can verify what we store.
    const [, variant, version, , salt, hash] = phc.split('$');
    return `${this.algorithm}$${variant}$${version}$m=${this.memoryCost},t=${this.timeCost},p=${this.parallelism}$${salt}$${hash}`;
  }

  recognizes(encoded: string): boolean {
    return this.decode(encoded) !== undefined;
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    if (!this.decode(encoded)) return false;
    try {
      // argon2's own comparison of the digests is constant-time.
      return await argon2.verify(encoded.slice(this.algorithm.length), password);
    } catch {
      return false; // a tampered or truncated hash
    }
  }

  mustUpdate(encoded: string): boolean {
    const params = this.decode(encoded);
    return (
      !params ||
      params.variant !== 'argon2id' ||
      params.version !== 19 ||
      params.memoryCost !== this.memoryCost ||
      params.timeCost !== this.timeCost ||
      params.parallelism !== this.parallelism ||
      params.hashLength !== HASH_LENGTH ||
      saltTooWeak(params.saltLength)
    );
  }

  /**
   * Django leaves argon2 unhardened. We approximate: argon2's cost grows with memory × passes, so a hash made with
   * less of both is followed by one more run that makes up the difference in passes at the current memory.
   */
  async hardenRuntime(password: string, encoded: string): Promise<void> {
    const params = this.decode(encoded);
    if (!params) return;
    const missing = this.memoryCost * this.timeCost - params.memoryCost * params.timeCost;
    const passes = Math.round(missing / this.memoryCost);
    if (passes < 1) return;
    await argon2.hash(password, {
      type: argon2.argon2id,
      memoryCost: this.memoryCost,
      timeCost: passes,
      parallelism: this.parallelism,
    });
  }

  private decode(encoded: string): Argon2Params | undefined {
    if (!encoded.startsWith(`${this.algorithm}$`)) return undefined;
    const match = PHC.exec(encoded.slice(this.algorithm.length));
    if (!match) return undefined;
    const [, variant = '', version, list = '', salt = '', hash = ''] = match;
    // Any order: Django writes m,t,p; node-argon2 and others write m,p,t.
    const params = new Map(list.split(',').map((pair) => [pair[0], pair.slice(2)] as const));
    const memoryCost = boundedInteger(params.get('m'), 8, MAX_MEMORY_KIB);
    const timeCost = boundedInteger(params.get('t'), 1, MAX_TIME_COST);
    const parallelism = boundedInteger(params.get('p'), 1, MAX_PARALLELISM);
    if (memoryCost === undefined || timeCost === undefined || parallelism === undefined) return undefined;
    return {
      variant,
      version: Number(version),
      memoryCost,
      timeCost,
      parallelism,
      saltLength: base64Bytes(salt),
      hashLength: base64Bytes(hash),
    };
  }
}

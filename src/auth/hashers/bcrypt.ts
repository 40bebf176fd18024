/**
 * Django's BCryptSHA256PasswordHasher (`bcrypt_sha256$$2b$12$...`) and BCryptPasswordHasher (`bcrypt$$2b$...`).
 * bcrypt_sha256 first hashes the password with SHA-256 (hex), so passwords longer than bcrypt's 72 bytes are not
 * truncated (Django #20138); plain bcrypt truncates, as Django's does.
 */
import crypto from 'node:crypto';
import bcrypt from 'bcrypt';
import { timingSafeEqualStrings } from './compare.js';
import type { PasswordHasher } from './hasher.js';

export interface BcryptOptions {
  /** Pre-hash with SHA-256 (`bcrypt_sha256`, recommended) or not (`bcrypt`). */
  sha256: boolean;
  /** log2 of the work factor; Django's default is 12. */
  rounds?: number;
}

/**
 * $2a$ and $2b$ (Django's bcrypt library writes these) and $2y$ (PHP's name for $2b$). Not $2x$, PHP's marker for
 * hashes made by a buggy implementation. Cost 4 to 20: a stored cost of 31 would take days to check.
 */
const BCRYPT = /^\$(2[aby])\$(0[4-9]|1\d|20)\$[./A-Za-z0-9]{53}$/;

export class BcryptHasher implements PasswordHasher {
  readonly algorithm: string;
  readonly rounds: number;
  private readonly sha256: boolean;

  constructor({ sha256, rounds = 12 }: BcryptOptions) {
    this.algorithm = sha256 ? 'bcrypt_sha256' : 'bcrypt';
    this.sha256 = sha256;
    this.rounds = rounds;
  }

  async encode(password: string): Promise<string> {
    return this.encodeWith(password, await bcrypt.genSalt(this.rounds, 'b'));
  }

  recognizes(encoded: string): boolean {
    return this.data(encoded) !== undefined;
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const data = this.data(encoded);
    if (!data) return false;
    try {
      const candidate = await this.encodeWith(password, data.slice(0, 29));
      return timingSafeEqualStrings(encoded.slice(-53), candidate.slice(-53));
    } catch {
      return false;
    }
  }

  mustUpdate(encoded: string): boolean {
    const data = this.data(encoded);
    return !data || Number(data.slice(4, 6)) !== this.rounds;
  }

  /** As Django: each round less halves the cost, so run the old cost again until the current one is reached. */
  async hardenRuntime(password: string, encoded: string): Promise<void> {
    const data = this.data(encoded);
    if (!data) return;
    const rounds = Number(data.slice(4, 6));
    for (let extra = 2 ** (this.rounds - rounds) - 1; extra > 0; extra--) {
      await this.encodeWith(password, data.slice(0, 29)).catch(() => undefined);
    }
  }

  private async encodeWith(password: string, salt: string): Promise<string> {
    const secret = this.sha256 ? crypto.createHash('sha256').update(password, 'utf8').digest('hex') : password;
    // $2y$ is the same algorithm as $2b$; node's bcrypt knows it only by the second name.
    return `${this.algorithm}$${await bcrypt.hash(secret, salt.replace(/^\$2y\$/, '$2b$'))}`;
  }

  /** The bcrypt string after `<algorithm>$`, when well-formed. */
  private data(encoded: string): string | undefined {
    if (!encoded.startsWith(`${this.algorithm}$`)) return undefined;
    const data = encoded.slice(this.algorithm.length + 1);
    return BCRYPT.test(data) ? data : undefined;
  }
}

import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../config/index.js';
import { createPasswordHashers } from './from-config.js';

const hashersFor = (env: Record<string, string>) => createPasswordHashers(loadConfig(env).passwords);

describe('createPasswordHashers', () => {
  it('keeps PASSWORD_HASHERS order: the first encodes, all verify', async () => {
    const hashers = hashersFor({ PASSWORD_HASHERS: 'pbkdf2_sha256,argon2', PBKDF2_ITERATIONS: '1000' });
    expect(hashers.hashers.map((hasher) => hasher.algorithm)).toEqual(['pbkdf2_sha256', 'argon2']);
    expect(await hashers.make('pw')).toMatch(/^pbkdf2_sha256\$1000\$/);
    const argon = await hashersFor({ ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' }).make('pw');
    expect(await hashers.verify('pw', argon)).toEqual({ valid: true, mustUpdate: true });
  });

  it('hashes with the configured argon2 parameters by default', async () => {
    const hashers = hashersFor({ ARGON2_MEMORY_KIB: '2048', ARGON2_TIME_COST: '3', ARGON2_PARALLELISM: '2' });
    expect(await hashers.make('pw')).toMatch(/^argon2\$argon2id\$v=19\$m=2048,t=3,p=2\$/);
  });

  it("defaults to argon2id at OWASP's minimum, then every other Django hasher for verifying", () => {
    const hashers = hashersFor({});
    expect(hashers.hashers.map((hasher) => hasher.algorithm)).toEqual([
      'argon2',
      'pbkdf2_sha256',
      'pbkdf2_sha1',
      'bcrypt_sha256',
      'bcrypt',
      'scrypt',
    ]);
    expect(hashers.preferred).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  });

  it('cannot verify what no configured hasher reads', async () => {
    const bcrypt = await hashersFor({ PASSWORD_HASHERS: 'bcrypt', BCRYPT_ROUNDS: '4' }).make('pw');
    expect(await hashersFor({ PASSWORD_HASHERS: 'argon2' }).verify('pw', bcrypt)).toEqual({
      valid: false,
      mustUpdate: false,
    });
  });
});

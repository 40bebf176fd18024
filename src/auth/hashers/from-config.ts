import type { PasswordSettings } from '../../config/index.js';
import { secureRandom, type RandomSource } from '../random.js';
import { Argon2Hasher } from './argon2.js';
import { BcryptHasher } from './bcrypt.js';
import type { PasswordHasher } from './hasher.js';
import { PasswordHashers } from './index.js';
import { Pbkdf2Hasher } from './pbkdf2.js';
import { ScryptHasher } from './scrypt.js';

/** The hashers PASSWORD_HASHERS names, in its order, with their configured parameters. */
export function createPasswordHashers(config: PasswordSettings, random: RandomSource = secureRandom): PasswordHashers {
  const make: Record<PasswordSettings['hashers'][number], () => PasswordHasher> = {
    argon2: () => new Argon2Hasher({ ...config.argon2, random }),
    pbkdf2_sha256: () => new Pbkdf2Hasher({ digest: 'sha256', iterations: config.pbkdf2Iterations, random }),
    pbkdf2_sha1: () => new Pbkdf2Hasher({ digest: 'sha1', iterations: config.pbkdf2Iterations, random }),
    bcrypt_sha256: () => new BcryptHasher({ sha256: true, rounds: config.bcryptRounds }),
    bcrypt: () => new BcryptHasher({ sha256: false, rounds: config.bcryptRounds }),
    scrypt: () => new ScryptHasher({ random }),
  };
  return new PasswordHashers(
    config.hashers.map((name) => make[name]()),
    random,
    config.hashingConcurrency,
  );
}

import type { PasswordSettings } from '../../config/index.js';
import { ImproperlyConfigured } from '../errors.js';
import { loadedExport } from '../extensions.js';
import { secureRandom, type RandomSource } from '../random.js';
import { Argon2Hasher } from './argon2.js';
import { BcryptHasher } from './bcrypt.js';
import type { CustomPasswordHasher, PasswordHasher } from './hasher.js';
import { PasswordHashers } from './index.js';
import { Pbkdf2Hasher } from './pbkdf2.js';
import { ScryptHasher } from './scrypt.js';

/** The hashers PASSWORD_HASHERS names, in its order, with their configured parameters; modules as loaded. */
export function createPasswordHashers(config: PasswordSettings, random: RandomSource = secureRandom): PasswordHashers {
  const make = {
    argon2: () => new Argon2Hasher({ ...config.argon2, random }),
    pbkdf2_sha256: () => new Pbkdf2Hasher({ digest: 'sha256', iterations: config.pbkdf2Iterations, random }),
    pbkdf2_sha1: () => new Pbkdf2Hasher({ digest: 'sha1', iterations: config.pbkdf2Iterations, random }),
    bcrypt_sha256: () => new BcryptHasher({ sha256: true, rounds: config.bcryptRounds }),
    bcrypt: () => new BcryptHasher({ sha256: false, rounds: config.bcryptRounds }),
    scrypt: () => new ScryptHasher({ random }),
  } satisfies Record<Extract<PasswordSettings['hashers'][number], string>, () => PasswordHasher>;
  const hashers = config.hashers.map((entry) =>
    typeof entry === 'string'
      ? make[entry]()
      : completeHasher(loadedExport('PASSWORD_HASHERS', entry) as CustomPasswordHasher),
  );
  const seen = new Set<string>();
  for (const { algorithm } of hashers) {
    // Hashes are told apart by their prefix: two hashers of one algorithm would verify each other's hashes.
    if (seen.has(algorithm))
      throw new ImproperlyConfigured(`PASSWORD_HASHERS has two hashers of the algorithm ${algorithm}`);
    seen.add(algorithm);
  }
  return new PasswordHashers(hashers, random, config.hashingConcurrency);
}

/** A custom hasher with Django's BasePasswordHasher defaults for what it leaves out. */
function completeHasher(hasher: CustomPasswordHasher): PasswordHasher {
  return {
    algorithm: hasher.algorithm,
    encode: (password) => hasher.encode(password),
    verify: async (password, encoded) => {
      try {
        return await hasher.verify(password, encoded);
      } catch {
        return false; // a malformed or tampered hash is a wrong password, never an error a client sees
      }
    },
    recognizes: (encoded) => hasher.recognizes?.(encoded) ?? encoded.startsWith(`${hasher.algorithm}$`),
    mustUpdate: (encoded) => hasher.mustUpdate?.(encoded) ?? false,
    hardenRuntime: async (password, encoded) => {
      await hasher.hardenRuntime?.(password, encoded);
    },
  };
}

/**
 * What every password hasher does. Hashers are small and stateless; `PasswordHashers` (index.ts) holds the
 * ordered list from configuration: the first encodes new passwords, all of them verify.
 *
 * Encoded passwords use Django's format, `<algorithm>$<fields...>`, so a Django application sharing the
 * database verifies what this server writes, and the other way round.
 */
export interface PasswordHasher {
  /** The prefix before the first `$`, as Django writes it: `pbkdf2_sha256`, `argon2`, `bcrypt_sha256`, ... */
  readonly algorithm: string;
  /** Hashes a password with a fresh salt and this hasher's current parameters. */
  encode(password: string): Promise<string>;
  /** True when `password` matches. Never throws for a malformed or tampered hash: that is false. */
  verify(password: string, encoded: string): Promise<boolean>;
  /** True when `encoded` (of this algorithm) was made with other parameters than the current ones. */
  mustUpdate(encoded: string): boolean;
  /**
   * Spends the time that the difference between `encoded`'s parameters and the current ones would cost, so that
   * a failed check against an old, cheaper hash takes as long as one against a current hash.
   */
  hardenRuntime(password: string, encoded: string): Promise<void>;
}

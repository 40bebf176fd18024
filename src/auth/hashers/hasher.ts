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
  /**
   * True when `encoded` is a well-formed hash of this algorithm whose parameters are within the bounds this server
   * will spend time on. A hash read from the database is not trusted: a tampered `pbkdf2_sha256$9999999999$...`
   * would otherwise keep a worker busy for hours.
   */
  recognizes(encoded: string): boolean;
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

/**
 * What a hasher of an app's own must do (PASSWORD_HASHERS=./hashers/mine.js, docs/extending.md): `algorithm`,
 * `encode` and `verify`. What it leaves out gets Django's BasePasswordHasher defaults: it recognizes every hash
 * starting with `<algorithm>$`, never asks for an update, and pads nothing.
 */
export type CustomPasswordHasher = Pick<PasswordHasher, 'algorithm' | 'encode' | 'verify'> &
  Partial<Pick<PasswordHasher, 'recognizes' | 'mustUpdate' | 'hardenRuntime'>>;

/**
 * Django's `must_update_salt`: a salt of alphanumerics carries log2(62) bits a character; one with less than
 * 128 bits (Django 3.1 and earlier wrote 12 characters) is replaced at the next login.
 */
export function saltTooWeak(saltLength: number): boolean {
  return saltLength * Math.log2(62) < 128;
}

/** A whole number within [min, max] written in decimal without leading zeros, or undefined. */
export function boundedInteger(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^[1-9]\d{0,9}$|^0$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

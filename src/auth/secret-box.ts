/**
 * Secrets kept at rest (a TOTP device's secret): AES-256-GCM under keys from SECRET_ENCRYPTION_KEYS, and keyed
 * hashes (recovery codes) under keys from the same list. The first key encrypts and hashes; every key decrypts and
 * verifies, so that a key is rotated by putting a new one first and dropping the old one once nothing needs it.
 *
 * A ciphertext names the id of its key (`<key id>.<nonce>.<ciphertext and tag>`): decrypting tries that key only,
 * and a ciphertext whose key is gone is told apart from one that was altered. The context (`totp:<user id>`) is
 * authenticated with it: a secret copied onto another user's row does not decrypt there.
 */
import crypto from 'node:crypto';
import { timingSafeEqualStrings } from './hashers/compare.js';
import { secureRandom, type RandomSource } from './random.js';

const SALT = 'graphql-auth-server.secret-box';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

interface Key {
  readonly id: string;
  readonly encryption: Buffer;
  readonly mac: Buffer;
}

/** The key a setting's value stands for: derived with HKDF, never used as it is (any length of text works). */
function keyOf(secret: string): Key {
  const derive = (info: string) => Buffer.from(crypto.hkdfSync('sha256', secret, SALT, info, 32));
  const encryption = derive('aes-256-gcm');
  // The id tells which key made a ciphertext, and nothing of the key: a hash of a key derived apart.
  const id = crypto.hash('sha256', derive('key-id'), 'hex').slice(0, 8);
  return { id, encryption, mac: derive('hmac-sha256') };
}

/** The ciphertext was altered, or was made with another context, or with a key no longer in the list. */
export class UndecryptableSecret extends Error {
  constructor(readonly reason: 'unknown_key' | 'altered') {
    super(
      reason === 'unknown_key'
        ? 'a secret was encrypted with a key no longer in SECRET_ENCRYPTION_KEYS'
        : 'a secret does not decrypt: it was altered, or moved from another row',
    );
    this.name = 'UndecryptableSecret';
  }
}

export class SecretBox {
  private readonly keys: readonly Key[];

  /** `secrets`: SECRET_ENCRYPTION_KEYS (or the session secrets when unset), the first preferred. */
  constructor(
    secrets: readonly string[],
    private readonly random: RandomSource = secureRandom,
  ) {
    if (secrets.length === 0) throw new Error('a secret box needs at least one key');
    this.keys = secrets.map(keyOf);
  }

  /** The id of the key that encrypts now. */
  get currentKeyId(): string {
    return this.first().id;
  }

  encrypt(plaintext: string, context: string): string {
    const key = this.first();
    // A fresh random nonce per encryption: GCM under one key must never see a nonce twice.
    const nonce = this.random.bytes(NONCE_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', key.encryption, nonce);
    cipher.setAAD(Buffer.from(context));
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${key.id}.${nonce.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  /** The plaintext; throws UndecryptableSecret when it cannot be had. */
  decrypt(ciphertext: string, context: string): string {
    const [id, nonce, sealed] = ciphertext.split('.');
    const key = this.keys.find((candidate) => candidate.id === id);
    if (!key) throw new UndecryptableSecret('unknown_key');
    const bytes = Buffer.from(sealed ?? '', 'base64url');
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key.encryption, Buffer.from(nonce ?? '', 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new UndecryptableSecret('altered');
    }
  }

  /** Whether the ciphertext was made with a key other than the first: worth encrypting again. */
  isStale(ciphertext: string): boolean {
    return !ciphertext.startsWith(`${this.first().id}.`);
  }

  /** A keyed hash of `text` under the first key: `<key id>.<HMAC-SHA256, hex>`. */
  hash(text: string): string {
    const key = this.first();
    return `${key.id}.${crypto.createHmac('sha256', key.mac).update(text).digest('hex')}`;
  }

  /** Whether `stored` is the keyed hash of `text` under its key, compared in constant time. */
  hashMatches(text: string, stored: string): boolean {
    const dot = stored.indexOf('.');
    const key = this.keys.find((candidate) => candidate.id === stored.slice(0, dot));
    if (!key) return false;
    const computed = `${key.id}.${crypto.createHmac('sha256', key.mac).update(text).digest('hex')}`;
    return timingSafeEqualStrings(computed, stored);
  }

  private first(): Key {
    const [key] = this.keys;
    if (!key) throw new Error('a secret box needs at least one key');
    return key;
  }
}

/**
 * The secret box (AES-256-GCM, keyed hashes) with real keys: what it stores is not the secret, a key is rotated by
 * putting a new one first (old ciphertexts still open, new ones use the new key), and a ciphertext altered, moved to
 * another context, or made with a dropped key does not open.
 */
import { describe, expect, it } from '@jest/globals';
import { SecretBox, UndecryptableSecret } from './secret-box.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

describe('SecretBox', () => {
  const old = new SecretBox(['the-old-key-of-32-characters-or-more']);
  const rotated = new SecretBox(['the-new-key-of-32-characters-or-more', 'the-old-key-of-32-characters-or-more']);
  const dropped = new SecretBox(['the-new-key-of-32-characters-or-more']);

  it('keeps no trace of the secret, and a fresh nonce each time', () => {
    const sealed = old.encrypt(SECRET, 'totp:1');
    expect(sealed).not.toContain(SECRET);
    expect(sealed).toMatch(/^[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(old.encrypt(SECRET, 'totp:1')).not.toBe(sealed);
    expect(old.decrypt(sealed, 'totp:1')).toBe(SECRET);
  });

  it('rotates: the first key encrypts, every key decrypts, a dropped key decrypts nothing', () => {
    const before = old.encrypt(SECRET, 'totp:1');
    expect(rotated.decrypt(before, 'totp:1')).toBe(SECRET);
    expect(rotated.isStale(before)).toBe(true);
    const after = rotated.encrypt(SECRET, 'totp:1');
    expect(after.split('.')[0]).toBe(rotated.currentKeyId);
    expect(after.split('.')[0]).not.toBe(old.currentKeyId);
    expect(rotated.isStale(after)).toBe(false);
    expect(dropped.decrypt(after, 'totp:1')).toBe(SECRET);
    expect(() => dropped.decrypt(before, 'totp:1')).toThrow(new UndecryptableSecret('unknown_key'));
  });

  it('refuses a ciphertext altered, or moved to another context (another user)', () => {
    const sealed = old.encrypt(SECRET, 'totp:1');
    expect(() => old.decrypt(sealed, 'totp:2')).toThrow(new UndecryptableSecret('altered'));
    const [id, nonce, body = ''] = sealed.split('.');
    const flipped = `${id}.${nonce}.${body.slice(0, -2)}${body.endsWith('AA') ? 'AB' : 'AA'}`;
    expect(() => old.decrypt(flipped, 'totp:1')).toThrow(new UndecryptableSecret('altered'));
  });

  it('hashes under the first key and verifies under any, in the same rotation', () => {
    const hashed = old.hash('abcde12345');
    expect(hashed).toMatch(/^[0-9a-f]{8}\.[0-9a-f]{64}$/);
    expect(rotated.hashMatches('abcde12345', hashed)).toBe(true);
    expect(rotated.hashMatches('abcde12346', hashed)).toBe(false);
    expect(dropped.hashMatches('abcde12345', hashed)).toBe(false);
    expect(rotated.hash('abcde12345').startsWith(`${rotated.currentKeyId}.`)).toBe(true);
  });
});

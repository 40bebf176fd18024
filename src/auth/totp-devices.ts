/**
 * TOTP devices (RFC 6238, through `otpauth`): one per user, its secret encrypted at rest (secret-box.ts). A device is
 * enrolled (a new secret, not yet in force), then confirmed by a first right code; only a confirmed device makes a
 * login wait for its second factor.
 *
 * A code is accepted in its 30-second step and one step either side (a phone's clock a little off), and once only:
 * the device keeps the last step a code was accepted for, and a code of that step or an earlier one is refused
 * (RFC 6238 section 5.2), by one conditional UPDATE, so that two requests racing with one code cannot both pass.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Secret, TOTP } from 'otpauth';
import { run, selectOne } from '../db/sql.js';
import type { Clock } from './clock.js';
import { secureRandom, type RandomSource } from './random.js';
import type { SecretBox } from './secret-box.js';

/** RFC 6238's defaults, which every authenticator app reads: SHA-1, 6 digits, 30 seconds. */
const PERIOD = 30;
const DIGITS = 6;
/** Steps accepted either side of now (a phone's clock up to 30 s off). */
const WINDOW = 1;
/** 160 bits, as RFC 4226 recommends (the HMAC-SHA1 block's worth). */
const SECRET_BYTES = 20;

/** A device's secret and how an authenticator app takes it. */
export interface TotpEnrollment {
  /** Base32, for typing into an app. */
  readonly secret: string;
  /** `otpauth://totp/...`: what the QR code holds. */
  readonly uri: string;
}

export interface TotpRules {
  /** The issuer an authenticator app shows with the account (TOTP_ISSUER). */
  readonly issuer: string;
}

type DeviceRow = { secret: string; confirmed: boolean; last_used_step: string | null };

export class TotpDevices {
  constructor(
    private readonly box: SecretBox,
    private readonly rules: TotpRules,
    private readonly clock: Clock,
    private readonly random: RandomSource = secureRandom,
  ) {}

  /** Whether the user has a confirmed device: a login of theirs then waits for a code. */
  async isEnabled(em: EntityManager, userId: number): Promise<boolean> {
    const row = await selectOne<{ confirmed: boolean }>(
      em,
      'SELECT confirmed FROM gqlauth_totp_device WHERE user_id = ?',
      [userId],
    );
    return row?.confirmed === true;
  }

  /**
   * A new secret for the user, stored encrypted and not yet in force (an unconfirmed device is replaced). Undefined
   * when the user has a confirmed device already: it is turned off first, with the password and a code.
   */
  async enroll(em: EntityManager, user: { id: number; username: string }): Promise<TotpEnrollment | undefined> {
    const secret = new Secret({ buffer: new Uint8Array(this.random.bytes(SECRET_BYTES)).buffer });
    const stored = this.box.encrypt(secret.base32, context(user.id));
    const written = await run(
      em,
      `INSERT INTO gqlauth_totp_device (user_id, secret, confirmed, created_at) VALUES (?, ?, false, ?)
       ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at,
         last_used_step = NULL
       WHERE NOT gqlauth_totp_device.confirmed`,
      [user.id, stored, this.clock.now()],
    );
    if (written === 0) return undefined;
    const totp = new TOTP({ issuer: this.rules.issuer, label: user.username, secret, digits: DIGITS, period: PERIOD });
    return { secret: secret.base32, uri: totp.toString() };
  }

  /** Puts an enrolled device in force with a right code; false for a wrong code or no device waiting. */
  async confirm(em: EntityManager, userId: number, code: string): Promise<boolean> {
    const device = await this.device(em, userId);
    if (!device || device.confirmed) return false;
    const step = this.stepOf(device, userId, code);
    if (step === undefined) return false;
    const now = this.clock.now();
    return (
      (await run(
        em,
        `UPDATE gqlauth_totp_device SET confirmed = true, confirmed_at = ?, last_used_step = ?
          WHERE user_id = ? AND NOT confirmed AND secret = ?`,
        [now, step, userId, device.secret],
      )) > 0
    );
  }

  /**
   * Whether `code` is a right code of the user's confirmed device, not used before: it is then used up (its step
   * and every earlier one). False for a wrong code, a replayed one, or no confirmed device.
   */
  async verify(em: EntityManager, userId: number, code: string): Promise<boolean> {
    const device = await this.device(em, userId);
    if (!device?.confirmed) return false;
    const step = this.stepOf(device, userId, code);
    if (step === undefined) return false;
    // A secret under a key that is no longer the first moves to the first at its use: once every device has been
    // used, the old key can leave SECRET_ENCRYPTION_KEYS.
    const secret = this.box.isStale(device.secret)
      ? this.box.encrypt(this.box.decrypt(device.secret, context(userId)), context(userId))
      : device.secret;
    // Replay refusal, atomic: of two requests with one code, only the one whose UPDATE lands first passes.
    return (
      (await run(
        em,
        `UPDATE gqlauth_totp_device SET last_used_step = ?, secret = ?
          WHERE user_id = ? AND confirmed AND (last_used_step IS NULL OR last_used_step < ?)`,
        [step, secret, userId, step],
      )) > 0
    );
  }

  /** Removes the user's device (turned off, or reset by an administrator); true when there was a confirmed one. */
  async remove(em: EntityManager, userId: number): Promise<boolean> {
    const removed = await selectOne<{ confirmed: boolean }>(
      em,
      'DELETE FROM gqlauth_totp_device WHERE user_id = ? RETURNING confirmed',
      [userId],
    );
    return removed?.confirmed === true;
  }

  private async device(em: EntityManager, userId: number): Promise<DeviceRow | undefined> {
    return selectOne<DeviceRow>(
      em,
      'SELECT secret, confirmed, last_used_step FROM gqlauth_totp_device WHERE user_id = ?',
      [userId],
    );
  }

  /** The step `code` is the code of, within the window around now; undefined when it is none of them. */
  private stepOf(device: DeviceRow, userId: number, code: string): number | undefined {
    const token = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(token)) return undefined;
    const secret = Secret.fromBase32(this.box.decrypt(device.secret, context(userId)));
    const timestamp = this.clock.now().getTime();
    const delta = TOTP.validate({ token, secret, digits: DIGITS, period: PERIOD, timestamp, window: WINDOW });
    if (delta === null) return undefined;
    return TOTP.counter({ period: PERIOD, timestamp }) + delta;
  }
}

/** What a device's secret is bound to: its user (a ciphertext moved to another row does not decrypt). */
function context(userId: number): string {
  return `totp:${userId}`;
}

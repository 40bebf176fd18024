/**
 * The lockout (lockout.ts) that the LOCKOUT_* and PASSWORD_RESET_* settings describe, on counters kept where the
 * sessions are (src/stores/counters.ts).
 */
import type { Config } from '../config/index.js';
import type { Counters } from '../stores/counters.js';
import type { Clock } from './clock.js';
import { DeviceCookies } from './device-cookie.js';
import { Lockout } from './lockout.js';

export function createLockout(
  config: Pick<Config, 'lockout'> & { session: Pick<Config['session'], 'secrets'> },
  counters: Pick<Counters, 'counter' | 'giveBack'>,
  clock: Clock,
): Lockout {
  const { limit, cooloffSeconds, accountLimit, accountWindowSeconds, addressLimit, addressWindowSeconds } =
    config.lockout;
  const { secondFactorLimit, secondFactorWindowSeconds } = config.lockout;
  const { resetEmailLimit, resetAddressLimit, resetWindowSeconds, addressConcurrency } = config.lockout;
  // Named with the oldest secret: a rotation puts the new secret first and keeps the old one meanwhile, so that the
  // counts (and locks) outlive it until the old secret is dropped; then they start again.
  const keySecret = config.session.secrets.at(-1) ?? '';
  const devices = new DeviceCookies(config.session.secrets, config.lockout.deviceCookieAgeSeconds, clock);
  // Each count is remembered for its window; a count whose limit is 0 is off.
  const counts = {
    attempts: limit > 0 ? { points: limit, duration: cooloffSeconds } : undefined,
    account: accountLimit > 0 ? { points: accountLimit, duration: accountWindowSeconds } : undefined,
    address: addressLimit > 0 ? { points: addressLimit, duration: addressWindowSeconds } : undefined,
    secondFactor:
      secondFactorLimit > 0 ? { points: secondFactorLimit, duration: secondFactorWindowSeconds } : undefined,
    // Places held only while a check runs (given back if it fails too); the window bounds how long a place left by
    // a process that died mid-check stays taken.
    addressInFlight: addressConcurrency > 0 ? { points: addressConcurrency, duration: 60 } : undefined,
    resetEmail: resetEmailLimit > 0 ? { points: resetEmailLimit, duration: resetWindowSeconds } : undefined,
    resetAddress: resetAddressLimit > 0 ? { points: resetAddressLimit, duration: resetWindowSeconds } : undefined,
  };
  const { counter, giveBack } = counters;
  const limiters = {
    attempts: counts.attempts && counter(counts.attempts, 'lockout'),
    account: counts.account && counter(counts.account, 'lockout-account'),
    address: counts.address && counter(counts.address, 'lockout-address'),
    secondFactor: counts.secondFactor && counter(counts.secondFactor, 'lockout-second-factor'),
    addressInFlight: counts.addressInFlight && counter(counts.addressInFlight, 'lockout-in-flight'),
    resetEmail: counts.resetEmail && counter(counts.resetEmail, 'reset-email'),
    resetAddress: counts.resetAddress && counter(counts.resetAddress, 'reset-address'),
  };
  return new Lockout({ ...limiters, giveBack }, config.lockout, keySecret, devices);
}

/** The auth core's one source of time, injectable so tests can move it (Django's tokens `_now()`). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

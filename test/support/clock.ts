/** A clock that stands still until the test moves it (forwards or back). */
import type { Clock } from '../../src/auth/clock.js';

export class TestClock implements Clock {
  constructor(private current = Date.parse('2026-11-23T12:00:00Z')) {}

  now(): Date {
    return new Date(this.current);
  }

  advance(seconds: number): void {
    this.current += seconds * 1000;
  }

  set(date: Date): void {
    this.current = date.getTime();
  }
}

/** A real password hasher that counts what it is asked to do: for tests of what an outcome costs. */
import type { PasswordHasher } from '../../src/auth/hashers/index.js';

export class CountingHasher implements PasswordHasher {
  encodes = 0;
  verifies = 0;
  hardens = 0;
  /** Runs started and not finished yet, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly inner: PasswordHasher) {}

  get algorithm(): string {
    return this.inner.algorithm;
  }

  /** Every run that costs hashing time. */
  get runs(): number {
    return this.encodes + this.verifies + this.hardens;
  }

  recognizes(encoded: string): boolean {
    return this.inner.recognizes(encoded);
  }

  encode(password: string): Promise<string> {
    this.encodes++;
    return this.track(() => this.inner.encode(password));
  }

  verify(password: string, encoded: string): Promise<boolean> {
    this.verifies++;
    return this.track(() => this.inner.verify(password, encoded));
  }

  mustUpdate(encoded: string): boolean {
    return this.inner.mustUpdate(encoded);
  }

  hardenRuntime(password: string, encoded: string): Promise<void> {
    this.hardens++;
    return this.track(() => this.inner.hardenRuntime(password, encoded));
  }

  private async track<T>(run: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await run();
    } finally {
      this.inFlight--;
    }
  }
}

/**
 * Waits on what a child process writes: a wait looks again whenever more output arrives, and fails when the
 * process ends without showing what it waits for, or when its time runs out.
 */
export class OutputWatch {
  #ended = false;
  readonly #checks = new Set<() => void>();

  /** More output arrived: every pending wait looks again. */
  changed(): void {
    for (const check of this.#checks) check();
  }

  /** The process closed, all its output read: a wait that has not found what it looks for fails. */
  end(): void {
    this.#ended = true;
    this.changed();
  }

  /**
   * Resolves with the first value `find` gives other than undefined, looking now and after each change; rejects
   * with the message `failure` writes (at that moment) if the process ends first or `timeoutMs` passes.
   */
  until<T>(
    find: () => T | undefined,
    timeoutMs: number,
    failure: (reason: 'ended' | 'timed out') => string,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (this.#ended) {
          finish();
          reject(new Error(failure('ended')));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(failure('timed out')));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#checks.delete(check);
      };
      this.#checks.add(check);
      check();
    });
  }
}

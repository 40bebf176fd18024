/**
 * Password hashes run in libuv's thread pool (argon2 and bcrypt, Node's pbkdf2 and scrypt), a core each for tens of
 * milliseconds. Under a burst of logins a hashing thread wants a core at the same moments as the event loop that
 * serves every other request. At a lower priority (a higher nice value) it weighs less with the kernel's scheduler:
 * at nice 10 about a tenth of the event loop's weight, so when both want the same core the loop gets most of it, and
 * hashing the rest. With cores to spare, hashing runs at full speed as before; on a machine kept busy by cheap
 * requests, logins slow down instead of the requests. PASSWORD_HASHING_NICE; 0 leaves the pool alone.
 *
 * The weighting holds between this process's threads, and against other processes in the same scheduling group
 * (cgroup, or session under autogroup); a PostgreSQL run as its own service, in its own group, is weighed apart.
 *
 * Linux only: there a thread's nice value is its own, and /proc lists the pool's threads by name. Elsewhere nothing
 * changes. The pool's other work (file writes of the log, DNS lookups) shares the lower priority; it is short.
 */
import { randomFill } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** libuv names its pool's threads so (Node 22 and later). */
const POOL_THREAD = 'libuv-worker';

export interface PoolPriority {
  /** The pool's threads found. */
  readonly threads: number;
  /** Of those, how many were at `nice` or lower priority afterwards (changed now, or already there). */
  readonly atNice: number;
}

/**
 * Lowers the priority of the thread pool's threads to `nice`. `undefined` when there was nothing to do (`nice` 0, or
 * not Linux); otherwise what it found, so that the caller can say when the pool kept its priority.
 */
export async function lowerThreadPoolPriority(nice: number): Promise<PoolPriority | undefined> {
  if (nice === 0 || process.platform !== 'linux') return undefined;
  // libuv starts every thread of the pool at its first task: one small task, so that they all exist now.
  await new Promise<void>((resolve, reject) => {
    randomFill(new Uint8Array(1), (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return { threads: 0, atNice: 0 }; // no /proc (a locked-down container): priorities stay, the server runs
  }
  let threads = 0;
  let atNice = 0;
  for (const tid of tids) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== POOL_THREAD) continue;
      threads += 1;
      // Only ever raised (which needs no privilege: lowering it would, and a process started at a higher nice value
      // keeps it); the event loop's thread keeps its own.
      if (getPriority(Number(tid)) < nice) setPriority(Number(tid), nice);
      atNice += 1;
    } catch {
      // A thread gone meanwhile, or a kernel that refuses: this one keeps its priority, and the server runs.
    }
  }
  return { threads, atNice };
}

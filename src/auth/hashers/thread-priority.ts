/**
 * Password hashes run in libuv's thread pool (argon2 and bcrypt, Node's pbkdf2 and scrypt), a core each for tens of
 * milliseconds. Under a burst of logins a hashing thread wants a core at the same moments as the event loop that
 * serves every other request, as PostgreSQL and whatever else shares the machine. At a lower priority (a higher
 * nice value) the kernel's scheduler hands the core to them first, and hashing takes what is left: with cores to
 * spare it runs at full speed as before. PASSWORD_HASHING_NICE; 0 leaves the pool alone.
 *
 * Linux only: there a thread's nice value is its own, and /proc lists the pool's threads by name. Elsewhere nothing
 * changes. The pool's other work (file writes of the log, DNS lookups) shares the lower priority; it is short.
 */
import { randomFill } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** libuv names its pool's threads so (Node 22 and later). */
const POOL_THREAD = 'libuv-worker';

/** Lowers the priority of the thread pool's threads to `nice`; returns how many it changed. */
export async function lowerThreadPoolPriority(nice: number): Promise<number> {
  if (nice === 0 || process.platform !== 'linux') return 0;
  // libuv starts every thread of the pool at its first task: one small task, so that they all exist now.
  await new Promise<void>((resolve, reject) => {
    randomFill(new Uint8Array(1), (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return 0; // no /proc (a locked-down container): priorities stay as they are, and the server runs all the same
  }
  let changed = 0;
  for (const tid of threads) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== POOL_THREAD) continue;
      // Only ever raised (which needs no privilege: lowering it would, and a process started at a higher nice value
      // keeps it); the event loop's thread keeps its own.
      if (getPriority(Number(tid)) >= nice) continue;
      setPriority(Number(tid), nice);
      changed += 1;
    } catch {
      // A thread gone meanwhile, or a kernel that refuses: this one keeps its priority, and the server runs.
    }
  }
  return changed;
}

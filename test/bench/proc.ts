/** CPU time of processes from /proc (Linux): utime + stime of every thread, in microseconds. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';

/** Clock ticks per second, the unit of /proc/<pid>/stat's times. */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Each process's CPU time so far; a process that is gone is left out. */
export async function cpuMicrosOf(pids: readonly number[]): Promise<Map<number, number>> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // The command name (field 2) may hold spaces: the fields after it are counted from its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command name.
    times.set(pid, ((Number(fields[11]) + Number(fields[12])) / TICKS) * 1e6);
  }
  return times;
}

/** CPU used between two readings, over the processes of the second (a process new in between counts whole). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, micros] of after) sum += micros - (before.get(pid) ?? 0);
  return sum;
}

/** A process's children (gunicorn's workers). */
export async function childrenOf(pid: number): Promise<number[]> {
  const text = await fs.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(' ').filter(Boolean).map(Number);
}

/** Whether /proc can be read here (Linux); elsewhere the CPU columns are left empty. */
export async function hasProc(): Promise<boolean> {
  return (await cpuMicrosOf([process.pid])).size === 1;
}

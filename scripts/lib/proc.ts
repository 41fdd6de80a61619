/** A process's memory, CPU time and open file descriptors, read from /proc (Linux). */
import { readFileSync, readdirSync } from 'node:fs';

/** A process's memory from /proc/<pid>/status, in KiB: resident now and its high-water mark. */
export function memoryOf(pid: number | 'self'): { rssKiB: number; hwmKiB: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM'), threads: field('Threads') };
}

/**
 * CPU time a process has used so far (user + system, all its threads), in microseconds: this one's
 * from Node, another's from /proc/<pid>/stat (NaN where there is no /proc), where the kernel counts
 * in ticks of 1/100 s (USER_HZ).
 */
export function cpuMicrosOf(pid: number | 'self'): number {
  if (pid === 'self') {
    const { user, system } = process.cpuUsage();
    return user + system;
  }
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return NaN;
  }
}

/** Open file descriptors of a process (entries of /proc/<pid>/fd). */
export function fdCount(pid: number | 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

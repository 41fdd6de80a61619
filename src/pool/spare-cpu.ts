import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Spinning starts when this much of a core sits idle, and goes on while idle plus spinning time
 * stays above the second figure (spinning takes some of the idle time, and under load the rest).
 * Measured on two cores with the load generator alongside: one client in a closed loop leaves ~1.0
 * core idle without spinning and ~1.2 with; 16 clients leave ~0.35 without and ~0.8 with, and are
 * slower with.
 */
const START_SPARE_CORES = 0.75;
const KEEP_SPARE_CORES = 1.0;

/**
 * Whether the cores this process may run on have CPU to spare for spinning. A thread that spins instead of sleeping
 * answers in microseconds instead of tens of them, but the core it holds is lost to everyone else:
 * on two cores shared with the clients, spinning under load slows everything down. So spinning is
 * for when cores are idle: the kernel's idle time, plus the time our own threads spent spinning
 * (which would have been idle), sampled every few hundred milliseconds.
 *
 * Only the cores this process may run on count (`taskset`, `docker --cpuset-cpus`): another core's
 * idle time is no use to us. On one core spinning is never allowed: the spinning thread would hold
 * the very core the thread it waits for needs (measured with the server on one core: 1 connection got
 * ~2,200 steps/s with a spinning main thread, ~6,000 without).
 */
export class SpareCpu {
  readonly #cpus: readonly number[];
  #idleMs: number;
  #at = performance.now();
  allowed = false;

  /** `cpus`: the indexes (into `os.cpus()`) of the cores this process may run on. */
  constructor(cpus: readonly number[] = allowedCpus()) {
    this.#cpus = cpus;
    this.#idleMs = this.#idleTotal();
  }

  /** False when spinning can never be allowed: the process may use one core. */
  get possible(): boolean {
    return this.#cpus.length >= 2;
  }

  /** Takes a sample; `spunMicros` is how long our threads spun since the last one. */
  update(spunMicros: number): boolean {
    const idleMs = this.#idleTotal();
    const at = performance.now();
    const spare = (idleMs - this.#idleMs + spunMicros / 1000) / (at - this.#at);
    this.#idleMs = idleMs;
    this.#at = at;
    if (!this.possible) this.allowed = false;
    else this.allowed = this.allowed ? spare >= KEEP_SPARE_CORES : spare >= START_SPARE_CORES;
    return this.allowed;
  }

  #idleTotal(): number {
    const times = os.cpus();
    let idle = 0;
    for (const cpu of this.#cpus) idle += times[cpu]?.times.idle ?? 0;
    return idle;
  }
}

/** The cores this process may run on: Linux's affinity list when there is one, else every core. */
export function allowedCpus(): number[] {
  try {
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (list) return parseCpuList(list);
  } catch {
    // Not Linux: no affinity to read.
  }
  return os.cpus().map((_, i) => i);
}

/** Parses a kernel CPU list such as `0-3,8,10-11`. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}

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
 * Whether the machine has CPU to spare for spinning. A thread that spins instead of sleeping
 * answers in microseconds instead of tens of them, but the core it holds is lost to everyone else:
 * on two cores shared with the clients, spinning under load slows everything down. So spinning is
 * for when cores are idle: the kernel's idle time, plus the time our own threads spent spinning
 * (which would have been idle), sampled every few hundred milliseconds.
 */
export class SpareCpu {
  #idleMs = SpareCpu.#idleTotal();
  #at = performance.now();
  allowed = false;

  /** Takes a sample; `spunMicros` is how long our threads spun since the last one. */
  update(spunMicros: number): boolean {
    const idleMs = SpareCpu.#idleTotal();
    const at = performance.now();
    const spare = (idleMs - this.#idleMs + spunMicros / 1000) / (at - this.#at);
    this.#idleMs = idleMs;
    this.#at = at;
    this.allowed = this.allowed ? spare >= KEEP_SPARE_CORES : spare >= START_SPARE_CORES;
    return this.allowed;
  }

  static #idleTotal(): number {
    let idle = 0;
    for (const cpu of os.cpus()) idle += cpu.times.idle;
    return idle;
  }
}

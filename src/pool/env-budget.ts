/**
 * The server-wide limit on environments, in memory the main thread and every worker share, so a
 * worker can refuse a `make` without asking the main thread. Layout: [limit, total, per slot…].
 * Per-slot counts let the main thread take back what a dead worker held.
 */
export class EnvBudget {
  readonly counts: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.counts = new Int32Array(buffer);
  }

  static create(slots: number, limit: number): EnvBudget {
    const budget = new EnvBudget(new SharedArrayBuffer(4 * (slots + 2)));
    budget.counts[0] = limit;
    return budget;
  }

  get limit(): number {
    return this.counts[0];
  }

  get total(): number {
    return Atomics.load(this.counts, 1);
  }

  /** Environments the slot's worker holds. */
  heldBy(slot: number): number {
    return Atomics.load(this.counts, slot + 2);
  }

  tryAcquire(slot: number): boolean {
    if (Atomics.add(this.counts, 1, 1) >= this.limit) {
      Atomics.sub(this.counts, 1, 1);
      return false;
    }
    Atomics.add(this.counts, slot + 2, 1);
    return true;
  }

  release(slot: number): void {
    Atomics.sub(this.counts, slot + 2, 1);
    Atomics.sub(this.counts, 1, 1);
  }

  /** The slot's worker died: the environments it held are gone. */
  releaseSlot(slot: number): void {
    Atomics.sub(this.counts, 1, Atomics.exchange(this.counts, slot + 2, 0));
  }
}

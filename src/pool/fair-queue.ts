/**
 * Items waiting for one worker: a FIFO per sender, served round-robin, one item per sender per turn.
 * A connection that pipelines a thousand requests then delays another connection's next step by at
 * most one item per batch, instead of by its whole backlog.
 */
export class FairQueue<K, V> {
  readonly #queues = new Map<K, V[]>();
  /** Senders with items waiting, in the order they are served next. */
  #ready: K[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Whether `key` has items waiting. */
  has(key: K): boolean {
    return this.#queues.has(key);
  }

  push(key: K, value: V): void {
    const queue = this.#queues.get(key);
    if (queue) queue.push(value);
    else {
      this.#queues.set(key, [value]);
      this.#ready.push(key);
    }
    this.#size++;
  }

  /**
   * Takes up to `max` items, round-robin over senders; each sender's items stay in order. `roomOf`
   * bounds what one sender may give in this call (its room under a per-sender in-flight limit); a
   * sender with none is passed over and keeps its place.
   */
  take(max: number, roomOf?: (key: K) => number): { keys: K[]; values: V[] } {
    const keys: K[] = [];
    const values: V[] = [];
    const room = roomOf ? new Map<K, number>() : null;
    let turn = 0;
    let takenThisRound = 0;
    while (values.length < max && this.#size > 0) {
      if (turn >= this.#ready.length) {
        // A full round: drop the senders that ran dry, go round again (unless no one could give).
        if (takenThisRound === 0) break;
        this.#ready = this.#ready.filter((key) => this.#queues.has(key));
        turn = 0;
        takenThisRound = 0;
      }
      const key = this.#ready[turn++];
      const queue = this.#queues.get(key);
      if (!queue) continue;
      if (room) {
        const left = room.get(key) ?? roomOf!(key);
        if (left <= 0) {
          room.set(key, 0);
          continue;
        }
        room.set(key, left - 1);
      }
      takenThisRound++;
      keys.push(key);
      values.push(queue.shift()!);
      this.#size--;
      if (queue.length === 0) this.#queues.delete(key);
    }
    // Who was served last goes to the back, so the next batch starts with the others.
    this.#ready = [...this.#ready.slice(turn), ...this.#ready.slice(0, turn)].filter((key) => this.#queues.has(key));
    return { keys, values };
  }

  /** Takes every item `key` has waiting, in order (a sender that went away, or one whose items wait elsewhere). */
  remove(key: K): V[] {
    const queue = this.#queues.get(key);
    if (!queue) return [];
    this.#queues.delete(key);
    this.#size -= queue.length;
    this.#ready = this.#ready.filter((k) => k !== key);
    return queue;
  }

  /** Puts items back ahead of everything else their senders have waiting (a dead worker's batches). */
  unshift(keys: readonly K[], values: readonly V[]): void {
    const front: K[] = [];
    for (let i = values.length - 1; i >= 0; i--) {
      const queue = this.#queues.get(keys[i]);
      if (queue) queue.unshift(values[i]);
      else {
        this.#queues.set(keys[i], [values[i]]);
        front.push(keys[i]);
      }
      this.#size++;
    }
    this.#ready = [...front.reverse(), ...this.#ready.filter((key) => !front.includes(key))];
  }
}

/**
 * What the monitors may put under the monitor root: files (directories count: each is an inode) and
 * bytes, in total and per directory. Without bounds a monitor/start–close loop wrote ~800 files a
 * second for as long as it ran.
 *
 * The total is a tally per root, shared by both fronts: measured by walking the root once at first
 * use, then kept by what the monitors create and delete, with the files promised to monitors not yet
 * closed reserved. When a request would go over, the root is walked again first (at most once a
 * second), so space an operator freed by hand counts at once. Per directory the count is taken fresh
 * from the directory at start (files) and at write (bytes).
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { MonitorError } from './monitor-directory.js';

/** The option table's limits (src/config/options.ts): the root's totals and one directory's. */
export interface MonitorLimits {
  monitorMaxFiles: number;
  monitorMaxBytes: number;
  monitorDirMaxFiles: number;
  monitorDirMaxBytes: number;
}

/** A rescan of the root at most this often when a request would go over (a loop of refused starts walks it at most once a second). */
const RESCAN_MS = 1000;

export class RootQuota {
  #files = 0;
  #bytes = 0;
  #reserved = 0;
  readonly #reservedIn = new Map<string, number>();
  #scannedAt = -Infinity;
  #scanning: Promise<void> | null = null;

  private constructor(
    readonly rootPath: string,
    /** The latest server's (tests start several on one process). */
    public limits: MonitorLimits,
  ) {}

  static readonly #byRoot = new Map<string, RootQuota>();

  /** The quota of the root at `rootPath` (a real path), measured on first use; both fronts share it. */
  static async of(rootPath: string, limits: MonitorLimits): Promise<RootQuota> {
    let quota = RootQuota.#byRoot.get(rootPath);
    if (!quota) {
      quota = new RootQuota(rootPath, limits);
      RootQuota.#byRoot.set(rootPath, quota);
    }
    quota.limits = limits;
    if (quota.#scannedAt === -Infinity) await quota.#rescan();
    return quota;
  }

  /**
   * Promises `count` new files to a monitor in the directory `key` that holds `entries` already
   * (`key` null: a directory being made, which counts in the total only). Refused with a 507 when
   * the total or the directory would go over.
   */
  async reserve(count: number, key: string | null, entries: number): Promise<void> {
    const { monitorMaxFiles, monitorDirMaxFiles } = this.limits;
    if (key !== null && entries + (this.#reservedIn.get(key) ?? 0) + count > monitorDirMaxFiles) {
      throw new MonitorError(
        `the monitor directory is full: it holds ${entries} entries and a monitor writes ${count} more; ` +
          `the server allows ${monitorDirMaxFiles} (--monitor-dir-max-files): clear it (force) or use another`,
        507,
      );
    }
    if (this.#files + this.#reserved + count > monitorMaxFiles) await this.#rescan(true);
    if (this.#files + this.#reserved + count > monitorMaxFiles) {
      throw new MonitorError(
        `the monitor root is full: it holds ${this.#files} files and directories (${this.#reserved} more promised to open monitors); ` +
          `the server allows ${monitorMaxFiles} (--monitor-max-files)`,
        507,
      );
    }
    this.#reserved += count;
    if (key !== null) this.#reservedIn.set(key, (this.#reservedIn.get(key) ?? 0) + count);
  }

  /** A directory is about to be made: counted now, refused (507) when the root is full. */
  async addDirectory(): Promise<void> {
    await this.reserve(1, null, 0);
    this.release(1, null);
    this.changed(1, 0);
  }

  /** Gives back what `reserve` promised (written or abandoned). */
  release(count: number, key: string | null): void {
    this.#reserved = Math.max(0, this.#reserved - count);
    if (key === null) return;
    const left = (this.#reservedIn.get(key) ?? 0) - count;
    if (left > 0) this.#reservedIn.set(key, left);
    else this.#reservedIn.delete(key);
  }

  /**
   * Counts `bytes` about to be written into a directory whose files hold `inDirectory` already, or
   * refuses (507). Counted before the write, so that writes at once cannot pass the total together.
   */
  async admitBytes(bytes: number, inDirectory: number): Promise<void> {
    const { monitorMaxBytes, monitorDirMaxBytes } = this.limits;
    if (inDirectory + bytes > monitorDirMaxBytes) {
      throw new MonitorError(
        `the monitor directory is full: its files hold ${inDirectory} bytes and the monitor's ${bytes} more would pass ` +
          `the server's ${monitorDirMaxBytes} (--monitor-dir-max-bytes); nothing was written`,
        507,
      );
    }
    if (this.#bytes + bytes > monitorMaxBytes) await this.#rescan(true);
    if (this.#bytes + bytes > monitorMaxBytes) {
      throw new MonitorError(
        `the monitor root is full: its files hold ${this.#bytes} bytes and the monitor's ${bytes} more would pass ` +
          `the server's ${monitorMaxBytes} (--monitor-max-bytes); nothing was written`,
        507,
      );
    }
    this.#bytes += bytes;
  }

  /** Files (and directories) made or removed under the root, and their bytes. */
  changed(files: number, bytes: number): void {
    this.#files = Math.max(0, this.#files + files);
    this.#bytes = Math.max(0, this.#bytes + bytes);
  }

  /** Walks the root (never following links), counting entries and file bytes; stops once over the file limit. */
  async #rescan(onlyIfStale = false): Promise<void> {
    if (onlyIfStale && performance.now() - this.#scannedAt < RESCAN_MS) return;
    this.#scanning ??= (async () => {
      let files = 0;
      let bytes = 0;
      const pending = [this.rootPath];
      while (pending.length > 0 && files <= this.limits.monitorMaxFiles) {
        const directory = pending.pop()!;
        const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
        for (const entry of entries) {
          files++;
          const at = path.join(directory, entry.name);
          if (entry.isDirectory()) pending.push(at);
          else if (entry.isFile()) bytes += await lstat(at).then((s) => s.size, () => 0);
        }
      }
      this.#files = files;
      this.#bytes = bytes;
      this.#scannedAt = performance.now();
    })().finally(() => (this.#scanning = null));
    await this.#scanning;
  }
}

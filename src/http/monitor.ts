/**
 * The REST front's monitor: episode statistics written to files the way Gym's `gym.wrappers.Monitor`
 * wrote them (gym 0.x, which gym-http-api wrapped around its envs), so tools that read Gym's training
 * directories read these:
 *
 *   <dir>/openaigym.episode_batch.<index>.<pid>.stats.json
 *     {"initial_reset_timestamp": 1700000000.123, "timestamps": [...], "episode_lengths": [...],
 *      "episode_rewards": [...], "episode_types": ["t", ...]}
 *   <dir>/openaigym.manifest.<index>.<pid>.manifest.json
 *     {"stats": "<the stats file's name>", "videos": [], "env_info": {"gym_version": "...", "env_id": "..."}}
 *
 * `<index>` counts the monitors started by this process from 0 (Gym's `monitor_closer` ids), `<pid>` is
 * the server's process id. As in Gym (write_upon_reset=False) the files are written when the monitor is
 * closed — by monitor/close, by closing the env, by its idle timeout, or when the server stops.
 *
 * Written from memory of gym/wrappers/monitor.py and monitoring/stats_recorder.py (gym 0.9–0.21); where
 * this is unsure it says so. Differences, chosen on purpose:
 * - Gym raised when a monitored env was reset mid-episode or stepped past the end of an episode; here
 *   the unfinished episode is dropped (it is not a completed episode) and steps after the end of an
 *   episode are not counted, so an agent never fails because of its monitor.
 * - Gym raised when a monitored env was stepped before its first reset; here statistics simply start
 *   at the first reset after monitor/start.
 * - No video yet (no rendering): `videos` is always `[]`; `video_callable` is accepted and kept for then.
 */
import { mkdir, readdir, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PyFloat, toPyJson } from '../json/pyjson.js';

/** Gym's FILE_PREFIX: every file a monitor writes starts with `openaigym.` (force=true deletes those). */
export const FILE_PREFIX = 'openaigym';
const MANIFEST_PREFIX = `${FILE_PREFIX}.manifest.`;

/** A monitor request the client got wrong (a 400 for the REST front). */
export class MonitorError extends Error {}

/** Gym's monitor ids came from a process-wide counter starting at 0 (gym/utils/closer.py). */
let nextMonitorIndex = 0;

const VERSION = packageVersion();

/**
 * The directory a client asked for, confined under `root`:
 * - a relative path is taken below the root;
 * - an absolute path already inside the root is used as it is;
 * - any other absolute path is taken below the root as if the root were `/` (so gym-http-api clients
 *   that pass `/tmp/random-agent-results` work unchanged: their files land in `<root>/tmp/random-agent-results`);
 * - `..` that would climb above the root, a NUL byte, or a symbolic link inside the root that leads
 *   out of it is a MonitorError.
 * Both `/` and `\` separate components. The directory (and the root) is created if missing.
 */
export async function resolveMonitorDirectory(root: string, requested: string): Promise<string> {
  if (requested.includes('\0')) throw new MonitorError(`monitor directory ${JSON.stringify(requested)} contains a NUL byte`);
  const absoluteRoot = path.resolve(root);
  let relative = requested;
  if (path.isAbsolute(requested)) {
    const direct = path.relative(absoluteRoot, path.resolve(requested));
    if (direct === '' || (!direct.startsWith('..') && !path.isAbsolute(direct))) relative = direct;
  }
  const parts: string[] = [];
  for (const part of relative.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) {
        throw new MonitorError(
          `monitor directory ${JSON.stringify(requested)} escapes the monitor root: directories are confined under the server's --monitor-root`,
        );
      }
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  const target = path.join(absoluteRoot, ...parts);
  await mkdir(absoluteRoot, { recursive: true });
  const realRoot = await realpath(absoluteRoot);
  // Follow what already exists before creating anything, so a link inside the root cannot make us
  // create directories outside it.
  let existing = target;
  while (existing !== absoluteRoot && !(await exists(existing))) existing = path.dirname(existing);
  const inside = (p: string) => p === realRoot || p.startsWith(realRoot + path.sep);
  const escape = () =>
    new MonitorError(`monitor directory ${JSON.stringify(requested)} leads out of the monitor root (through a symbolic link)`);
  if (!inside(await realpath(existing))) throw escape();
  try {
    await mkdir(target, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new MonitorError(`monitor directory ${JSON.stringify(requested)} is (below) a file, not a directory`);
    }
    throw err;
  }
  const real = await realpath(target);
  if (!inside(real)) throw escape();
  return real;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export interface MonitorStartOptions {
  /** The operator's monitor root. */
  root: string;
  /** What the client sent as `directory`. */
  directory: string;
  /** Delete the directory's `openaigym.*` files first. */
  force: boolean;
  /** Keep monitor files already in the directory (otherwise their presence is an error). */
  resume: boolean;
  /** Record a video every this many episodes (0: never). Kept for when rendering exists. */
  videoEvery: number;
  /** The env id as the client asked for it (recorded in the manifest). */
  envId: string;
}

/** Gym's StatsRecorder plus the manifest its Monitor wrote. Fed from the REST env's replies, in order. */
export class EpisodeMonitor {
  readonly directory: string;
  readonly statsPath: string;
  readonly manifestPath: string;
  readonly videoEvery: number;
  readonly #envId: string;
  #initialResetTimestamp: number | null = null;
  readonly #timestamps: number[] = [];
  readonly #lengths: number[] = [];
  readonly #rewards: number[] = [];
  readonly #types: string[] = [];
  /** An episode is under way: false before the first reset and after the end of an episode. */
  #underway = false;
  #closed: Promise<void> | null = null;

  private constructor(directory: string, index: number, options: MonitorStartOptions) {
    this.directory = directory;
    const infix = `${index}.${process.pid}`;
    this.statsPath = path.join(directory, `${FILE_PREFIX}.episode_batch.${infix}.stats.json`);
    this.manifestPath = path.join(directory, `${FILE_PREFIX}.manifest.${infix}.manifest.json`);
    this.videoEvery = options.videoEvery;
    this.#envId = options.envId;
  }

  /** Gym's Monitor._start: resolve and create the directory, clear it (force) or refuse old files (no resume). */
  static async start(options: MonitorStartOptions): Promise<EpisodeMonitor> {
    const directory = await resolveMonitorDirectory(options.root, options.directory);
    const files = await readdir(directory);
    if (options.force) {
      await Promise.all(
        files.filter((f) => f.startsWith(FILE_PREFIX + '.')).map((f) => unlink(path.join(directory, f)).catch(() => {})),
      );
    } else if (!options.resume) {
      const manifests = files.filter((f) => f.startsWith(MANIFEST_PREFIX));
      if (manifests.length > 0) {
        // Gym's message (there a gym.error.Error, so a 500 from gym-http-api; here a 400).
        throw new MonitorError(
          `Trying to write to monitor directory ${options.directory} with existing monitor files: ${manifests.slice(0, 5).join(', ')}.\n\n` +
            ` You should use a unique directory for each training run, or use 'force=True' to automatically clear previous monitor files.`,
        );
      }
    }
    return new EpisodeMonitor(directory, nextMonitorIndex++, options);
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  /** After a successful reset. */
  onReset(): void {
    if (this.#closed) return;
    // An episode abandoned by this reset was never completed: drop its type entry (Gym raised instead).
    if (this.#underway) this.#types.pop();
    this.#initialResetTimestamp ??= now();
    this.#underway = true;
    this.#types.push('t'); // Gym's StatsRecorder wrote the type at reset; 't' is training ('e' evaluation)
  }

  /**
   * After a step that ended an episode, with its return and length as the EnvRunner counted them
   * (statistics are counted once, there). Steps after the end of an episode end it again in the
   * runner's count; only the first end after a reset is an episode here.
   */
  onEpisodeEnd(episodeReturn: number, length: number): void {
    if (this.#closed || !this.#underway) return;
    this.#lengths.push(length);
    this.#rewards.push(episodeReturn);
    this.#timestamps.push(now());
    this.#underway = false;
  }

  /** Episodes completed so far. */
  get episodes(): number {
    return this.#lengths.length;
  }

  /** Writes the stats and the manifest (once; later calls return the same promise). */
  close(): Promise<void> {
    this.#closed ??= this.#write();
    return this.#closed;
  }

  async #write(): Promise<void> {
    // An episode still under way is not in the statistics, but its type stays (as in Gym).
    const stats = toPyJson({
      initial_reset_timestamp: this.#initialResetTimestamp === null ? null : new PyFloat(this.#initialResetTimestamp),
      timestamps: this.#timestamps.map((t) => new PyFloat(t)),
      episode_lengths: this.#lengths,
      episode_rewards: this.#rewards.map((r) => new PyFloat(r)),
      episode_types: this.#types,
    });
    await atomicWrite(this.statsPath, stats);
    // Unsure: Gym wrote its own version here; these files come from gym-tcp, so they say so.
    const manifest = toPyJson({
      stats: path.basename(this.statsPath),
      videos: [],
      env_info: { gym_version: `gym-tcp ${VERSION}`, env_id: this.#envId },
    });
    await atomicWrite(this.manifestPath, manifest);
  }
}

/** Python's time.time(): seconds since the epoch, to the microsecond. */
function now(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1e6;
}

async function atomicWrite(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

/** package.json is two levels up from src/http, three from dist/src/http. */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gym-tcp' && pkg.version) return pkg.version;
    } catch {
      // try the next level
    }
  }
  return 'unknown';
}

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
 * - Videos: the episodes `video_callable` picks (Gym's capped cubic schedule when unset) are recorded
 *   by the server's recorder (src/recording/) and copied here once encoded, as Gym's VideoRecorder
 *   named them: `openaigym.video.<index>.<pid>.video<episode:06>.mp4` with its `.meta.json`, listed in
 *   the manifest's `videos` as [video, meta] pairs. A video that would pass the storage limits is not
 *   written, nor listed.
 */
import { readFileSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { PyFloat, toPyJson } from '../json/pyjson.js';
import { MonitorError, directoryComponents, openMonitorDirectory, openRoot, type OpenDirectory } from './directory.js';
import { RootQuota, type MonitorLimits } from './quota.js';
import type { Recording } from '../recording/recorder.js';
import { readFile } from 'node:fs/promises';

export { MonitorError } from './directory.js';
export type { MonitorLimits } from './quota.js';

/** Gym's FILE_PREFIX: every file a monitor writes starts with `openaigym.` (force=true deletes those). */
export const FILE_PREFIX = 'openaigym';
const MANIFEST_PREFIX = `${FILE_PREFIX}.manifest.`;

/** What both fronts pass from the option table: the root and the storage limits under it. */
export interface MonitorSettings extends MonitorLimits {
  monitorRoot: string;
}

/** Gym's monitor ids came from a process-wide counter starting at 0 (gym/utils/closer.py). */
let nextMonitorIndex = 0;

const VERSION = packageVersion();

/** The files one monitor writes: its stats and its manifest. */
const FILES_PER_MONITOR = 2;
/**
 * An upper bound of what one episode adds to the stats file: a timestamp and a return as Python
 * floats (at most 24 characters each), a length, a type, separators. Recording stops once the file
 * could not be written anyway (over --monitor-dir-max-bytes), which also bounds a monitor's memory.
 */
const BYTES_PER_EPISODE = 80;

export interface MonitorStartOptions {
  /** The operator's monitor root and storage limits. */
  settings: MonitorSettings;
  /** What the client sent as `directory`. */
  directory: string;
  /** Delete the directory's `openaigym.*` files first. */
  force: boolean;
  /** Keep monitor files already in the directory (otherwise their presence is an error). */
  resume: boolean;
  /** Record a video every this many episodes (0: never, -1: Gym's capped cubic schedule; see session.ts). */
  videoEvery: number;
  /** The env id as the client asked for it (recorded in the manifest). */
  envId: string;
}

/** Gym's StatsRecorder plus the manifest its Monitor wrote. Fed from the REST env's replies, in order. */
export class EpisodeMonitor {
  /** What the client asked for (messages say it as it was sent). */
  readonly directory: string;
  readonly statsName: string;
  readonly manifestName: string;
  readonly videoEvery: number;
  readonly #envId: string;
  readonly #settings: MonitorSettings;
  readonly #parts: readonly string[];
  readonly #quota: RootQuota;
  /** The directory's identity at start, under which its two files are reserved in the quota. */
  readonly #reservedIn: string;
  #initialResetTimestamp: number | null = null;
  readonly #timestamps: number[] = [];
  readonly #lengths: number[] = [];
  readonly #rewards: number[] = [];
  readonly #types: string[] = [];
  /** An episode is under way: false before the first reset and after the end of an episode. */
  #underway = false;
  /** More episodes ended than the stats file could hold (--monitor-dir-max-bytes): they are not kept. */
  #overflowed = false;
  #closed: Promise<void> | null = null;
  /** Resets since start: the episode under way is `#resets - 1` (Gym's episode_id). */
  #resets = 0;
  /** The last recording attached (the recorder's latest for the env, which may be older than this monitor). */
  #lastRecording: Recording | undefined;
  /** Videos being copied here, in episode order: [video, meta] names once written, null if not. */
  readonly #videos: Promise<[string, string] | null>[] = [];
  readonly #infix: string;

  private constructor(index: number, options: MonitorStartOptions, parts: readonly string[], quota: RootQuota, reservedIn: string) {
    this.directory = options.directory;
    const infix = `${index}.${process.pid}`;
    this.#infix = infix;
    this.statsName = `${FILE_PREFIX}.episode_batch.${infix}.stats.json`;
    this.manifestName = `${FILE_PREFIX}.manifest.${infix}.manifest.json`;
    this.videoEvery = options.videoEvery;
    this.#envId = options.envId;
    this.#settings = options.settings;
    this.#parts = parts;
    this.#quota = quota;
    this.#reservedIn = reservedIn;
  }

  /**
   * Gym's Monitor._start: check the name, open (making) the directory without following links, clear
   * it (force) or refuse old files (no resume), and reserve room for the two files.
   */
  static async start(options: MonitorStartOptions): Promise<EpisodeMonitor> {
    const parts = directoryComponents(options.settings.monitorRoot, options.directory);
    const { quota, directory } = await openDirectory(options.settings, parts, options.directory);
    try {
      let files = await directory.entries();
      if (options.force) {
        const cleared = files.filter((f) => f.startsWith(FILE_PREFIX + '.'));
        await Promise.all(cleared.map((f) => removeFile(directory, f, quota)));
        files = await directory.entries();
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
      await quota.reserve(FILES_PER_MONITOR, directory.key, files.length);
      return new EpisodeMonitor(nextMonitorIndex++, options, parts, quota, directory.key);
    } finally {
      await directory.close();
    }
  }

  get closed(): boolean {
    return this.#closed !== null;
  }

  /** After a successful reset. */
  onReset(): void {
    if (this.#closed || this.#overflowed) return;
    // An episode abandoned by this reset was never completed: drop its type entry (Gym raised instead).
    if (this.#underway) this.#types.pop();
    this.#initialResetTimestamp ??= now();
    this.#resets += 1;
    this.#underway = true;
    this.#types.push('t'); // Gym's StatsRecorder wrote the type at reset; 't' is training ('e' evaluation)
  }

  /**
   * After a step that ended an episode, with its return and length as the EnvRunner counted them
   * (statistics are counted once, there). Steps after the end of an episode end it again in the
   * runner's count; only the first end after a reset is an episode here.
   */
  onEpisodeEnd(episodeReturn: number, length: number): void {
    if (this.#closed || !this.#underway || this.#overflowed) return;
    if ((this.#lengths.length + 1) * BYTES_PER_EPISODE > this.#settings.monitorDirMaxBytes) {
      this.#overflowed = true;
      return;
    }
    this.#lengths.push(length);
    this.#rewards.push(episodeReturn);
    this.#timestamps.push(now());
    this.#underway = false;
  }

  /**
   * The env's latest recording after a reset or an episode's end (the recorder's, by instance): a new
   * one is the video of the episode that just ended, copied here once encoded. `atReset`: the
   * episode that ended is the one before the reset just counted.
   */
  noteRecording(recording: Recording | undefined, atReset: boolean): void {
    if (!recording || recording === this.#lastRecording || recording.state === 'recording' || this.#closed) return;
    this.#lastRecording = recording;
    const episode = this.#resets - (atReset ? 2 : 1);
    if (episode < 0 || this.videoEvery === 0) return;
    this.#videos.push(this.#copyVideo(recording, episode).catch(() => null));
  }

  async #copyVideo(recording: Recording, episode: number): Promise<[string, string] | null> {
    if ((await recording.settled()) !== 'ready') return null;
    const base = `${FILE_PREFIX}.video.${this.#infix}.video${String(episode).padStart(6, '0')}`;
    const video = await readFile(recording.file);
    const meta = toPyJson({ episode_id: episode, content_type: 'video/mp4', encoder_version: { backend: 'h264-mp4-encoder', version: `gym-tcp ${VERSION}` } });
    const { quota, directory } = await openDirectory(this.#settings, this.#parts, this.directory);
    try {
      await quota.reserve(2, directory.key, (await directory.entries()).length);
      try {
        await quota.admitBytes(video.byteLength + Buffer.byteLength(meta), await bytesIn(directory));
        await writeFile(directory, `${base}.mp4`, video, quota);
        await writeFile(directory, `${base}.meta.json`, meta, quota);
      } finally {
        quota.release(2, directory.key);
      }
    } finally {
      await directory.close();
    }
    return [`${base}.mp4`, `${base}.meta.json`];
  }

  /** Episodes completed so far. */
  get episodes(): number {
    return this.#lengths.length;
  }

  /** Writes the stats and the manifest (once; later calls return the same promise). */
  close(): Promise<void> {
    this.#closed ??= this.#write().finally(() => this.#quota.release(FILES_PER_MONITOR, this.#reservedIn));
    return this.#closed;
  }

  async #write(): Promise<void> {
    if (this.#overflowed) {
      throw new MonitorError(
        `the monitor of ${JSON.stringify(this.directory)} recorded more episodes than a stats file of --monitor-dir-max-bytes ` +
          `(${this.#settings.monitorDirMaxBytes} bytes) holds; nothing was written`,
        507,
      );
    }
    // An episode still under way is not in the statistics, but its type stays (as in Gym).
    const stats = toPyJson({
      initial_reset_timestamp: this.#initialResetTimestamp === null ? null : new PyFloat(this.#initialResetTimestamp),
      timestamps: this.#timestamps.map((t) => new PyFloat(t)),
      episode_lengths: this.#lengths,
      episode_rewards: this.#rewards.map((r) => new PyFloat(r)),
      episode_types: this.#types,
    });
    const videos = (await Promise.all(this.#videos)).filter((v) => v !== null);
    // Unsure: Gym wrote its own version here; these files come from gym-tcp, so they say so.
    const manifest = toPyJson({
      stats: this.statsName,
      videos,
      env_info: { gym_version: `gym-tcp ${VERSION}`, env_id: this.#envId },
    });
    // The directory is walked again from the root: whatever replaced a component since start (a
    // link to elsewhere) is refused here, where it matters.
    const { directory } = await openDirectory(this.#settings, this.#parts, this.directory);
    try {
      const bytes = Buffer.byteLength(stats) + Buffer.byteLength(manifest);
      await this.#quota.admitBytes(bytes, await bytesIn(directory));
      await writeFile(directory, this.statsName, stats, this.#quota);
      await writeFile(directory, this.manifestName, manifest, this.#quota);
    } finally {
      await directory.close();
    }
  }
}

/** The root's quota and the directory below it, opened (made) from the root without following links. */
async function openDirectory(settings: MonitorSettings, parts: readonly string[], requested: string) {
  const root = await openRoot(settings.monitorRoot);
  try {
    const quota = await RootQuota.of(root.path, settings);
    const directory = await openMonitorDirectory(root, parts, requested, () => quota.addDirectory());
    return { quota, directory };
  } finally {
    if (parts.length > 0) await root.close();
  }
}

/**
 * Writes `name` in `directory` (whole or not at all) and counts the file under the root (its bytes
 * were counted by admitBytes; a file it replaces is taken off).
 */
async function writeFile(directory: OpenDirectory, name: string, text: string | Uint8Array, quota: RootQuota): Promise<void> {
  const before = await lstat(directory.at(name)).catch(() => null);
  try {
    await directory.writeAtomically(name, text);
  } catch (err) {
    quota.changed(0, -Buffer.byteLength(text));
    throw err;
  }
  quota.changed(before ? 0 : 1, before?.isFile() ? -before.size : 0);
}

/** force: one of the directory's `openaigym.*` files goes (a directory so named stays). */
async function removeFile(directory: OpenDirectory, name: string, quota: RootQuota): Promise<void> {
  const before = await lstat(directory.at(name)).catch(() => null);
  if (!before || before.isDirectory()) return;
  await directory.remove(name).then(
    () => quota.changed(-1, before.isFile() ? -before.size : 0),
    () => {},
  );
}

/** What the directory's files hold (its entries are bounded by --monitor-dir-max-files). */
async function bytesIn(directory: OpenDirectory): Promise<number> {
  let bytes = 0;
  for (const name of await directory.entries()) {
    const entry = await lstat(directory.at(name)).catch(() => null);
    if (entry?.isFile()) bytes += entry.size;
  }
  return bytes;
}

/** Python's time.time(): seconds since the epoch, to the microsecond. */
function now(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1e6;
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

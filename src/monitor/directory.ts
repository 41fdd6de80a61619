/**
 * A monitor's directory on a disk others may share: confined under the monitor root, reached without
 * following any symbolic link, and written only through files created exclusively under names nobody
 * can guess.
 *
 * Node has no openat(2). On Linux `/proc/self/fd/<fd>/<name>` is the next best thing: the kernel
 * resolves `/proc/self/fd/<fd>` to the very directory the descriptor holds, whatever has been renamed
 * or replaced on the path since, so a walk that opens each component below the previous one's
 * descriptor with O_NOFOLLOW | O_DIRECTORY, and files created and renamed below the last descriptor,
 * cannot be led out of the root by a link swapped in at any moment. The walk is repeated at every
 * write (monitor/start and monitor/close may be an hour apart). Elsewhere (no /proc) components are
 * opened by full path, each with O_NOFOLLOW: a link swapped into an EARLIER component between two
 * opens of one walk (microseconds) can still redirect the later ones; that window is the fallback's
 * only, and gym-tcp's deployments (Linux, the Docker image) use /proc.
 */
import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/**
 * A monitor request that cannot be honoured; `status` is the REST front's answer: 400 the client's
 * directory, 507 the monitor's storage limits, 500 a root the server must not write to (the operator's).
 */
export class MonitorError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 500 | 507 = 400,
  ) {
    super(message);
  }
}

/** NAME_MAX and PATH_MAX of Linux (and the limits of ext4, xfs, btrfs, tmpfs): bytes, not characters. */
const MAX_NAME_BYTES = 255;
const MAX_PATH_BYTES = 4095;
/** The longest name the monitor writes in a directory (a temporary one), kept free of the path limit. */
const LONGEST_FILE_NAME = 96;

const DIRECTORY_FLAGS = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);
/** O_EXCL refuses any existing name, a planted link included; O_NOFOLLOW says so for old kernels' sake. */
const NEW_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
const USE_PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd');

/**
 * The components of the directory a client asked for, below `root`:
 * - a relative path is taken below the root;
 * - an absolute path already inside the root is used as it is;
 * - any other absolute path is taken below the root as if the root were `/` (so gym-http-api clients
 *   that pass `/tmp/random-agent-results` work unchanged: their files land in `<root>/tmp/random-agent-results`);
 * - `..` that would climb above the root, a NUL byte, a component over 255 bytes or a path over
 *   4095 bytes (with the monitor's file names) is a MonitorError (400).
 * Both `/` and `\` separate components.
 */
export function directoryComponents(root: string, requested: string): string[] {
  const quoted = JSON.stringify(requested.length > 80 ? `${requested.slice(0, 80)}…` : requested);
  if (requested.includes('\0')) throw new MonitorError(`monitor directory ${quoted} contains a NUL byte`);
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
          `monitor directory ${quoted} escapes the monitor root: directories are confined under the server's --monitor-root`,
        );
      }
      parts.pop();
    } else if (Buffer.byteLength(part) > MAX_NAME_BYTES) {
      throw new MonitorError(
        `monitor directory ${quoted} has a component of ${Buffer.byteLength(part)} bytes; a file system allows ${MAX_NAME_BYTES} at most`,
      );
    } else {
      parts.push(part);
    }
  }
  const bytes = Buffer.byteLength(path.join(absoluteRoot, ...parts)) + 1 + LONGEST_FILE_NAME;
  if (bytes > MAX_PATH_BYTES) {
    throw new MonitorError(
      `monitor directory ${quoted} is too long: below the monitor root, with the monitor's file names, its paths would be ` +
        `${bytes} bytes; a path may have ${MAX_PATH_BYTES} at most`,
    );
  }
  return parts;
}

/** An open monitor directory: names below `base` are resolved in it (see the top of this file). */
export class OpenDirectory {
  private constructor(
    readonly handle: FileHandle,
    /** `/proc/self/fd/<fd>`, or the directory's path where there is no /proc. */
    readonly base: string,
    /** The path it was opened by (what it is called in messages; the root's scan starts there). */
    readonly path: string,
    /** The device and inode: the directory's identity, whatever its name becomes. */
    readonly key: string,
  ) {}

  static async open(location: string, display: string, trusted: (uid: number) => boolean): Promise<OpenDirectory> {
    let handle: FileHandle;
    try {
      handle = await open(location, DIRECTORY_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || code === 'ENOTDIR') {
        const link = await lstat(location).then((s) => s.isSymbolicLink(), () => false);
        if (link) {
          throw new MonitorError(
            `${display} is a symbolic link, which leads out of the monitor root or could be made to: monitor directories must be real directories`,
          );
        }
        throw new MonitorError(`${display} is (below) a file, not a directory`);
      }
      throw err;
    }
    try {
      const stat = await handle.stat();
      const problem = unsafe(stat.uid, stat.mode, trusted);
      if (problem) throw new MonitorError(`${display} ${problem}: the server will not write there`);
      return new OpenDirectory(handle, USE_PROC_FD ? `/proc/self/fd/${handle.fd}` : location, location, `${stat.dev}:${stat.ino}`);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Where `name` (one component) is, for fs calls that take a path. */
  at(name: string): string {
    return `${this.base}/${name}`;
  }

  /** The directory `name` in this one, made if missing (`onCreate` first: it may refuse). */
  async child(name: string, display: string, trusted: (uid: number) => boolean, onCreate: () => Promise<void>): Promise<OpenDirectory> {
    const location = USE_PROC_FD ? this.at(name) : path.join(this.path, name);
    try {
      return await OpenDirectory.open(location, display, trusted);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await onCreate();
    // 0o755 (less the umask): never writable by others, whatever the umask.
    await mkdir(location, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    return OpenDirectory.open(location, display, trusted);
  }

  /** Removes the file (or link: never followed) `name`. */
  async remove(name: string): Promise<void> {
    await unlink(this.at(name));
  }

  async entries(): Promise<string[]> {
    return readdir(this.base);
  }

  /**
   * Writes `name` whole or not at all: a temporary file created exclusively under a random name (a
   * link or file planted under any name is refused, never followed), then renamed over `name` (a
   * rename replaces a link planted under `name` itself rather than following it). The temporary name
   * starts like the monitor's files, so `force` clears one left by a crash.
   */
  async writeAtomically(name: string, text: string | Uint8Array): Promise<void> {
    const temporary = `${name}.${randomBytes(12).toString('hex')}.tmp`;
    const file = await open(this.at(temporary), NEW_FILE_FLAGS, 0o644);
    try {
      await file.writeFile(text);
    } finally {
      await file.close();
    }
    try {
      await rename(this.at(temporary), this.at(name));
    } catch (err) {
      await unlink(this.at(temporary)).catch(() => {});
      throw err;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * Why a directory someone else can write to is refused: whoever can write to it can rename and remove
 * what is in it (the statistics) and plant entries outside the monitor's storage limits; whoever owns
 * it can also change its mode at will. So the owner must be the server's user or root, and nobody
 * else may write (mode & 0o022). A log line would be read long after the damage; a refusal says at
 * once what to fix.
 */
function unsafe(uid: number, mode: number, trusted: (uid: number) => boolean): string | null {
  if (!trusted(uid)) return `belongs to user ${uid}, not to the server's user`;
  if (mode & 0o022) return `is writable by ${mode & 0o002 ? 'everyone' : 'its group'} (mode ${(mode & 0o7777).toString(8)}; \`chmod go-w\` it)`;
  return null;
}

/** Owners the server trusts: itself and root (off POSIX, no owners to check). */
export function trustedOwners(): (uid: number) => boolean {
  const self = process.getuid?.();
  return self === undefined ? () => true : (uid) => uid === self || uid === 0;
}

/**
 * Opens the monitor root, created if missing (with its parents, 0o755 less the umask). The operator's
 * path may go through links (a /tmp that is one); the root itself is opened without following one,
 * and refused if someone else can write to it (500: the operator's to fix).
 */
export async function openRoot(root: string): Promise<OpenDirectory> {
  const absolute = path.resolve(root);
  await mkdir(absolute, { recursive: true, mode: 0o755 });
  const real = await realpath(absolute);
  try {
    return await OpenDirectory.open(real, `the monitor root ${absolute}`, trustedOwners());
  } catch (err) {
    if (err instanceof MonitorError) throw new MonitorError(err.message, 500);
    throw err;
  }
}

/**
 * Opens the directory `parts` below the root, component by component from the root's descriptor,
 * never following a link and making what is missing (`onCreate` is told first, per directory, and may
 * refuse). Run at monitor/start and again at every write: what was checked at start proves nothing an
 * hour later.
 */
export async function openMonitorDirectory(root: OpenDirectory, parts: readonly string[], requested: string, onCreate: () => Promise<void>): Promise<OpenDirectory> {
  const trusted = trustedOwners();
  const quoted = JSON.stringify(requested.length > 80 ? `${requested.slice(0, 80)}…` : requested);
  let directory = root;
  try {
    for (let i = 0; i < parts.length; i++) {
      const display = `monitor directory ${quoted}: ${JSON.stringify(parts.slice(0, i + 1).join('/'))}`;
      const next = await directory.child(parts[i], display, trusted, onCreate);
      if (directory !== root) await directory.close();
      directory = next;
    }
    return directory;
  } catch (err) {
    if (directory !== root) await directory.close();
    // A file system with shorter limits than Linux's usual ones: still the client's name.
    if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') throw new MonitorError(`monitor directory ${quoted} is too long for the server's file system`);
    throw err;
  }
}

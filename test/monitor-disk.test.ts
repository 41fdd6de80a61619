/**
 * The monitor on a disk others share: a directory swapped for a link between monitor/start and
 * monitor/close, links planted under the names the server writes, a root others can write to,
 * start/close loops that would fill the disk, and names no file system takes. REST answers each with
 * a clear status; TCP stays silent and logs.
 */
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestServer, type RestServerOptions } from '../src/http/rest-server.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, startServer } from './helpers.js';

let server: GymTcpServer;
beforeAll(async () => {
  server = await startServer({ workers: 1 });
});
afterAll(async () => {
  await server.close();
});

const tmp = (prefix: string) => mkdtemp(path.join(os.tmpdir(), prefix));

/** A REST front on its own root (and limits), and a request helper that returns status and body. */
async function restOn(root: string, options: Partial<RestServerOptions> = {}) {
  const rest = await RestServer.listen(server.pool, { port: 0, monitorRoot: root, ...options });
  const base = `http://127.0.0.1:${rest.address().port}`;
  const call = async (route: string, body?: unknown) => {
    const response = await fetch(base + route, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await response.text();
    return { status: response.status, message: text ? (JSON.parse(text).message as string | undefined) : undefined, body: text };
  };
  const env = async () => JSON.parse((await call('/v1/envs/', { env_id: 'CartPole-v1' })).body).instance_id as string;
  return { rest, call, env };
}

describe('the monitor on a shared disk', () => {
  it('refuses at monitor/close a directory replaced by a link since monitor/start: nothing lands outside the root', async () => {
    const root = await tmp('gym-tcp-mon-root-');
    const outside = await tmp('gym-tcp-mon-outside-');
    const { rest, call, env } = await restOn(root);
    const id = await env();
    expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'run' })).status).toBe(204);
    await call(`/v1/envs/${id}/reset/`);
    // Someone who can write to the root swaps the directory for a link to elsewhere.
    await rename(path.join(root, 'run'), path.join(root, 'run-moved'));
    await symlink(outside, path.join(root, 'run'));
    const close = await call(`/v1/envs/${id}/monitor/close/`);
    expect(close.status).toBe(400);
    expect(close.message).toMatch(/"run" is a symbolic link/);
    expect(await readdir(outside)).toEqual([]);
    await rest.close();
  });

  it('never follows a link planted under the name of a file it writes (the temporary names are unguessable)', async () => {
    const root = await tmp('gym-tcp-mon-root-');
    const outside = await tmp('gym-tcp-mon-outside-');
    const { rest, call, env } = await restOn(root);
    const id = await env();
    expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'run' })).status).toBe(204);
    // An attacker plants dangling links under every name the server could pick for its files and for
    // temporary files named after them (the monitor index counts from 0, the pid is public).
    const dir = path.join(root, 'run');
    for (let index = 0; index < 200; index++) {
      for (const file of [`openaigym.episode_batch.${index}.${process.pid}.stats.json`, `openaigym.manifest.${index}.${process.pid}.manifest.json`]) {
        await symlink(path.join(outside, `${file}.tmp`), path.join(dir, `${file}.${process.pid}.tmp`));
      }
    }
    expect((await call(`/v1/envs/${id}/monitor/close/`)).status).toBe(204);
    expect(await readdir(outside)).toEqual([]);
    const written = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    expect(written).toHaveLength(2);
    for (const f of written) {
      expect((await lstat(path.join(dir, f))).isFile()).toBe(true);
      expect(JSON.parse(await readFile(path.join(dir, f), 'utf8'))).toBeTypeOf('object');
    }
    await rest.close();
  });

  it('refuses a root that someone else can write to or owns, saying what to fix (500: the operator’s)', async () => {
    const parent = await tmp('gym-tcp-mon-parent-');
    const root = path.join(parent, 'root');
    await mkdir(root);
    const { rest, call, env } = await restOn(root);
    const id = await env();
    await chmod(root, 0o777);
    let start = await call(`/v1/envs/${id}/monitor/start/`, { directory: 'run' });
    expect(start.status).toBe(500);
    expect(start.message).toMatch(/monitor root .* is writable by everyone \(mode 777; `chmod go-w` it\)/);
    await chmod(root, 0o775);
    start = await call(`/v1/envs/${id}/monitor/start/`, { directory: 'run' });
    expect(start.status).toBe(500);
    expect(start.message).toMatch(/writable by its group/);
    if (process.getuid?.() === 0) {
      // Only root can give a directory away; as anyone else, the case cannot be made here.
      await chmod(root, 0o755);
      await chown(root, 4321, 4321);
      start = await call(`/v1/envs/${id}/monitor/start/`, { directory: 'run' });
      expect(start.status).toBe(500);
      expect(start.message).toMatch(/belongs to user 4321/);
      await chown(root, 0, 0);
    }
    await chmod(root, 0o755);
    expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'run' })).status).toBe(204);
    expect(await readdir(root)).toEqual(['run']);
    await rest.close();
  });

  it('bounds the files of one directory and of the root: a start/close loop gets a 507 naming the limit', async () => {
    const root = await tmp('gym-tcp-mon-root-');
    const { rest, call, env } = await restOn(root, { monitorDirMaxFiles: 6, monitorMaxFiles: 20 });
    const id = await env();
    // One directory, resumed: 2 files per monitor, 6 at most.
    let statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call>> | null = null;
    for (let i = 0; i < 50 && (last === null || last.status === 204); i++) {
      last = await call(`/v1/envs/${id}/monitor/start/`, { directory: 'loop', resume: true });
      statuses.push(last.status);
      if (last.status === 204) expect((await call(`/v1/envs/${id}/monitor/close/`)).status).toBe(204);
    }
    expect(statuses).toEqual([204, 204, 204, 507]);
    expect(last!.message).toMatch(/--monitor-dir-max-files/);
    expect(await readdir(path.join(root, 'loop'))).toHaveLength(6);
    // force clears the directory: the loop may go on there.
    expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'loop', force: true })).status).toBe(204);
    expect((await call(`/v1/envs/${id}/monitor/close/`)).status).toBe(204);
    // New directories each time: 3 entries each (the directory, 2 files) against 20 in all.
    statuses = [];
    last = null;
    for (let i = 0; i < 50 && (last === null || last.status === 204); i++) {
      last = await call(`/v1/envs/${id}/monitor/start/`, { directory: `run-${i}` });
      statuses.push(last.status);
      if (last.status === 204) expect((await call(`/v1/envs/${id}/monitor/close/`)).status).toBe(204);
    }
    // 3 entries from the loop (its directory, 2 files), then 3 per run: 6, 9, 12, 15, 18; the sixth would make 21.
    expect(statuses.filter((s) => s === 204)).toHaveLength(5);
    expect(last!.status).toBe(507);
    expect(last!.message).toMatch(/--monitor-max-files/);
    // Space the operator frees by hand counts (the root is measured again, at most once a second).
    await rm(path.join(root, 'loop'), { recursive: true });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'after-cleanup' })).status).toBe(204);
    await rest.close();
  });

  it('bounds bytes per directory and in all: monitor/close is a 507 and writes nothing', async () => {
    const root = await tmp('gym-tcp-mon-root-');
    const { rest, call, env } = await restOn(root, { monitorDirMaxBytes: 2048, monitorMaxBytes: 4096 });
    const id = await env();
    let close: Awaited<ReturnType<typeof call>> | null = null;
    let written = 0;
    for (let i = 0; i < 50 && (close === null || close.status === 204); i++) {
      expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'bytes', resume: true })).status).toBe(204);
      close = await call(`/v1/envs/${id}/monitor/close/`);
      if (close.status === 204) written++;
    }
    expect(close!.status).toBe(507);
    expect(close!.message).toMatch(/--monitor-dir-max-bytes/);
    const files = await readdir(path.join(root, 'bytes'));
    expect(files).toHaveLength(2 * written);
    let bytes = 0;
    for (const f of files) bytes += (await lstat(path.join(root, 'bytes', f))).size;
    expect(bytes).toBeLessThanOrEqual(2048);
    close = null;
    for (let i = 0; i < 50 && (close === null || close.status === 204); i++) {
      expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: `bytes-${i}` })).status).toBe(204);
      close = await call(`/v1/envs/${id}/monitor/close/`);
    }
    expect(close!.status).toBe(507);
    expect(close!.message).toMatch(/--monitor-max-bytes/);
    await rest.close();
  });

  it('stops keeping episodes a stats file could not hold (its memory bounded too): monitor/close is a 507', async () => {
    const root = await tmp('gym-tcp-mon-root-');
    const { rest, call, env } = await restOn(root, { monitorDirMaxBytes: 1024 });
    const id = await env();
    expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'long-run' })).status).toBe(204);
    // 1024 bytes hold 12 episodes at the generous 80 bytes each; play 13 (always pushing right: ~10 steps each).
    for (let episode = 0; episode < 13; episode++) {
      await call(`/v1/envs/${id}/reset/`);
      while (!JSON.parse((await call(`/v1/envs/${id}/step/`, { action: 1 })).body).done);
    }
    const close = await call(`/v1/envs/${id}/monitor/close/`);
    expect(close.status).toBe(507);
    expect(close.message).toMatch(/recorded more episodes than a stats file of --monitor-dir-max-bytes \(1024 bytes\) holds/);
    expect(await readdir(path.join(root, 'long-run'))).toEqual([]);
    await rest.close();
  });

  it('answers names no file system takes with a 400 that says why', async () => {
    const root = await tmp('gym-tcp-mon-root-');
    const { rest, call, env } = await restOn(root);
    const id = await env();
    const long = await call(`/v1/envs/${id}/monitor/start/`, { directory: 'x'.repeat(300) });
    expect(long.status).toBe(400);
    expect(long.message).toMatch(/a component of 300 bytes; a file system allows 255 at most/);
    // 255 bytes counted in UTF-8, not characters: 128 two-byte letters are 256 bytes.
    expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'é'.repeat(128) })).status).toBe(400);
    const deep = await call(`/v1/envs/${id}/monitor/start/`, { directory: Array(20).fill('d'.repeat(250)).join('/') });
    expect(deep.status).toBe(400);
    expect(deep.message).toMatch(/is too long: .* a path may have 4095 at most/);
    expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'a\u0000b' })).status).toBe(400);
    expect(await readdir(root)).toEqual([]);
    // The longest name that is fine is fine.
    expect((await call(`/v1/envs/${id}/monitor/start/`, { directory: 'x'.repeat(255) })).status).toBe(204);
    await rest.close();
  });

  it('over TCP, refuses the same things silently: logged, never answered, nothing outside the root', async () => {
    const parent = await tmp('gym-tcp-mon-parent-');
    const root = path.join(parent, 'root');
    const outside = await tmp('gym-tcp-mon-outside-');
    const logged: string[] = [];
    const s = await startServer({ workers: 1, monitorRoot: root, monitorMaxFiles: 4, log: (m, fields) => fields?.level !== 'debug' && logged.push(m) });
    const c = await RawClient.connect(s);
    await c.ask(CPP.make('CartPole-v1'));
    c.write(`${CPP.monitorStart('run')}\r\n`);
    expect((await c.ask(CPP.reset)).observation).toHaveLength(4);
    // Wait for the start to have made the directory, then swap it for a link.
    for (let i = 0; i < 100 && !(await readdir(root).catch(() => [] as string[])).includes('run'); i++) await new Promise((r) => setTimeout(r, 10));
    await rename(path.join(root, 'run'), path.join(root, 'run-moved'));
    await symlink(outside, path.join(root, 'run'));
    c.write(`${CPP.monitorClose}\r\n`);
    c.write(`${CPP.monitorStart('x'.repeat(300))}\r\n`);
    c.write(`${CPP.monitorStart('full/a/b/c')}\r\n`); // 4 new directories: past 4 entries in all
    expect((await c.ask(CPP.step('1'))).reward).toBe(1);
    // Monitor lines are acted on after their turn in the connection's order, off the reply path.
    for (let i = 0; i < 200 && logged.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(logged).toHaveLength(3);
    await chmod(root, 0o777);
    c.write(`${CPP.monitorStart('other')}\r\n`);
    expect((await c.ask(CPP.step('1'))).reward).toBe(1);
    await c.end();
    await s.close();
    expect(await readdir(outside)).toEqual([]);
    expect(logged).toHaveLength(4);
    const log = logged.join('\n');
    expect(log).toMatch(/the monitor failed: .*"run" is a symbolic link/);
    expect(log).toMatch(/refused, nothing is recorded: .*a component of 300 bytes/);
    expect(log).toMatch(/refused, nothing is recorded: .*--monitor-max-files/);
    expect(log).toMatch(/refused, nothing is recorded: .*writable by everyone/);
  });
});

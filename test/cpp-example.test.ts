/**
 * gym-tcp-api's own example.cpp (test/fixtures/cpp-client, upstream's file unchanged: a random agent
 * on CartPole-v1 at 127.0.0.1:4040, compression 9, episode statistics, every step rendered, then
 * `close` and `url`) against `gym-tcp serve`'s defaults: it plays to the end, and the link it prints
 * gives the video of its episode. The example's host and port are fixed, so the test needs port 4040
 * (it is skipped, saying so, where something else holds it).
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startServer } from './helpers.js';
import { mp4Facts } from './mp4.js';
import { CPP_MISSING, cppBuildable, cppClientBinary } from './cpp-client.js';

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe("gym-tcp-api's example.cpp, unchanged", () => {
  it('plays its random episode against the default port, and the url it prints plays that episode', async (ctx) => {
    if (!cppBuildable) {
      console.warn(CPP_MISSING);
      return ctx.skip();
    }
    if (!(await portFree(4040))) {
      console.warn('port 4040 is taken (example.cpp connects there): not run');
      return ctx.skip();
    }
    const binary = await cppClientBinary('example.cpp');
    const server = await startServer({ port: 4040, host: '127.0.0.1' });
    try {
      const { stdout } = await promisify(execFile)(binary, [], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
      const summary = /Instance: (\S+) total steps: (\d+) reward: (\S+)/.exec(stdout);
      expect(summary, stdout.slice(-500)).not.toBeNull();
      const [, instance, steps] = summary!;
      expect(Number(steps)).toBeGreaterThan(0);
      // The example prints upstream's video host before the reply of `url`; what follows it is gym-tcp's link.
      const printed = /Video: https:\/\/kurg\.org\/media\/gym\/(\S+) /.exec(stdout);
      expect(printed, stdout.slice(-500)).not.toBeNull();
      const link = printed![1];
      expect(link).toBe(`http://127.0.0.1:4040/recordings/${instance}.mp4`);
      const res = await fetch(link);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('video/mp4');
      const video = mp4Facts(Buffer.from(await res.arrayBuffer()));
      console.log(`example.cpp: ${steps} steps, video ${video.width}x${video.height}, ${video.frames} frames (${link})`);
      expect([video.codec, video.width, video.height]).toEqual(['avc1', 600, 400]);
      // env.render() after reset: every step of the episode is rendered, one frame each.
      expect(video.frames).toBe(Number(steps));
    } finally {
      await server.close();
    }
  }, 240_000);
});

/**
 * The live view in a real browser: Debian's Chromium driven by playwright-core, against a real server
 * (TCP and REST fronts, real worker threads) while a real TCP agent steps CartPole-v1 with
 * `"render": 1`. The page must list the env, show its frames (canvas pixels, not a blank canvas) and
 * plot its episode returns; gym-server's render.html must show the latest frame. Screenshots go to
 * test-artifacts/ (ignored by git).
 *
 * Skipped, saying why, only when /usr/bin/chromium is missing (.ci/run installs it with apt).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { RestServer } from '../src/http/rest-server.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, startServer } from './helpers.js';
import { sleep } from '../scripts/lib/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../test-artifacts/', import.meta.url);
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`live-browser.test.ts skipped: no ${CHROMIUM} (install Debian's chromium: apt-get install chromium)`);

/** NOTES on this machine: without the background-networking flags Chromium keeps trying the closed network. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let server: GymTcpServer;
let rest: RestServer;
let base: string;
let browser: Browser;

beforeAll(async () => {
  if (!haveChromium) return;
  server = await startServer({ workers: 2 });
  rest = await RestServer.listen(server.pool, { port: 0, authToken: undefined, frames: server.frames, recorder: server.recorder });
  base = `http://127.0.0.1:${rest.address().port}`;
  // playwright's launch gives Chromium a fresh temporary --user-data-dir of its own.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  await mkdir(ARTIFACTS, { recursive: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await rest?.close();
  await server?.close();
});

/**
 * An agent in a loop until stopped: CartPole-v1, every step rendered, a simple policy (push toward
 * the side the pole leans to, now and then the other way), paced so the browser shares the cores.
 */
function agent(c: RawClient): { stop: () => Promise<void>; episodes: () => number } {
  let running = true;
  let episodes = 0;
  const loop = (async () => {
    while (running) {
      let obs = (await c.ask(CPP.reset)).observation as number[];
      for (let t = 0; running; t++) {
        const action = t % 7 === 0 ? (obs[2] > 0 ? 0 : 1) : obs[2] > 0 ? 1 : 0;
        const step = await c.ask(`{"step":{"action":${action}, "render":1}}`);
        obs = step.observation;
        if (step.done) {
          episodes += 1;
          break;
        }
        await sleep(2);
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
    episodes: () => episodes,
  };
}

/** Pixels of the canvas that differ from its top-left pixel, and the distinct colours among them. */
function canvasContent(page: Page, selector: string): Promise<{ differing: number; colours: number; width: number; height: number }> {
  // Runs in the page (the project's TypeScript has no DOM types: `any` there).
  return page.$eval(selector, (c: any) => {
    const data: Uint8ClampedArray = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let differing = 0;
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) differing += 1;
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
    return { differing, colours: colours.size, width: c.width, height: c.height };
  });
}

describe.skipIf(!haveChromium)('the live view in Chromium', () => {
  it('lists a running agent’s env, shows its frames live and plots its returns', async () => {
    const c = await RawClient.connect(server);
    const { instance } = await c.ask(CPP.make('CartPole-v1'));
    const running = agent(c);
    const page = await browser.newPage({ viewport: { width: 1300, height: 560 } });
    try {
      await page.goto(base + '/');
      // The list: the env with its env id and front; the recordings section says what it can.
      const row = page.locator('#envs tbody tr', { hasText: instance });
      await row.waitFor({ timeout: 10_000 });
      expect(await row.textContent()).toContain('CartPole-v1');
      expect(await row.textContent()).toContain('tcp');
      await page.locator('#recordings').filter({ hasNotText: 'Loading' }).waitFor();
      await page.screenshot({ path: new URL('live-list.png', ARTIFACTS).pathname });

      // Open it: frames arrive pushed, and the plot fills as episodes end.
      await Promise.all([page.waitForURL(/instance=/), row.locator('a').click()]);
      await page.waitForFunction("Number(document.getElementById('frame').dataset.frames ?? 0) >= 3", null, { timeout: 15_000 });
      await page.waitForFunction("Number(document.getElementById('returns').getAttribute('data-points') ?? 0) >= 5", null, { timeout: 30_000 });
      const frame = await canvasContent(page, '#frame');
      expect([frame.width, frame.height]).toEqual([600, 400]);
      // CartPole's frame: a white field with the track, cart, pole and axle: thousands of pixels off white.
      expect(frame.differing).toBeGreaterThan(2000);
      // White, black, the pole's and axle's colours, and (unless the pole stands exactly upright) antialiased edges.
      expect(frame.colours).toBeGreaterThanOrEqual(4);
      const points = await page.locator('#returns circle').count();
      expect(points).toBeGreaterThanOrEqual(5);
      expect(await page.locator('#returns polyline').count()).toBe(1);
      expect(Number(await page.locator('#episodes').textContent())).toBeGreaterThanOrEqual(3);
      await page.screenshot({ path: new URL('live-view.png', ARTIFACTS).pathname });
      console.log(`live view: ${points} returns plotted, frame ${frame.width}×${frame.height} with ${frame.differing} non-background pixels; agent finished ${running.episodes()} episodes`);

      // The agent closes its env: the page says so.
      await running.stop();
      c.send(CPP.close + '\r\n');
      await page.locator('#status', { hasText: 'closed' }).waitFor({ timeout: 10_000 });

      // Its rendered episodes were recorded: the list page has players for them.
      await page.goto(base + '/');
      const players = page.locator('#recordings-table video');
      await players.first().waitFor({ timeout: 15_000 });
      expect(await players.count()).toBeGreaterThanOrEqual(1);
      expect(await players.first().getAttribute('src')).toMatch(/^\/recordings\/.+\.mp4$/);
      expect(await page.locator('#recordings-table tbody tr', { hasText: instance }).count()).toBeGreaterThanOrEqual(1);
    } finally {
      await running.stop();
      await page.close();
      await c.end();
    }
  });

  it('asks for the token as HTTP Basic when the server has one, and then works as without', async () => {
    const locked = await RestServer.listen(server.pool, { port: 0, authToken: 'browser-s3cret' });
    const at = `http://127.0.0.1:${locked.address().port}`;
    const c = await RawClient.connect(server);
    const { instance } = await c.ask(CPP.make('CartPole-v1'));
    const running = agent(c);
    // What the user types into the prompt that the 401's `WWW-Authenticate: Basic` brings up (without
    // credentials headless Chromium fails the navigation instead): any user name, the token as password.
    const context = await browser.newContext({ httpCredentials: { username: 'me', password: 'browser-s3cret' } });
    const page = await context.newPage();
    try {
      await page.goto(`${at}/?instance=${instance}`);
      await page.waitForFunction("Number(document.getElementById('frame').dataset.frames ?? 0) >= 1", null, { timeout: 15_000 });
      expect(await page.locator('#status').textContent()).toBe('live');
    } finally {
      await running.stop();
      await context.close();
      await c.end();
      await locked.close();
    }
  });

  it("shows gym-server's render.html with the env's latest frame", async () => {
    const c = await RawClient.connect(server);
    const { instance } = await c.ask(CPP.make('CartPole-v1'));
    const running = agent(c);
    const page = await browser.newPage();
    try {
      await page.goto(`${base}/render.html?instance_id=${instance}`);
      await page.waitForFunction("document.getElementById('frame').naturalWidth === 600", null, { timeout: 15_000 });
      const first = await page.$eval('#frame', (img: any) => img.src as string);
      // Refreshing: the image is fetched again (a new URL) while the agent runs.
      await page.waitForFunction(`document.getElementById('frame').src !== ${JSON.stringify(first)}`, null, { timeout: 5_000 });
      await page.screenshot({ path: new URL('render-html.png', ARTIFACTS).pathname });
    } finally {
      await running.stop();
      await page.close();
      await c.end();
    }
  });
});

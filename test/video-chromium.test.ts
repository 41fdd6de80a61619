/**
 * A recorded MP4 plays in a real browser: Debian's Chromium (/usr/bin/chromium, installed by
 * .ci/run) driven headless by playwright-core loads the `url` link a TCP client got into a <video>
 * element, as a Jupyter notebook does, and plays it to its end.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, startServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`${CHROMIUM} is missing (.ci/run installs Debian's chromium): the browser test is skipped`);

/** Headless as root: no sandbox; no GPU; nothing that reaches for the network the test machine lacks. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe.skipIf(!available)('videos in Chromium', () => {
  it('a CartPole episode recorded over TCP plays to its end in a <video> at 600 pixels wide', async () => {
    const s = await startServer({ workers: 1, recordingsDir: mkdtempSync(join(tmpdir(), 'gym-tcp-rec-')) });
    // playwright makes a fresh profile (user-data-dir) for each launch.
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const c = await RawClient.connect(s);
      await c.ask(CPP.make('CartPole-v1-render'));
      c.write(`${CPP.seed(7)}\r\n`);
      await c.ask(CPP.reset);
      let steps = 0;
      let reply: any;
      do reply = await c.ask(CPP.step(String(steps++ % 2), 1));
      while (!reply.done);
      c.write(`${CPP.close}\r\n`);
      const { url } = await c.ask(CPP.url);
      await c.end();
      const page = await browser.newPage();
      await page.setContent(`<video id="v" muted playsinline src="${url}"></video>`);
      const played = await page.evaluate(
        () =>
          new Promise<{ ended: boolean; width: number; height: number; duration: number; error: number | null }>((resolve) => {
            // Runs in the page: the DOM's types are not the test's (no `dom` lib here).
            const v = (globalThis as any).document.getElementById('v');
            const report = (ended: boolean) => resolve({ ended, width: v.videoWidth, height: v.videoHeight, duration: v.duration, error: v.error?.code ?? null });
            v.onended = () => report(true);
            v.onerror = () => report(false);
            // Played fast: the test needs its end, not real time.
            v.playbackRate = 4;
            void v.play().catch(() => report(false));
          }),
      );
      expect(played).toMatchObject({ ended: true, width: 600, height: 400, error: null });
      // CartPole's 50 frames a second: the frame after the reset and one per step.
      expect(played.duration).toBeCloseTo((steps + 1) / 50, 1);
    } finally {
      await browser.close();
      await s.close();
    }
  }, 60_000);
});

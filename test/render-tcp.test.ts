/**
 * `{"env":{"action": "render"}}` over a real socket and real worker threads: the frame a client
 * decodes is the one Gymnasium rendered (test/fixtures/frames), for states reached by stepping from
 * the seed; `ansi` text is Gymnasium's; the errors a client can meet are clear and leave the
 * connection working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP, replySchemas, request, requestLine } from '../src/protocol/messages.js';
import { GymClient } from '../src/client/client.js';
import { RawClient, startServer } from './helpers.js';
import { compareFrames, fixturePng, frameSidecar, toyTextGolden } from './frames-golden.js';

let server: GymTcpServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const RENDER = requestLine(request.render());
const RENDER_ANSI = requestLine(request.render('ansi'));

/** A frame reply's bytes, checked against the reply schema. */
function frameBytes(reply: unknown): { shape: number[]; data: Buffer } {
  const { frame } = replySchemas.frame.parse(reply);
  return { shape: frame.shape, data: Buffer.from(frame.data, 'base64') };
}

describe('render over TCP', () => {
  for (const stem of ['CartPole-v1__seed0__step0026', 'MountainCar-v0__seed0__step0060', 'Acrobot-v1__seed0__step0100']) {
    it(`replays ${stem} from its seed and gets Gymnasium's frame`, async () => {
      const sidecar = frameSidecar(stem);
      const c = await RawClient.connect(server);
      await c.ask(CPP.make(sidecar.env_id));
      c.send(CPP.seed(sidecar.reset_seed!) + '\r\n');
      await c.ask(CPP.reset);
      for (const action of sidecar.actions_since_reset!) expect((await c.ask(CPP.step(JSON.stringify(action)))).error).toBeUndefined();
      const { shape, data } = frameBytes(await c.ask(RENDER));
      const [height, width] = sidecar.render.shape;
      expect(shape).toEqual([height, width, 3]);
      expect(data.length).toBe(height * width * 3);
      const result = compareFrames(data, fixturePng(sidecar.render.png), width, height);
      console.log(`${stem} over TCP: ${(result.identical * 100).toFixed(3)}% identical, max diff ${result.maxDiff}`);
      expect(result.identical).toBeGreaterThanOrEqual(0.995);
      expect(result.offEdge).toBe(0);
      await c.end();
    });
  }

  it('sends compressed frames when compression is on, and stepping carries on after a render', async () => {
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('CartPole-v1'));
    c.send(CPP.seed(0) + '\r\n');
    const reset = await c.ask(CPP.reset);
    c.send(CPP.compression(6) + '\r\n');
    const plain = frameBytes(await c.ask(RENDER, true));
    expect(plain.shape).toEqual([400, 600, 3]);
    const step = await c.ask(CPP.step('1'), true);
    expect(step.reward).toBe(1);
    expect(step.observation).not.toEqual(reset.observation);
    await c.end();
  });

  it("answers ansi text exactly as Gymnasium's, and FrozenLake frames at Gymnasium's size", async () => {
    const g = toyTextGolden('FrozenLake-v1.json');
    const episode = g.ansi.episodes[0];
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('FrozenLake-v1'));
    c.send(CPP.seed(episode.reset_seed) + '\r\n');
    await c.ask(CPP.reset);
    for (const frame of episode.frames.slice(0, 4)) {
      if (frame.step > 0) await c.ask(CPP.step(String(frame.action)));
      expect(replySchemas.text.parse(await c.ask(RENDER_ANSI)).text).toBe(frame.text);
    }
    expect(frameBytes(await c.ask(RENDER)).shape).toEqual(g.rgb_array.shape);
    await c.end();
  });

  it("gives the TypeScript client frames and text (GymClient.frame, GymClient.text)", async () => {
    const client = await GymClient.connect(server.address().port, '127.0.0.1');
    const g = toyTextGolden('Taxi-v4.json');
    await client.make('Taxi-v4');
    client.seed(g.ansi.episodes[0].reset_seed);
    await client.reset();
    expect(await client.text()).toBe(g.ansi.episodes[0].frames[0].text);
    const frame = await client.frame();
    expect([frame.height, frame.width, 3]).toEqual(g.rgb_array.shape);
    expect(frame.data.length).toBe(frame.width * frame.height * 3);
    await client.end();
  });

  it('refuses a render before reset, a mode the env lacks and a misplaced mode, and the connection keeps working', async () => {
    const c = await RawClient.connect(server);
    expect((await c.ask(RENDER)).error.code).toBe('NO_ENV');
    await c.ask(CPP.make('CartPole-v1'));
    const early = await c.ask(RENDER);
    expect(early.error.code).toBe('RESET_NEEDED');
    expect(early.error.message).toContain('reset');
    await c.ask(CPP.reset);
    const ansi = await c.ask(RENDER_ANSI);
    expect(ansi.error.code).toBe('BAD_REQUEST');
    expect(ansi.error.message).toContain("no 'ansi' rendering; it renders: rgb_array");
    const misplaced = await c.ask('{"env":{"action": "reset", "mode": "ansi"}}');
    expect(misplaced.error.code).toBe('BAD_REQUEST');
    expect((await c.ask('{"env":{"action": "render", "mode": "human"}}')).error.code).toBe('BAD_REQUEST');
    expect(frameBytes(await c.ask(RENDER)).shape).toEqual([400, 600, 3]);
    c.send(CPP.close + '\r\n');
    expect((await c.ask(RENDER)).error.code).toBe('NO_ENV');
    await c.end();
  });
});

/**
 * What one result of a session tells the frame bus, the same for both fronts (a TCP connection, a
 * REST env): the frame it recorded, and the end of an episode (a step that ended it, a reset, the
 * env closed or replaced). Results arrive in request order, so the bus sees an env's frames and
 * episode ends in the order they happened.
 */
import type { FrameBus } from '../live/frame-bus.js';
import type { WorkReply } from '../pool/work.js';

/**
 * `name`: the env's instance id as its client knows it after this result (null: none), `previous`:
 * before it. Returns the bus's promise when a consumer is behind (see FrameBus.publish).
 */
export function feedFrameBus(bus: FrameBus, result: WorkReply, name: string | null, previous: string | null): Promise<void> | null {
  // The env closed or replaced: its episode ended with it.
  if (previous !== null && previous !== name) bus.endEpisode(previous);
  // A reset ends the episode before it (its first frame then starts the next).
  else if (previous !== null && result.kind === 'observation') bus.endEpisode(previous);
  let behind: Promise<void> | null = null;
  const frame = result.frame;
  if (frame && name !== null) {
    behind = bus.publish({
      instance: name,
      envId: frame.envId,
      episode: frame.episode,
      step: frame.step,
      fps: frame.fps,
      frame: { width: frame.width, height: frame.height, data: frame.data },
    });
  }
  if (result.episode && name !== null) bus.endEpisode(name);
  return behind;
}

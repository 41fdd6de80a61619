/**
 * Piscina worker of the encoder pool (src/recording/encoder-pool.ts): each task is one recording,
 * whose frames arrive on the task's MessagePort while the episode is played, are encoded to H.264 at
 * once, and leave as an MP4 file when the port says `end`. Frames are never held: the encoder's
 * output (tens of bytes per frame of line art) is all a recording keeps in memory.
 *
 * h264-mp4-encoder (WebAssembly, MIT) installs process-wide uncaughtException/unhandledRejection
 * handlers when it loads; in a thread of its own they touch nothing of the server's. Its encoders
 * share one module (one memory, one in-memory file system), ~1.2 MB each at 600×400 (measured), so a
 * thread hosts many recordings at once.
 */
import { createRequire } from 'node:module';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { MessagePort } from 'node:worker_threads';
import type { H264MP4Encoder } from 'h264-mp4-encoder';
import { evenSize, i420Bytes, rgbToI420 } from '../src/recording/yuv.js';
import type { EncodeTask, EncoderMessage, EncodeResult } from '../src/recording/encoder-pool.js';

const HME = createRequire(import.meta.url)('h264-mp4-encoder') as typeof import('h264-mp4-encoder');

let nextName = 0;

export default async function encode(task: EncodeTask): Promise<EncodeResult> {
  const { port } = task;
  const { width, height } = evenSize(task.width, task.height);
  let encoder: H264MP4Encoder | null = null;
  const name = `r${nextName++}.mp4`;
  try {
    encoder = await HME.createH264MP4Encoder();
    encoder.width = width;
    encoder.height = height;
    encoder.frameRate = task.fps;
    encoder.outputFilename = name;
    // Fastest preset: ~500 frames/s of 600×400 on one core of the dev machine against ~150 at the
    // default 0, for files a few percent larger (line art compresses to tens of bytes a frame anyway).
    encoder.speed = 10;
    encoder.quantizationParameter = 28;
    // A key frame a second, so a player can seek.
    encoder.groupOfPictures = Math.max(1, Math.round(task.fps));
    encoder.initialize();
  } catch (err) {
    encoder?.delete();
    port.close();
    throw err;
  }
  const yuv = new Uint8Array(i420Bytes(width, height));
  return await new Promise<EncodeResult>((resolve, reject) => {
    let frames = 0;
    let failure: Error | null = null;
    port.on('message', (message: EncoderMessage) => {
      if ('rgb' in message) {
        if (failure === null) {
          try {
            if (message.width !== task.width || message.height !== task.height) {
              throw new Error(`frame size changed from ${task.width}×${task.height} to ${message.width}×${message.height}`);
            }
            rgbToI420(message.rgb, task.width, task.height, yuv);
            encoder!.addFrameYuv(yuv);
            frames += 1;
          } catch (err) {
            failure = err instanceof Error ? err : new Error(String(err));
          }
        }
        // Acknowledged either way: the main thread counts the bytes it has in flight.
        port.postMessage(message.rgb.byteLength);
        return;
      }
      void finish(port, encoder!, name, task.path, frames, failure).then(resolve, reject);
    });
  });
}

async function finish(port: MessagePort, encoder: H264MP4Encoder, name: string, path: string, frames: number, failure: Error | null): Promise<EncodeResult> {
  port.close();
  let mp4: Uint8Array | null = null;
  try {
    // Finalised even when failed or empty: deleting an encoder that was not makes the module abort.
    encoder.finalize();
    mp4 = encoder.FS.readFile(name);
  } catch (err) {
    failure ??= err instanceof Error ? err : new Error(String(err));
  } finally {
    try {
      encoder.FS.unlink(name);
    } catch {
      // never written
    }
    try {
      encoder.delete();
    } catch (err) {
      failure ??= err instanceof Error ? err : new Error(String(err));
    }
  }
  if (failure) {
    // A WebAssembly abort leaves the module (shared by this thread's encoders) unusable: the thread
    // ends once this task has answered, and Piscina starts a fresh one for the next recordings.
    if (/abort/i.test(failure.message)) setImmediate(() => process.exit(1));
    throw failure;
  }
  if (frames === 0 || mp4 === null) return { frames: 0, bytes: 0 };
  // Written whole under another name, then renamed: a reader never sees half a file.
  const partial = `${path}.part`;
  try {
    await writeFile(partial, mp4);
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  return { frames, bytes: mp4.byteLength };
}

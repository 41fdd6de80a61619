// Reading a vector reply's BATCH in the tests, independently of the product's client.
import { expect } from 'vitest';

/** A BATCH as the server wrote it → one value per sub-env (numbers, or flat number lists). */
export function decodeBatch(batch: any): any[] {
  if (Array.isArray(batch)) return batch;
  const bytes = Buffer.from(batch.data, 'base64');
  const [n, ...inner] = batch.shape as number[];
  const size = inner.reduce((a, b) => a * b, 1);
  const read: Record<string, [number, (i: number) => number | boolean]> = {
    float32: [4, (i) => bytes.readFloatLE(i * 4)],
    float64: [8, (i) => bytes.readDoubleLE(i * 8)],
    int64: [8, (i) => Number(bytes.readBigInt64LE(i * 8))],
    int32: [4, (i) => bytes.readInt32LE(i * 4)],
    uint8: [1, (i) => bytes[i]],
    bool: [1, (i) => bytes[i] === 1],
  };
  const [width, at] = read[batch.dtype];
  expect(bytes.length).toBe(n * size * width);
  return Array.from({ length: n }, (_, i) => (inner.length === 0 ? at(i) : Array.from({ length: size }, (_, k) => at(i * size + k))));
}


export { seedSequencePool, generateState, generateState64, entropyWords } from './seed-sequence.js';
export { PCG64, type PCG64Snapshot, type PCG64State } from './pcg64.js';
export { NpRandom, categoricalSample, type NpRandomSnapshot } from './generator.js';

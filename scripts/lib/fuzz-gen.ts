/**
 * The fuzzer's request lines: valid messages in the C++ client's spelling, their mutations (flipped
 * bytes, invalid UTF-8, truncations), deep nesting, odd numbers, wrong types, unknown and duplicate
 * keys, random bytes and tokens, long lines; and the terminators between them.
 */
import { CPP } from '../../src/protocol/messages.js';
import type { Rng } from './rng.js';

export const ENV_IDS = [
  'CartPole-v1', 'CartPole-v1', 'CartPole-v1', 'CartPole-v0', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Pendulum-v1',
  'Acrobot-v1', 'FrozenLake-v1', 'FrozenLake8x8-v1', 'CliffWalking-v1', 'Taxi-v4', 'Blackjack-v1', 'FrozenLake-v0', 'Taxi-v3',
];
const BAD_ENV_IDS = ['Foo-v9', 'cartpole-v1', 'CartPole', 'CartPole-v2', '', ' ', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'CärtPöle-v1', '\\u0000', '\\ud800'];
/**
 * Keyword arguments, good and bad. FrozenLake's random maps only small: a large map_size with a low
 * map_p costs seconds of worker time per request (reported; see test/resilience.test.ts), which would
 * slow the fuzzer down rather than find anything new.
 */
const KWARGS = [
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"is_slippery": false}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"map_name": "8x8"}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": ["SFF", "FHF", "FFG"]}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": ["SF", "FFG"]}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": null, "map_name": null, "map_size": 2, "map_p": 0}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": null, "map_name": null, "map_size": 5, "map_seed": 3}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"sutton_barto_reward": true}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"sutton_barto_reward": "yes"}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"bogus": 1}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"__proto__": {"sutton_barto_reward": true}}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"constructor": 1}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": null}}',
  '{"env":{"name": "CartPole-v1", "kwargs": [1, 2]}}',
  '{"env":{"name": "Taxi-v4", "kwargs": {"is_rainy": true, "rainy_probability": 1e400}}}',
  '{"env":{"name": "Taxi-v4", "kwargs": {"fickle_passenger": true}}}',
  '{"env":{"name": "MountainCar-v0", "kwargs": {"goal_velocity": 0.1}}}',
  '{"env":{"name": "Pendulum-v1", "kwargs": {"g": 9.81}}}',
  '{"env":{"name": "Pendulum-v1", "kwargs": {"g": -1e308}}}',
  '{"env":{"name": "Blackjack-v1", "kwargs": {"natural": true, "sab": false}}}',
  '{"env":{"name": "CliffWalking-v1", "kwargs": {"is_slippery": true}}}',
];
const ACTIONS = ['0', '1', '0', '1', '2', '-1', '[0.5]', '[1.0]', '[-3]', '"1"', '"[0.5]"', '[0, 1]', 'null', 'true', '{}', '[]', '1.0', '0.5', '1e400', '-1e400', '123456789012345678901234567890', '[1e400]', '"NaN"', '[NaN]'];
const NUMBERS = ['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '9007199254740993', '-0', '0.1e1', '1E+2', '00', '01', 'NaN', 'Infinity', '0x10', '-', '1.', '.5', '1e', '9'.repeat(400)];
const WRONG_TYPES = [
  '{"step":{"action":{}, "render":0}}', '{"step":{"action":1, "render":2}}', '{"step":{"action":1, "render":"1"}}', '{"step":{"action":1, "render":null}}',
  '{"step":{"render":0}}', '{"step":1}', '{"step":null}', '{"step":[]}', '{"step":"action"}',
  '{"env":{"seed": true}}', '{"env":{"seed": null}}', '{"env":{"seed": -1}}', '{"env":{"seed": 1.5}}', '{"env":{"seed": "0x10"}}', '{"env":{"seed": ""}}', '{"env":{"seed": "-3"}}', '{"env":{"seed": [1]}}',
  '{"server":{"compression": "10"}}', '{"server":{"compression": "-1"}}', '{"server":{"compression": 9.5}}', '{"server":{"compression": "a"}}', '{"server":{"compression": null}}', '{"server":{}}', '{"server":"9"}',
  '{"record_episode_stats":{"action": "begin"}}', '{"record_episode_stats":{}}', '{"record_episode_stats":true}',
  '{"url":{"action": "URL"}}', '{"url":{}}', '{"url":"url"}',
  // Older clients' monitor lines: never answered, not even these.
  '{"monitor":{"action": "close"}}', '{"monitor": 42}', '{"monitor":{"action": "start"}}', '{"monitor":{"action": "start", "force":1, "resume": 0, "directory": "../../x"}}',
  '{"env":{"action": "dance"}}', '{"env":{"action": 1}}', '{"env":{"actionspace": "sampel"}}', '{"env":{"name": 42}}', '{"env":{"name": null}}', '{"env":{"name": ["CartPole-v1"]}}',
  '{"env":{}}', '{"env":null}', '{"env":[]}', '{"env":"CartPole-v1"}', '{}', '[]', 'null', 'true', '42', '"env"', '[{"env":{"action": "reset"}}]',
  '{"env":{"contains": {"space": "action", "value": 1}}}', '{"env":{"contains": {"space": "observation", "value": [0, 0, 0, 0]}}}', '{"env":{"contains": {"space": "reward", "value": 1}}}', '{"env":{"contains": {"space": "action"}}}',
];
const UNKNOWN_KEYS = [
  '{"step":{"action":1, "render":0, "foo":2}}', '{"env":{"name": "CartPole-v1", "colour": 1}}', '{"env":{"action": "reset", "seed": "1"}}', '{"bogus":{}}',
  '{"env":{"action": "reset"}, "step":{"action":1}}', '{"url":{"action": "url"}, "extra": 1}', '{"server":{"compression": "1", "level": 1}}',
  '{"__proto__":{"action": "reset"}}', '{"constructor":{}}', '{"toString":1}', '{"env":{"__proto__":{"name": "CartPole-v1"}}}', '{"hasOwnProperty":{"action":"url"}}',
  '{"auth": "token"}', '{"ENV":{"action": "reset"}}', '{"env ":{"action": "reset"}}', '{" env":{"action": "reset"}}',
];
const DUPLICATE_KEYS = [
  '{"env":{"seed": "1", "seed": "2"}}', '{"step":{"action":1, "action":0, "render":0}}', '{"url":{"action": "url"}, "url":{"action": "url"}}',
  '{"env":{"name": "CartPole-v1", "name": "Foo-v1"}}', '{"env":{"name": "Foo-v1", "name": "CartPole-v1"}}', '{"server":{"compression": "0", "compression": "9"}}',
  '{"env":{"action": "reset"}, "env":{"action": "close"}}', '{"step":{"action":1, "render":0, "render":1}}',
];
/** Byte sequences that are not UTF-8, and some that are but are unusual. */
const INVALID_UTF8 = [[0xff], [0xfe], [0xc0, 0x80], [0xc0, 0xaf], [0x80], [0xbf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf0, 0x80, 0x80, 0x80], [0xc3], [0xe0, 0x80, 0x80]].map((b) => Buffer.from(b));
const ODD_UTF8 = ['é', '😀', '\ufeff', '\u2028', '\u2029', '\u0085', '\ufffd', '\u00a0', '\t', '\v', '\f', '\r', '\0'].map((s) => Buffer.from(s));
const TOKENS = ['{', '}', '[', ']', ':', ',', '"env"', '"step"', '"name"', '"action"', '"seed"', '"url"', '"server"', '"compression"', '"reset"', '"CartPole-v1"', '1', '0', '-1', 'null', 'true', 'false', '"', '\\', ' ', '"\\u0000"', '1e400', '"render"'];

/** The valid messages, in the C++ client's spelling, weighted towards an env being played. */
function validMessage(rng: Rng): string {
  const r = rng.next();
  if (r < 0.3) return CPP.step(rng.pick(ACTIONS.slice(0, rng.chance(0.8) ? 4 : ACTIONS.length)), rng.int(2));
  if (r < 0.4) return CPP.reset;
  if (r < 0.5) return CPP.make(rng.pick(ENV_IDS));
  if (r < 0.55) return rng.pick(KWARGS);
  if (r < 0.6) return rng.pick([CPP.observationSpace, CPP.actionSpace]);
  if (r < 0.66) return CPP.sample;
  if (r < 0.72) return CPP.seed(rng.chance(0.9) ? rng.digits(rng.range(1, 12)) : rng.digits(rng.range(20, 400)));
  if (r < 0.78) return CPP.compression(rng.chance(0.5) ? 0 : rng.range(1, 9));
  if (r < 0.83) return rng.chance(0.8) ? CPP.recordStats : '{"record_episode_stats":{"action": "stop"}}';
  if (r < 0.87) return CPP.close;
  if (r < 0.93) return CPP.url;
  if (r < 0.96) return CPP.make(rng.pick(BAD_ENV_IDS));
  return rng.pick([
    '{"env":{"contains": {"space": "action", "value": 1}}}',
    '{"env":{"contains": {"space": "observation", "value": [0.0, 0.0, 0.0, 0.0]}}}',
    '{"step":{"action":"1"}}',
    '{"step":{"action":[0], "render": true}}',
    '{"env":{"seed": 7}}',
    '{"server":{"compression": 3}}',
  ]);
}

function splice(base: Buffer, at: number, remove: number, insert: Buffer): Buffer {
  return Buffer.concat([base.subarray(0, at), insert, base.subarray(Math.min(base.length, at + remove))]);
}

function deep(rng: Rng, maxBytes: number): string {
  const depth = Math.min(rng.pick([10, 100, 1000, 5000, 10_000, 10_000, 30_000, 100_000]), Math.floor((maxBytes - 100) / 6));
  const kind = rng.int(8);
  const arrays = '['.repeat(depth) + ']'.repeat(depth);
  switch (kind) {
    case 0:
      return arrays;
    case 1:
      return `{"step":{"action":${arrays}, "render":0}}`;
    case 2:
      return `{"env":${arrays}}`;
    case 3:
      return `{"env":{"name": "CartPole-v1", "kwargs": {"x": ${arrays}}}}`;
    case 4:
      return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    case 5:
      return `{"env":{"contains": {"space": "action", "value": ${arrays}}}}`;
    case 6:
      return '['.repeat(depth); // unclosed
    default:
      return `{"env":{"seed": ${arrays}}}`;
  }
}

/** One request line (no terminator; it may still contain LF bytes, which then split it). */
export function generateLine(rng: Rng, maxBytes: number): Buffer {
  const r = rng.next();
  let line: Buffer;
  if (r < 0.45) {
    line = Buffer.from(validMessage(rng));
  } else if (r < 0.65) {
    // Mutations of a valid message.
    line = Buffer.from(validMessage(rng));
    const mutations = rng.range(1, 3);
    for (let i = 0; i < mutations; i++) {
      const at = rng.int(line.length + 1);
      switch (rng.int(7)) {
        case 0: // byte flip
          if (line.length) line[Math.min(at, line.length - 1)] = rng.u32() & 0xff;
          break;
        case 1: // truncation
          line = line.subarray(0, at);
          break;
        case 2: // insertion of random bytes
          line = splice(line, at, 0, rng.bytes(rng.range(1, 8)));
          break;
        case 3: // deletion
          line = splice(line, at, rng.range(1, 6), Buffer.alloc(0));
          break;
        case 4: // invalid UTF-8
          line = splice(line, at, 0, rng.pick(INVALID_UTF8));
          break;
        case 5: // odd but valid characters, NUL, lone CR
          line = splice(line, at, 0, rng.pick(ODD_UTF8));
          break;
        default: // flip one bit
          if (line.length) line[Math.min(at, line.length - 1)] ^= 1 << rng.int(8);
      }
    }
  } else if (r < 0.7) {
    line = Buffer.from(deep(rng, maxBytes));
  } else if (r < 0.75) {
    const n = rng.pick(NUMBERS);
    line = Buffer.from(
      rng.pick([
        `{"step":{"action":${n}, "render":0}}`,
        `{"env":{"seed": ${n}}}`,
        `{"server":{"compression": ${n}}}`,
        `{"step":{"action":[${n}], "render":${n}}}`,
        `{"env":{"name": "Pendulum-v1", "kwargs": {"g": ${n}}}}`,
        `{"env":{"name": "FrozenLake-v1", "kwargs": {"success_rate": ${n}}}}`,
        n,
      ]),
    );
  } else if (r < 0.82) {
    line = Buffer.from(rng.pick(rng.chance(0.5) ? WRONG_TYPES : rng.chance(0.5) ? UNKNOWN_KEYS : DUPLICATE_KEYS));
  } else if (r < 0.87) {
    line = rng.bytes(rng.range(1, 200));
  } else if (r < 0.91) {
    let s = '';
    for (let i = rng.range(1, 40); i > 0; i--) s += rng.pick(TOKENS);
    line = Buffer.from(s);
  } else if (r < 0.94) {
    line = Buffer.from(rng.pick(['', ' ', '\t', '   \t  ', '\r', '\0', '\ufeff', '\ufeff{"url":{"action": "url"}}', '\f\v']));
  } else if (r < 0.97) {
    // Long lines, still under the limit: whitespace-padded valid messages, huge strings.
    const size = rng.range(1000, Math.max(1000, Math.floor(maxBytes * 0.9)) - 200);
    line = Buffer.from(
      rng.pick([
        () => CPP.url.replace('{"url"', '{' + ' '.repeat(size) + '"url"'),
        () => `{"env":{"name": "${'x'.repeat(size)}"}}`,
        () => `{"step":{"action":"${'1'.repeat(size)}"}}`,
        () => `{"env":{"seed": "${'7'.repeat(Math.min(size, 2000))}"}}`,
        () => `{"env":{"name": "CartPole-v1", "kwargs": {${Array.from({ length: Math.floor(size / 12) }, (_, i) => `"k${i}": ${i}`).join(', ')}}}}`,
        () => `{"step":{"action":[${Array.from({ length: Math.floor(size / 4) }, () => '0.5').join(',')}]}}`,
      ])(),
    );
  } else {
    // JSON string escapes that decode to odd code points.
    line = Buffer.from(
      rng.pick([
        '{"env":{"name": "\\ud800"}}',
        '{"env":{"name": "\\udfff\\ud800"}}',
        '{"env":{"name": "a\\u0000b"}}',
        '{"env":{"name": "CartPole-v1\\u0000"}}',
        '{"env":{"action": "res\\u0065t"}}',
        '{"\\u0065nv":{"action": "reset"}}',
        '{"env":{"seed": "\\u0034\\u0032"}}',
        '{"url":{"action": "\\u0075rl"}}',
        '{"env":{"name": "\\"}}',
        '{"env":{"name": "\\x41"}}',
      ]),
    );
  }
  return line.length > maxBytes ? line.subarray(0, maxBytes) : line;
}

/** A line terminator: mostly CRLF or LF, sometimes CR CR LF. */
export function terminator(rng: Rng): string {
  const r = rng.next();
  return r < 0.5 ? '\r\n' : r < 0.95 ? '\n' : '\r\r\n';
}

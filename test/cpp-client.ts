/**
 * gym-tcp-api's C++ client (test/fixtures/cpp-client, upstream's files unchanged), built for the tests
 * that play it: the HAProxy test's seeded episodes, and upstream's own example.cpp.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const CPP_DIR = new URL('./fixtures/cpp-client/', import.meta.url).pathname;
/** g++ and the headers the client needs (Boost.Asio, Boost.Iostreams, Armadillo); `.ci/run` installs them. */
export const cppBuildable =
  existsSync('/usr/bin/g++') && existsSync('/usr/include/armadillo') && existsSync('/usr/include/boost/asio.hpp') && existsSync('/usr/include/boost/iostreams');
export const CPP_MISSING =
  'the C++ client needs g++, Boost (asio, iostreams) and Armadillo headers (apt-get install libboost-dev libboost-iostreams-dev libarmadillo-dev): not run';

/**
 * Compiles `source` (a .cpp in the fixture directory) with the client once per version of the
 * sources, kept in the OS temporary directory: ~11 s of CPU at -O0, most of it Boost.Asio's and
 * Armadillo's headers.
 */
export async function cppClientBinary(source: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  for (const file of files(CPP_DIR).sort()) hash.update(file.slice(CPP_DIR.length)).update(readFileSync(file));
  const binary = path.join(os.tmpdir(), `gym-tcp-cpp-${path.basename(source, '.cpp')}-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(path.dirname(binary), { recursive: true });
  const building = `${binary}.${process.pid}`;
  await promisify(execFile)(
    'g++',
    ['-std=c++14', '-O0', '-w', '-I', CPP_DIR, '-I', path.join(CPP_DIR, 'pjson'), path.join(CPP_DIR, source), '-o', building, '-lboost_iostreams', '-larmadillo', '-lz', '-lpthread'],
    { timeout: 170_000 },
  );
  renameSync(building, binary);
  return binary;
}

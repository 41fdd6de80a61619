import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { spawnServer } from '../scripts/lib/spawn.js';
import { SpareCpu, allowedCpus, parseCpuList } from '../src/pool/spare-cpu.js';

const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SpareCpu', () => {
  it('parses the kernel\'s CPU lists', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
  });

  it('allows spinning when cores sit idle, and never on a single core', async () => {
    // Two cores even on a one-core machine: a core os.cpus() lacks counts as never idle.
    const many = new SpareCpu([0, 1]);
    const one = new SpareCpu([0]);
    await sleep(20);
    // Our own spinning counts as spare: 5 cores' worth of it over the sample is plenty, whatever else runs.
    expect(many.update(5 * 20_000)).toBe(true);
    expect(one.update(5 * 20_000)).toBe(false);
    expect(one.allowed).toBe(false);
  });

  it.skipIf(!hasTaskset)('reads the cores the process may run on from its affinity', () => {
    const code = "import('./dist/src/pool/spare-cpu.js').then((m) => console.log(JSON.stringify(m.allowedCpus())))";
    const out = execFileSync('taskset', ['-c', '0', process.execPath, '-e', code], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([0]);
  });

  it.skipIf(!hasTaskset)('a server confined to one core says it will not spin', async () => {
    const said = async (cpus?: string) => {
      const server = await spawnServer(['--workers', '1'], { cpus });
      // stderr may arrive after the "listening" line on stdout.
      for (let i = 0; i < 20 && !server.output().includes('may use one core'); i++) await sleep(25);
      const output = server.output();
      const code = await server.stop();
      expect(code, server.output()).toBe(0);
      return output.includes('may use one core');
    };
    expect(await said('0')).toBe(true);
    if (allowedCpus().length >= 2) expect(await said()).toBe(false);
  });
});

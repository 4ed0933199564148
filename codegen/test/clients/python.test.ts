// The Python client models (generated/clients/python, package makapix_models) import and round-trip
// every example of the spec (into its class, and through its union's parse function, back to the same
// JSON) with each pydantic at hand: Debian 12's python3-pydantic (1.10, what CI has), and the pydantic
// of the `python3` on PATH when that is another interpreter (e.g. a pydantic 2 on a developer machine).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS, mismatches, roundTripCases, writeCases, type RoundTripCase } from './cases.js';

/** Interpreters with pydantic: [python, pydantic version]. */
function pythons(): [string, string][] {
  const found = new Map<string, [string, string]>();
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import sys, pydantic; print(sys.executable, pydantic.VERSION)'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const [exe, version] = r.stdout.trim().split(' ');
    if (exe && version && !found.has(exe)) found.set(exe, [exe, version]);
  }
  return [...found.values()];
}

const found = existsSync('/usr/bin/python3') ? pythons() : [];
const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };

describe.skipIf(found.length === 0)('Python client models', () => {
  let cases: RoundTripCase[];
  let dir: string;
  beforeAll(async () => {
    cases = await roundTripCases();
    dir = writeCases(cases, 'python');
  });

  describe.each(found)('with %s, pydantic %s', (python) => {
    it('compile and import without a warning (py_compile, import under -W error)', () => {
      const r = spawnSync(python, ['-W', 'error', '-c', 'import sys, py_compile, glob; [py_compile.compile(f, doraise=True, cfile=sys.argv[2] + "/x.pyc") for f in sorted(glob.glob(sys.argv[1] + "/makapix_models/*.py"))]; sys.path.insert(0, sys.argv[1]); import makapix_models', join(CLIENTS, 'python'), dir], { encoding: 'utf8', env });
      expect(r.stderr + r.stdout).toBe('');
      expect(r.status).toBe(0);
    });

    it('round-trip every example of the spec', () => {
      const run = spawnSync(python, ['-W', 'error', join(import.meta.dirname, 'harness/roundtrip.py'), join(CLIENTS, 'python'), join(dir, 'cases.json')], { encoding: 'utf8', maxBuffer: 64 << 20, env });
      expect(run.stderr).toBe('');
      expect(mismatches(cases, run.stdout)).toEqual([]);
      expect(cases.length).toBeGreaterThan(300);
    });
  });

  it('run at least with Debian\'s pydantic (what CI has)', () => {
    expect(found.map(([exe]) => exe)).toContain('/usr/bin/python3');
  });
});

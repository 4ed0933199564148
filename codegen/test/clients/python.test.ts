// The Python client models (generated/clients/python, package makapix_models) import with the
// pydantic that Debian ships (1.10; the models also use the pydantic 2 API when it is installed, which
// this test does not run), and every example of the spec parses into its class (and through its union's
// parse function) and writes back to the same JSON.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS, mismatches, roundTripCases, writeCases, type RoundTripCase } from './cases.js';

const PYTHON = '/usr/bin/python3';
const hasPydantic = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydantic']).status === 0;

describe.skipIf(!hasPydantic)('Python client models', () => {
  let cases: RoundTripCase[];
  let dir: string;
  beforeAll(async () => {
    cases = await roundTripCases();
    dir = writeCases(cases, 'python');
  });

  it('compile and import (py_compile, then import with the installed pydantic)', () => {
    const r = spawnSync(PYTHON, ['-W', 'error', '-c', 'import sys, py_compile, glob; [py_compile.compile(f, doraise=True) for f in sorted(glob.glob(sys.argv[1] + "/makapix_models/*.py"))]; sys.path.insert(0, sys.argv[1]); import makapix_models, pydantic; print(pydantic.VERSION)', join(CLIENTS, 'python')], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPYCACHEPREFIX: join(dir, 'pycache') } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^[12]\./);
  });

  it('round-trip every example of the spec', () => {
    const run = spawnSync(PYTHON, [join(import.meta.dirname, 'harness/roundtrip.py'), join(CLIENTS, 'python'), join(dir, 'cases.json')], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    expect(run.stderr).toBe('');
    expect(mismatches(cases, run.stdout)).toEqual([]);
    expect(cases.length).toBeGreaterThan(300);
  });
});

// The Java client models (generated/clients/java, package club.makapix.models) compile with javac
// against Debian's Jackson 2 jars, and every example of the spec parses into its class (and its union
// interface) and writes back to the same JSON.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS, mismatches, roundTripCases, writeCases, type RoundTripCase } from './cases.js';

const JAVAC = '/usr/bin/javac';
const JARS = ['jackson-databind', 'jackson-annotations', 'jackson-core'].map((j) => `/usr/share/java/${j}.jar`);

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.java')).sort().map((f) => join(dir, f));
}

describe.skipIf(!existsSync(JAVAC) || !JARS.every((j) => existsSync(j)))('Java client models', () => {
  let cases: RoundTripCase[];
  let dir: string;
  beforeAll(async () => {
    cases = await roundTripCases();
    dir = writeCases(cases, 'java');
  });

  it('compile (javac -Xlint, no warnings)', () => {
    const files = [...sources(join(CLIENTS, 'java')), join(import.meta.dirname, 'harness/RoundTrip.java')];
    const r = spawnSync(JAVAC, ['-Xlint:all', '-Werror', '-d', join(dir, 'classes'), '-cp', JARS.join(':'), ...files], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('round-trip every example of the spec', () => {
    const run = spawnSync('/usr/bin/java', ['-cp', [join(dir, 'classes'), ...JARS].join(':'), 'RoundTrip', join(dir, 'cases.json')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(run.stderr).toBe('');
    expect(mismatches(cases, run.stdout)).toEqual([]);
    expect(cases.length).toBeGreaterThan(300);
  }, 120_000);
});

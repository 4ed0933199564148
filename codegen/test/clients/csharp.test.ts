// The C# client models (generated/clients/csharp, namespace Makapix.Models) compile with Debian 12's mono
// mcs (C# 7) against Debian's Newtonsoft.Json (6.0), and every example of the spec parses into its class
// and writes back to the same JSON. C# has no union types here (Modelina prints none), so the examples
// go through their model only; a `const` property refuses another value.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS, mismatches, roundTripCases, writeCases, type RoundTripCase } from './cases.js';

const MCS = '/usr/bin/mcs';
const MONO = '/usr/bin/mono';
const NEWTONSOFT = '/usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll';

describe.skipIf(![MCS, MONO, NEWTONSOFT].every((f) => existsSync(f)))('C# client models', () => {
  let cases: RoundTripCase[];
  let dir: string;
  beforeAll(async () => {
    const all = await roundTripCases();
    const queryPosts = all.find((c) => c.model === 'QueryPostsRequest' && !c.expectError)!;
    cases = [
      // the unions' own cases need a union type; every other example through its model only
      ...all.filter((c) => !c.expectError).map((c) => ({ ...c, union: undefined })),
      { id: 'QueryPostsRequest with another request_type', model: 'QueryPostsRequest', json: { ...(queryPosts.json as object), request_type: 'teleport' }, expectError: 'teleport' },
    ];
    dir = writeCases(cases, 'csharp');
  });

  it('compile (mcs -langversion:7 -warnaserror)', () => {
    const src = join(CLIENTS, 'csharp');
    const files = readdirSync(src).filter((f) => f.endsWith('.cs')).sort().map((f) => join(src, f));
    expect(files.length).toBeGreaterThan(90);
    const r = spawnSync(MCS, ['-langversion:7', '-warn:4', '-warnaserror+', `-r:${NEWTONSOFT}`, '-r:System.Runtime.Serialization', `-out:${join(dir, 'roundtrip.exe')}`, ...files, join(import.meta.dirname, 'harness/RoundTrip.cs')], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('round-trip every example of the spec', () => {
    const run = spawnSync(MONO, [join(dir, 'roundtrip.exe'), join(dir, 'cases.json')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(run.stderr).toBe('');
    expect(mismatches(cases, run.stdout)).toEqual([]);
    expect(cases.length).toBeGreaterThan(300);
  }, 120_000);
});

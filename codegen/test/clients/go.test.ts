// The Go client models (generated/clients/go) compile with the Debian Go toolchain, and every example
// of the spec parses into its struct (and its union) and writes back to the same JSON.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS, mismatches, REPO, roundTripCases, writeCases, type RoundTripCase } from './cases.js';

const GO = '/usr/bin/go';
const env = { ...process.env, GOCACHE: join(REPO, '.cache/go-build'), GOPATH: join(REPO, '.cache/go'), GOPROXY: 'off', GOFLAGS: '-mod=mod', GO111MODULE: 'on', GOTOOLCHAIN: 'local' };

function harness(cases: RoundTripCase[]): string {
  const models = [...new Set(cases.map((c) => c.model))].sort();
  const unions = [...new Set(cases.flatMap((c) => (c.union ? [c.union] : [])))].sort();
  return `package main

import (
	"encoding/json"
	"fmt"
	"os"

	"makapix"
)

func rt[T any](b []byte) ([]byte, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

var ways = map[string]func([]byte) ([]byte, error){
${[...new Set([...models, ...unions])].map((m) => `\t${JSON.stringify(m)}: rt[makapix.${m}],`).join('\n')}
}

type kase struct {
	ID    string          \`json:"id"\`
	Model string          \`json:"model"\`
	Union string          \`json:"union"\`
	JSON  json.RawMessage \`json:"json"\`
}

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var cases []kase
	if err := json.Unmarshal(b, &cases); err != nil {
		panic(err)
	}
	for _, c := range cases {
		emit(c.ID, "model", ways[c.Model], c.JSON)
		if c.Union != "" {
			emit(c.ID, "union", ways[c.Union], c.JSON)
		}
	}
}

func emit(id, via string, f func([]byte) ([]byte, error), in []byte) {
	out := map[string]any{"id": id, "via": via}
	if r, err := f(in); err != nil {
		out["error"] = err.Error()
	} else {
		out["json"] = json.RawMessage(r)
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}
`;
}

describe.skipIf(!existsSync(GO))('Go client models', () => {
  let cases: RoundTripCase[];
  let dir: string;
  beforeAll(async () => {
    cases = await roundTripCases();
    dir = writeCases(cases, 'go');
    mkdirSync(join(REPO, '.cache'), { recursive: true });
    writeFileSync(join(dir, 'go.mod'), `module harness\n\ngo 1.19\n\nrequire makapix v0.0.0\n\nreplace makapix => ${join(CLIENTS, 'go')}\n`);
    writeFileSync(join(dir, 'main.go'), harness(cases));
  });

  it('compile (go vet) and are gofmt-clean', () => {
    const r = spawnSync(GO, ['vet', './...'], { cwd: join(CLIENTS, 'go'), env, encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
    const fmt = spawnSync(GO.replace(/go$/, 'gofmt'), ['-l', '.'], { cwd: join(CLIENTS, 'go'), encoding: 'utf8' });
    expect(fmt.stderr + fmt.stdout).toBe('');
  }, 120_000);

  it('round-trip every example of the spec', () => {
    const build = spawnSync(GO, ['build', '-o', 'harness', '.'], { cwd: dir, env, encoding: 'utf8' });
    expect(build.stderr).toBe('');
    const run = spawnSync(join(dir, 'harness'), [join(dir, 'cases.json')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(run.stderr).toBe('');
    expect(mismatches(cases, run.stdout)).toEqual([]);
    expect(cases.length).toBeGreaterThan(300);
  });
});

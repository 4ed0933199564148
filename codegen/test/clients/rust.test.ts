// The Rust client models (generated/clients/rust, crate makapix_models) build with Debian's cargo and
// rustc, offline from Debian's crate registry, and every example of the spec parses into its struct
// (and its union) and writes back to the same JSON.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS, mismatches, REPO, roundTripCases, writeCases, type RoundTripCase } from './cases.js';

const CARGO = '/usr/bin/cargo';
const REGISTRY = '/usr/share/cargo/registry';

function harness(cases: RoundTripCase[]): string {
  const models = [...new Set(cases.flatMap((c) => (c.union ? [c.model, c.union] : [c.model])))].sort();
  return `use makapix_models::*;

fn rt<T: serde::de::DeserializeOwned + serde::Serialize>(v: &serde_json::Value) -> Result<serde_json::Value, String> {
    let text = serde_json::to_string(v).map_err(|e| e.to_string())?;
    let parsed: T = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let back = serde_json::to_string(&parsed).map_err(|e| e.to_string())?;
    serde_json::from_str(&back).map_err(|e| e.to_string())
}

fn way(name: &str, v: &serde_json::Value) -> Result<serde_json::Value, String> {
    match name {
${models.map((m) => `        ${JSON.stringify(m)} => rt::<${m}>(v),`).join('\n')}
        other => Err(format!("no model {}", other)),
    }
}

fn emit(id: &serde_json::Value, via: &str, r: Result<serde_json::Value, String>) {
    let mut out = serde_json::Map::new();
    out.insert("id".into(), id.clone());
    out.insert("via".into(), via.into());
    match r {
        Ok(v) => out.insert("json".into(), v),
        Err(e) => out.insert("error".into(), e.into()),
    };
    println!("{}", serde_json::Value::Object(out));
}

fn main() {
    let path = std::env::args().nth(1).expect("cases.json");
    let cases: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for c in &cases {
        let json = &c["json"];
        emit(&c["id"], "model", way(c["model"].as_str().unwrap(), json));
        if let Some(u) = c.get("union").and_then(|u| u.as_str()) {
            emit(&c["id"], "union", way(u, json));
        }
    }
}
`;
}

describe.skipIf(!existsSync(CARGO) || !existsSync('/usr/bin/rustc') || !existsSync(REGISTRY))('Rust client models', () => {
  let cases: RoundTripCase[];
  let dir: string;
  const cache = join(REPO, '.cache/cargo');
  // Debian's rustc, also where a rustup toolchain comes first on PATH (cargo would take that one)
  const env = { ...process.env, RUSTC: '/usr/bin/rustc', PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}`, CARGO_HOME: join(cache, 'home'), CARGO_TARGET_DIR: join(cache, 'target'), CARGO_NET_OFFLINE: 'true' };
  beforeAll(async () => {
    cases = await roundTripCases();
    dir = writeCases(cases, 'rust');
    mkdirSync(join(cache, 'home'), { recursive: true });
    // crates come from Debian's packages (librust-serde*-dev), never from the network
    writeFileSync(join(cache, 'home/config.toml'), `[source.crates-io]\nreplace-with = "debian"\n\n[source.debian]\ndirectory = "${REGISTRY}"\n\n[net]\noffline = true\n`);
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'Cargo.toml'), `[package]\nname = "harness"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nmakapix_models = { path = ${JSON.stringify(join(CLIENTS, 'rust'))} }\nserde = "1"\nserde_json = "1"\n`);
    writeFileSync(join(dir, 'src/main.rs'), harness(cases));
  });

  it('compile with Debian\'s rustc (cargo build, no warnings in the models)', () => {
    const v = spawnSync(env.RUSTC, ['--version'], { encoding: 'utf8' });
    expect(v.stdout).toMatch(/^rustc 1\.\d+/);
    const r = spawnSync(CARGO, ['build', '--quiet'], { cwd: dir, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 600_000);

  it('round-trip every example of the spec', () => {
    const run = spawnSync(join(env.CARGO_TARGET_DIR, 'debug/harness'), [join(dir, 'cases.json')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(run.stderr).toBe('');
    expect(mismatches(cases, run.stdout)).toEqual([]);
    expect(cases.length).toBeGreaterThan(300);
  });
});

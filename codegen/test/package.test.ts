// generated/package.json: the workspace manifest codegen writes for @makapix/contract (its version
// from the spec's info.version, one export per generated module, the runtime entry).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contractVersion, emitPackageFiles, packageModules } from '../src/emit/package.js';
import { CONTRACT_PACKAGE, CONTRACT_PACKAGE_PATCH, RUNTIME_ENTRY } from '../src/version.js';
import { copySpec, edit, REPO } from './spec-copy.js';

const input = (root: string) => ({ root, asyncapi: 'spec/asyncapi.yaml', openapi: 'spec/openapi.yaml' });
type Manifest = { name: string; version: string; imports: Record<string, string>; exports: Record<string, string>; dependencies: Record<string, string>; peerDependencies: Record<string, string> };
const manifest = JSON.parse(readFileSync(join(REPO, 'generated/package.json'), 'utf8')) as Manifest;

describe('generated/package.json', () => {
  it('exports every generated TypeScript module and the runtime, each target existing', () => {
    const onDisk = (readFileSync(join(REPO, 'generated/index.ts'), 'utf8').match(/'\.\/[^']+\.js'/g) ?? []).map((s) => s.slice(3, -4) + '.ts');
    expect(onDisk.length).toBeGreaterThan(10);
    for (const m of onDisk) expect(manifest.exports[`./${m.replace(/\.ts$/, '')}`], m).toBe(`./${m}`);
    expect(manifest.exports['.']).toBe('./index.ts');
    expect(manifest.exports['./runtime']).toBe('./runtime.ts');
    for (const target of Object.values(manifest.exports)) expect(existsSync(join(REPO, 'generated', target)), target).toBe(true);
    expect(manifest.imports[RUNTIME_ENTRY]).toBe('@makapix/runtime');
    expect(manifest.name).toBe(CONTRACT_PACKAGE);
    expect(packageModules(['clients/typescript/index.ts', 'asyncapi/channels.ts', 'clients/go/models.go'])).toEqual(['asyncapi/channels.ts']);
  });

  it("declares the repository's ranges of what the generated code and the runtime import", () => {
    const root = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(manifest.dependencies).toEqual({ typebox: root.dependencies.typebox });
    expect(manifest.peerDependencies.mqtt).toBe(root.dependencies.mqtt);
  });

  it("takes its version from the spec's info.version major.minor and the package patch", () => {
    const dir = copySpec();
    try {
      const spec = readFileSync(join(REPO, 'spec/asyncapi.yaml'), 'utf8').match(/^  version: (\d+)\.(\d+)\.\d+$/m);
      if (!spec) throw new Error('spec/asyncapi.yaml: no info.version line');
      const [, major, minor] = spec;
      const now = `${major}.${minor}.0`;
      const next = `${major}.${Number(minor) + 1}.0`;
      expect(contractVersion(input(dir))).toBe(`${major}.${minor}.${CONTRACT_PACKAGE_PATCH}`);
      expect(manifest.version).toBe(`${major}.${minor}.${CONTRACT_PACKAGE_PATCH}`);
      edit(dir, 'spec/openapi.yaml', `version: ${now}`, `version: ${next}`);
      expect(() => contractVersion(input(dir))).toThrow(`info.version ${now} and spec/openapi.yaml info.version ${next} differ in major.minor`);
      edit(dir, 'spec/asyncapi.yaml', `version: ${now}`, `version: ${next}`);
      expect(() => emitPackageFiles(input(dir), ['index.ts'])).toThrow(`CONTRACT_PACKAGE_NOTES has no entry for the package version ${next}`);
      edit(dir, 'spec/asyncapi.yaml', `version: ${next}`, 'version: one');
      expect(() => contractVersion(input(dir))).toThrow(/spec\/asyncapi\.yaml: info\.version must be a version like 1\.1\.0 \(got "one"\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

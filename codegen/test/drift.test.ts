// `make check-generated`: passes on the committed tree, and fails with the fix command after a hand
// edit of a generated file or a spec edit without regenerating. (90 s each: check-generated makes the
// client models of ten languages too.)
import { appendFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copySpec, edit, REPO, runCodegen } from './spec-copy.js';

function copyWithGenerated(): string {
  const dir = copySpec();
  cpSync(join(REPO, 'generated'), join(dir, 'generated'), { recursive: true });
  return dir;
}

describe('check-generated', () => {
  it('passes when generated/ matches the spec', () => {
    const r = runCodegen(['check-generated', '--root', copyWithGenerated()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^generated\/ is up to date \(\d+ files\)/);
    expect(r.code).toBe(0);
  }, 90_000);

  it('fails on a hand edit of a generated file, naming it and the fix', () => {
    const dir = copyWithGenerated();
    appendFileSync(join(dir, 'generated/asyncapi/channels.ts'), '// edited by hand\n');
    const r = runCodegen(['check-generated', '--root', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('differs:  generated/asyncapi/channels.ts');
    expect(r.stderr).toContain('fix: run `make generate` and commit the result');
  }, 90_000);

  it('fails when the spec changed and generated/ was not regenerated', () => {
    const dir = copyWithGenerated();
    edit(dir, 'spec/components/identifiers.yaml', 'maxLength: 128', 'maxLength: 100');
    const r = runCodegen(['check-generated', '--root', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('differs:  generated/components/identifiers.ts');
  }, 90_000);

  it('reports a file that the spec no longer produces', () => {
    const dir = copyWithGenerated();
    appendFileSync(join(dir, 'generated/stray.ts'), 'export {};\n');
    const r = runCodegen(['check-generated', '--root', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('extra:    generated/stray.ts (not produced by the spec)');
  }, 90_000);
});

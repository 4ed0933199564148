// Compile-time proof that the generated contract holds handlers to the spec: each fixture under
// compile/ breaks one rule (another request type's reply, an undocumented error, a missing
// handler) and must fail to compile with a message naming the operation; the control fixture,
// the same shapes done right, must compile. The fixtures are outside `make typecheck`
// (tsconfig excludes *.fixture.ts) and compiled here with the project's compiler options.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const HERE = import.meta.dirname;
const DIR = join(HERE, 'compile');
const fixtures = readdirSync(DIR).filter((f) => f.endsWith('.fixture.ts')).sort();

/** Every diagnostic of a file as one text: the message chain, related information and the source it points at. */
function describeDiagnostics(program: ts.Program, file: string): string[] {
  const sf = program.getSourceFile(file)!;
  return [...program.getSemanticDiagnostics(sf), ...program.getSyntacticDiagnostics(sf)].map((d) => {
    const parts = [ts.flattenDiagnosticMessageText(d.messageText, '\n')];
    for (const r of d.relatedInformation ?? []) parts.push(ts.flattenDiagnosticMessageText(r.messageText, '\n'));
    if (d.start !== undefined && d.length !== undefined) parts.push(`at: ${sf.text.slice(d.start, d.start + d.length)}`);
    return parts.join('\n');
  });
}

let program: ts.Program;

beforeAll(() => {
  const configPath = resolve(HERE, '../../tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); } })!;
  program = ts.createProgram(fixtures.map((f) => join(DIR, f)), config.options);
}, 120_000);

describe('the compiler holds handlers to the spec', () => {
  it('has the fixtures', () => {
    expect(fixtures).toContain('control.fixture.ts');
    expect(fixtures.length).toBeGreaterThanOrEqual(7);
  });

  for (const f of fixtures) {
    const expected = /^\/\/ expect: (.*)$/m.exec(readFileSync(join(DIR, f), 'utf8'))?.[1]?.trim();
    it(`${f}: ${expected === 'nothing' ? 'compiles' : `fails naming "${expected}"`}`, () => {
      expect(expected, `${f} has no "// expect:" line`).toBeTruthy();
      const found = describeDiagnostics(program, join(DIR, f));
      if (expected === 'nothing') {
        expect(found).toEqual([]);
      } else {
        expect(found.length, `${f} compiled, but it must not`).toBeGreaterThan(0);
        expect(found.join('\n---\n')).toContain(expected);
      }
    });
  }
});

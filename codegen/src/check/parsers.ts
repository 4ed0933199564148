import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { Diagnostics } from '../diagnostics.js';
import { joinPointer } from '../load/pointer.js';
import type { SpecSet } from '../load/spec-set.js';

/** Runs the AsyncAPI parser (3.x) on the document and reports its errors and warnings. */
export async function checkAsyncApi(specs: SpecSet, file: string, ds: Diagnostics): Promise<void> {
  const { Parser, fromFile } = await import('@asyncapi/parser');
  const abs = resolve(specs.root, file);
  const src = specs.file(abs);
  const { diagnostics } = await fromFile(new Parser(), abs).parse();
  for (const d of diagnostics) {
    if (d.severity > 1) continue; // information and hints (e.g. "3.1.0 exists": we stay on 3.0.0 on purpose)
    const pointer = joinPointer('', ...(d.path ?? []).map(String));
    const where = src && d.path?.length ? src.locate(pointer) : { line: d.range.start.line + 1, col: d.range.start.character + 1 };
    ds.add({
      rule: `asyncapi/${String(d.code)}`, severity: d.severity === 0 ? 'error' : 'warning',
      file, ...where, pointer, message: d.message, hint: 'see the AsyncAPI 3.0.0 specification for this object',
    });
  }
}

/** Lints the OpenAPI document with Redocly's rules (redocly.yaml at the root, else `recommended`). */
export async function checkOpenApi(specs: SpecSet, file: string, ds: Diagnostics): Promise<void> {
  const core = await import('@redocly/openapi-core');
  const configPath = resolve(specs.root, 'redocly.yaml');
  const config = existsSync(configPath)
    ? await core.loadConfig({ configPath })
    : await core.createConfig({ extends: ['recommended'] });
  const problems = await core.lint({ ref: resolve(specs.root, file), config });
  for (const p of problems) {
    if (p.ignored) continue;
    const loc = p.location[0];
    const abs = loc?.source.absoluteRef ?? resolve(specs.root, file);
    const src = specs.file(abs);
    const pointer = loc?.pointer?.replace(/^#/, '') ?? '';
    const where = src ? src.locate(pointer, loc?.reportOnKey) : { line: 1, col: 1 };
    ds.add({
      rule: `openapi/${p.ruleId}`, severity: p.severity === 'error' ? 'error' : 'warning',
      file: relative(specs.root, abs), ...where, pointer, message: p.message,
      hint: p.suggest?.length ? `did you mean: ${p.suggest.join(', ')}?` : 'see the OpenAPI 3.1 specification for this object',
    });
  }
}

import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Diagnostics } from '../diagnostics.js';
import { getAt } from './pointer.js';
import { SourceFile } from './source-file.js';

/** A place in a spec file. */
export interface Loc {
  file: SourceFile;
  pointer: string;
}

/** The spec files reachable from the two root documents, loaded once, with `$ref` resolution. */
export class SpecSet {
  private readonly files = new Map<string, SourceFile | null>();

  constructor(
    readonly root: string,
    readonly diagnostics: Diagnostics,
  ) {}

  file(abs: string): SourceFile | null {
    if (this.files.has(abs)) return this.files.get(abs)!;
    if (!existsSync(abs)) {
      this.files.set(abs, null);
      return null;
    }
    const f = SourceFile.read(abs, this.root);
    for (const e of f.parseErrors) {
      this.diagnostics.add({
        rule: 'yaml-syntax', severity: 'error', file: f.rel, line: e.line, col: e.col, pointer: '',
        message: e.message, hint: 'fix the YAML syntax at this position',
      });
    }
    this.files.set(abs, f);
    return f;
  }

  allFiles(): SourceFile[] {
    return [...this.files.values()].filter((f): f is SourceFile => f !== null);
  }

  value(loc: Loc): unknown {
    return getAt(loc.file.value, loc.pointer);
  }

  /** Where a `$ref` string written at `from` points, or null (reported) when it cannot be resolved. */
  target(from: Loc, ref: string): Loc | null {
    const [path, fragment = ''] = ref.split('#', 2);
    const file = path ? this.file(resolve(dirname(from.file.abs), path)) : from.file;
    const where = from.file.locate(from.pointer + '/$ref');
    const report = (message: string, hint: string) => {
      this.diagnostics.add({
        rule: 'ref-unresolved', severity: 'error', file: from.file.rel, ...where,
        pointer: from.pointer + '/$ref', message, hint,
      });
      return null;
    };
    if (!file) return report(`$ref '${ref}': file '${path}' does not exist`, 'check the relative path of the referenced file');
    if (file.value === undefined) return null; // its syntax error is reported already
    if (fragment && !fragment.startsWith('/')) return report(`$ref '${ref}': fragment must be a JSON pointer`, "write '#/path/to/schema'");
    if (getAt(file.value, fragment) === undefined) {
      return report(`$ref '${ref}': nothing at '${fragment || '/'}' in ${file.rel}`, 'check the name of the referenced schema or message');
    }
    return { file, pointer: fragment };
  }

  /** Follows `$ref` chains from `loc` to the place that holds the value. */
  deref(loc: Loc): Loc | null {
    let cur: Loc | null = loc;
    for (let i = 0; cur && i < 32; i++) {
      const v = this.value(cur);
      if (v && typeof v === 'object' && typeof (v as { $ref?: unknown }).$ref === 'string') {
        cur = this.target(cur, (v as { $ref: string }).$ref);
      } else return cur;
    }
    return cur;
  }
}

export function locKey(loc: Loc): string {
  return `${loc.file.rel}#${loc.pointer}`;
}

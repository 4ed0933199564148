import { posix } from 'node:path';
import type { Loc } from '../load/spec-set.js';
import { GENERATED_BY, RUNTIME_ENTRY } from '../version.js';

/** One generated TypeScript file: tracks its imports, prints a banner, no timestamps. */
export class GeneratedFile {
  private readonly imports = new Map<string, Map<string, string>>(); // module -> (name -> local alias)
  private readonly typeOnly = new Set<string>(); // module|name imported as type only
  private readonly locals = new Set<string>();
  private readonly body: string[] = [];

  constructor(
    readonly path: string, // relative to the output folder, e.g. 'asyncapi/channels.ts'
    private readonly sources: string[],
  ) {}

  /** Declares a name defined in this file, so imports never collide with it. */
  declare(name: string): void {
    this.locals.add(name);
  }

  /** Imports `name` from a package (e.g. 'typebox'); returns the local name. */
  import(from: string, name: string, opts: { type?: boolean } = {}): string {
    return this.add(from, from, name, opts);
  }

  /** Imports `name` from another generated module (e.g. 'components/identifiers'), or '' for this one. */
  local(module: string, name: string, opts: { type?: boolean } = {}): string {
    if (module + '.ts' === this.path) return name;
    return this.add(module, this.relative(module), name, opts);
  }

  private add(from: string, spec: string, name: string, opts: { type?: boolean }): string {
    let names = this.imports.get(spec);
    if (!names) this.imports.set(spec, (names = new Map()));
    const existing = names.get(name);
    if (existing) {
      if (!opts.type) this.typeOnly.delete(spec + '|' + name);
      return existing;
    }
    let alias = name;
    const taken = () => this.locals.has(alias) || [...this.imports.entries()].some(([m, ns]) => m !== spec && [...ns.values()].includes(alias));
    if (taken()) alias = `${posix.basename(from).replace(/[^A-Za-z0-9]/g, '_')}_${name}`;
    names.set(name, alias);
    if (opts.type) this.typeOnly.add(spec + '|' + name);
    return alias;
  }

  /** Imports `name` from the runtime, through its one versioned entry (RUNTIME_ENTRY). */
  runtime(name: string, opts: { type?: boolean } = {}): string {
    return this.add(RUNTIME_ENTRY, RUNTIME_ENTRY, name, opts);
  }

  private relative(modulePath: string): string {
    let rel = posix.relative(posix.dirname(this.path), modulePath);
    if (!rel.startsWith('.')) rel = './' + rel;
    return rel + '.js';
  }

  /** The provenance line of a declaration made from a whole part of this file's source (e.g. '/operations'). */
  fromDoc(pointer: string, indent = ''): void {
    this.body.push(`${indent}// from ${this.sources[0]}#${pointer}`);
  }

  /** The provenance line of the next declaration: the spec object it came from. */
  from(loc: Loc, indent = ''): void {
    this.body.push(`${indent}// from ${provenance(loc)}`);
  }

  line(s = ''): void {
    this.body.push(s);
  }

  lines(ss: string[]): void {
    this.body.push(...ss);
  }

  toString(): string {
    const banner = [
      `// ${GENERATED_BY}`,
      `// Source: ${this.sources.join(', ')}`,
      '// Regenerate with `make generate`; `make check-generated` fails when this file drifts.',
      '/* eslint-disable */',
    ];
    const imports = [...this.imports.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([mod, names]) => {
        const parts = [...names.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([n, alias]) => (this.typeOnly.has(mod + '|' + n) ? 'type ' : '') + (n === alias ? n : `${n} as ${alias}`));
        return `import { ${parts.join(', ')} } from '${mod}';`;
      });
    return [...banner, '', ...imports, ...(imports.length ? [''] : []), ...this.body].join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
  }
}

/** `spec/asyncapi.yaml#/components/schemas/Post`: where a generated declaration came from. */
export function provenance(loc: Loc): string {
  return `${loc.file.rel}#${loc.pointer}`;
}

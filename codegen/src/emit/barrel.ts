import { GENERATED_BY } from '../version.js';

/** generated/index.ts: one namespace per generated module, so equal names in two modules never clash. */
export function emitIndex(paths: string[]): string {
  const lines = [
    `// ${GENERATED_BY}`,
    '// Source: spec/',
    '// Regenerate with `make generate`; `make check-generated` fails when this file drifts.',
    '',
  ];
  for (const p of paths.filter((x) => x !== 'index.ts').sort()) {
    const ns = p.replace(/\.ts$/, '').replace(/[/-](\w)/g, (_, c: string) => c.toUpperCase());
    lines.push(`export * as ${ns} from './${p.replace(/\.ts$/, '.js')}';`);
  }
  return lines.join('\n') + '\n';
}

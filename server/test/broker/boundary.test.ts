// The broker-admin boundary: outside server/src/broker/ the server uses only the interface
// (broker/broker-admin.ts); only the composition root (main.ts) reaches broker/index.ts, which
// picks the implementation. So no module outside broker/ can depend on Mosquitto's dynamic
// security, CRL reloads or session takeover, and another broker's implementation touches only broker/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** What a module outside broker/ may import from broker/ (paths relative to server/src). */
const ALLOWED: Record<string, readonly string[]> = {
  '*': ['broker/broker-admin.ts'],
  'main.ts': ['broker/broker-admin.ts', 'broker/index.ts'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Module specifiers of static imports/exports (also `import type`) and dynamic import()s. */
export function specifiersOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gms,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]!);
  return found;
}

/** `from` (relative to server/src) importing `spec`: the broker/ file it names, if any, relative to server/src. */
function brokerTarget(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const target = relative(SRC, resolve(SRC, dirname(from), spec)).replace(/\.js$/, '.ts');
  return target === 'broker' || target.startsWith('broker/') ? (target === 'broker' ? 'broker/index.ts' : target) : null;
}

/** Violations among `files` (path relative to server/src -> source). */
export function boundaryViolations(files: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of Object.entries(files)) {
    if (file.startsWith('broker/')) continue;
    const allowed = ALLOWED[file] ?? ALLOWED['*']!;
    for (const spec of specifiersOf(source)) {
      const target = brokerTarget(file, spec);
      if (target !== null && !allowed.includes(target)) out.push(`${file} imports ${spec} (${target}); outside broker/ only ${allowed.join(', ')} may be imported`);
    }
  }
  return out;
}

describe('broker-admin boundary', () => {
  it('outside server/src/broker/ only the interface is imported (and broker/index.ts by main.ts)', () => {
    const files = Object.fromEntries(sourceFiles(SRC).map((p) => [relative(SRC, p), readFileSync(p, 'utf8')]));
    expect(Object.keys(files).length).toBeGreaterThan(50);
    expect(Object.keys(files)).toContain('broker/mosquitto/admin.ts');
    expect(boundaryViolations(files)).toEqual([]);
  });

  it('the check catches a module reaching an implementation, however it is imported', () => {
    const violations = boundaryViolations({
      'rest/players.ts': "import { RevocationNotConfirmedError } from '../broker/broker-admin.js';\nimport { kickClient } from '../broker/kick.js';",
      'rest/mqtt.ts': "import type {\n  WebUserAccounts,\n} from '../broker/mosquitto/web-users.js';",
      'services/x.ts': "export { DynsecClient } from '../broker/dynsec-client.js';\nconst m = await import('../broker/mosquitto/admin.js');",
      'app.ts': "import { createBrokerAdmin } from './broker/index.js';",
      'main.ts': "import { createBrokerAdmin } from './broker/index.js';\nimport { MosquittoBrokerAdmin } from './broker/mosquitto/admin.js';",
      'broker/mosquitto/admin.ts': "import { DynsecClient } from '../dynsec-client.js';",
    });
    expect(violations.map((v) => v.split(' (')[0])).toEqual([
      'rest/players.ts imports ../broker/kick.js',
      'rest/mqtt.ts imports ../broker/mosquitto/web-users.js',
      'services/x.ts imports ../broker/dynsec-client.js',
      'services/x.ts imports ../broker/mosquitto/admin.js',
      'app.ts imports ./broker/index.js',
      'main.ts imports ./broker/mosquitto/admin.js',
    ]);
  });
});

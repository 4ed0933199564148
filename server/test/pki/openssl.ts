// Runs the openssl CLI for real verification of what the pki module produces.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/pki/ca.js';

export function openssl(args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

export function opensslOk(args: string[], input?: string): string {
  const r = openssl(args, input);
  if (!r.ok) throw new Error(`openssl ${args.join(' ')} failed:\n${r.out}`);
  return r.out;
}

/** A scratch directory with helpers to write files into it; call cleanup() when done. */
export function scratch(): { dir: string; file(name: string, text: string): string; path(name: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-pki-'));
  return {
    dir,
    path: (name) => join(dir, name),
    file(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A CA in the scratch directory's `ca/` (made on first use), and the path of its certificate. */
export async function scratchCa(s: { dir: string }): Promise<{ ca: CertificateAuthority; caFile: string }> {
  return { ca: await loadOrCreateCa(join(s.dir, 'ca')), caFile: join(s.dir, 'ca', 'ca.crt') };
}

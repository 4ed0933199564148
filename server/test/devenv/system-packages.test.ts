// System packages: present on this machine, and the shell script agrees with the module.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureScript, ensureSystemPackages, missingSystemPackages } from '../../devenv/system-packages.js';

describe('system packages', () => {
  it('are all present (ensureSystemPackages installs them when root)', () => {
    ensureSystemPackages();
    expect(missingSystemPackages()).toEqual([]);
  });

  it('the shell script exits 0 when everything is present', () => {
    const r = spawnSync('sh', [ensureScript], { encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('the shell script names the exact apt-get command when it cannot install', () => {
    if (spawnSync('id', ['-u', 'nobody']).status !== 0) return;
    // a copy that `nobody` can read wherever the checkout is (CI clones into a 0700 folder)
    const dir = mkdtempSync(join(tmpdir(), 'makapix-pkgs-'));
    chmodSync(dir, 0o755);
    const script = join(dir, 'ensure-system-packages.sh');
    copyFileSync(ensureScript, script);
    chmodSync(script, 0o755);
    const r = spawnSync('runuser', ['-u', 'nobody', '--', 'sh', script], {
      encoding: 'utf8', env: { ...process.env, MAKAPIX_PG_BIN: '/nonexistent' },
    });
    if (process.getuid?.() !== 0) return; // runuser needs root
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15');
  });
});

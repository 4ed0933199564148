// System packages: present on this machine, and the shell script agrees with the module.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { ensureScript, ensureSystemPackages, missingSystemPackages } from '../../devenv/system-packages.js';

describe('system packages', () => {
  it('are all present (ensureSystemPackages installs them when root)', () => {
    ensureSystemPackages();
    expect(missingSystemPackages()).toEqual([]);
  });

  it('the shell script exits 0 quickly when everything is present', () => {
    const t0 = performance.now();
    const r = spawnSync('sh', [ensureScript], { encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(performance.now() - t0).toBeLessThan(1_000);
  });

  it('the shell script names the exact apt-get command when it cannot install', () => {
    if (spawnSync('id', ['-u', 'nobody']).status !== 0) return;
    const r = spawnSync('runuser', ['-u', 'nobody', '--', 'sh', ensureScript], {
      encoding: 'utf8', env: { ...process.env, MAKAPIX_PG_BIN: '/nonexistent' },
    });
    if (process.getuid?.() !== 0) return; // runuser needs root
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15');
  });
});

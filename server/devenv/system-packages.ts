// System packages the dev environment needs: mosquitto, mosquitto-clients, postgresql-15, and
// as root acl (setfacl: lets the postgres user reach a cluster under a 0700 home; see postgres.ts).
// `ensureSystemPackages()` is quick (a few stat calls) when everything is present; otherwise it
// runs ensure-system-packages.sh, which installs with apt-get as root or prints the exact
// command and exits 1 (the error is rethrown here). Run directly: `tsx server/devenv/system-packages.ts`.
import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

export const PG_BIN_DIR = process.env.MAKAPIX_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Absolute paths of the binaries the devenv runs. */
export const binaries = {
  mosquitto: '/usr/sbin/mosquitto',
  mosquittoPub: '/usr/bin/mosquitto_pub',
  mosquittoSub: '/usr/bin/mosquitto_sub',
  mosquittoPasswd: '/usr/bin/mosquitto_passwd',
  mosquittoCtrl: '/usr/bin/mosquitto_ctrl',
  dynsecPlugin: '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
  initdb: join(PG_BIN_DIR, 'initdb'),
  pgCtl: join(PG_BIN_DIR, 'pg_ctl'),
  setfacl: '/usr/bin/setfacl',
} as const;

const asRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

const requirements: { pkg: string; files: string[]; rootOnly?: boolean }[] = [
  { pkg: 'mosquitto', files: [binaries.mosquitto, binaries.mosquittoPasswd, binaries.dynsecPlugin] },
  { pkg: 'mosquitto-clients', files: [binaries.mosquittoPub, binaries.mosquittoSub, binaries.mosquittoCtrl] },
  { pkg: 'postgresql-15', files: [binaries.initdb, binaries.pgCtl] },
  // Only root runs PostgreSQL as another user (postgres), who may need an ACL to reach the data dir.
  { pkg: 'acl', files: [binaries.setfacl], rootOnly: true },
];

function present(file: string): boolean {
  try { accessSync(file, constants.R_OK); return true; } catch { return false; }
}

/** Debian package names whose files are missing (empty when all is present). */
export function missingSystemPackages(): string[] {
  return requirements.filter((r) => (!r.rootOnly || asRoot()) && !r.files.every(present)).map((r) => r.pkg);
}

export const ensureScript = join(dirname(fileURLToPath(import.meta.url)), 'ensure-system-packages.sh');

/** Install what is missing (root) or throw with the exact apt-get command (non-root). */
export function ensureSystemPackages(): void {
  const missing = missingSystemPackages();
  if (missing.length === 0) return;
  const res = spawnSync('sh', [ensureScript], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(`system packages missing (${missing.join(', ')}):\n${res.stderr?.trim() ?? ''}`);
  }
  const still = missingSystemPackages();
  if (still.length) throw new Error(`system packages still missing after install: ${still.join(', ')}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    ensureSystemPackages();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}

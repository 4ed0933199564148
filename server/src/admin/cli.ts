// The operator's command line (`make admin ARGS="grant moderator alice@example.com"`): see
// roles.ts. Connects to DATABASE_URL like the server; migrations must have run (the server runs
// them at start). Exit status: 0 done, 1 nothing to act on or a failure, 2 a usage mistake.
import { userInfo } from 'node:os';
import { ConfigError, loadDatabaseUrl } from '../config.js';
import { createSql } from '../db/index.js';
import { ADMIN_USAGE, AdminNotFoundError, AdminUsageError, runAdmin } from './roles.js';

function operatorName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    console.log(ADMIN_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  let url: string;
  try {
    url = loadDatabaseUrl();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const sql = createSql({ url, max: 1, applicationName: 'makapix-admin' });
  try {
    await runAdmin(argv, { sql, operator: `${operatorName()} (os user)`, print: (line) => console.log(line) });
    return 0;
  } catch (err) {
    if (err instanceof AdminUsageError) {
      console.error(`admin: ${err.message}\n\n${ADMIN_USAGE}`);
      return 2;
    }
    if (err instanceof AdminNotFoundError) {
      console.error(`admin: ${err.message}`);
      return 1;
    }
    console.error(`admin: failed: ${(err as Error).message}`);
    return 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

process.exitCode = await main(process.argv.slice(2));

// The operator's command on accounts (server/src/admin/cli.ts, `make admin ARGS="..."`): grant and
// revoke roles on an existing account named by email or user_id, and show an account's roles with
// their history. Every change is recorded with who made it (the operator's OS user, or --by) and
// when (db/users.ts changeRole). Registering a handle never grants anything.
import { UserRoleValues } from '@makapix/contract/openapi/schemas';
import type { Sql } from '../db/index.js';
import { changeRole, findUserByEmailOrUserId, roleChanges, type StoredRole } from '../db/users.js';

export const ADMIN_USAGE = `usage: make admin ARGS="<command>"   (or: npx tsx server/src/admin/cli.ts <command>)
  grant <role> <email or user_id> [--by <name>]    give an existing account a role
  revoke <role> <email or user_id> [--by <name>]   take it away
  show <email or user_id>                          the account's roles and every recorded change
roles: ${UserRoleValues.filter((r) => r !== 'user').join(', ')} (every account has 'user').
--by names who made the change in its record (default: the operator's OS user).
The database is DATABASE_URL, as the server's.`;

/** A mistake in the command line: printed with the usage, exit status 2. */
export class AdminUsageError extends Error {
  override readonly name = 'AdminUsageError';
}

/** The command found nothing to act on (unknown account): exit status 1. */
export class AdminNotFoundError extends Error {
  override readonly name = 'AdminNotFoundError';
}

const STORED_ROLES = UserRoleValues.filter((r): r is StoredRole => r !== 'user');

export interface AdminDeps {
  sql: Sql;
  /** Who runs the command when --by is not given. */
  operator: string;
  /** One line of output. */
  print: (line: string) => void;
}

function parse(argv: readonly string[]): { words: string[]; by: string | null } {
  const words: string[] = [];
  let by: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--by') {
      const v = argv[++i];
      if (v === undefined || v.trim() === '') throw new AdminUsageError('--by needs a name');
      if (v.length > 200) throw new AdminUsageError('--by: at most 200 characters');
      by = v.trim();
    } else if (a.startsWith('--')) {
      throw new AdminUsageError(`unknown option ${a}`);
    } else {
      words.push(a);
    }
  }
  return { words, by };
}

function storedRole(word: string | undefined): StoredRole {
  const role = STORED_ROLES.find((r) => r === word);
  if (role) return role;
  if (word === 'user') throw new AdminUsageError("every account has the role 'user'; it cannot be granted or revoked");
  throw new AdminUsageError(`unknown role ${JSON.stringify(word ?? '')}; roles: ${STORED_ROLES.join(', ')}`);
}

async function account(sql: Sql, who: string | undefined) {
  if (who === undefined || who.trim() === '') throw new AdminUsageError('name the account by its email or user_id');
  const user = await findUserByEmailOrUserId(sql, who.trim());
  if (!user) throw new AdminNotFoundError(`no account has the email or user_id ${JSON.stringify(who)} (roles are given only to existing accounts)`);
  return user;
}

/** Runs one command. Throws AdminUsageError or AdminNotFoundError for the operator's mistakes. */
export async function runAdmin(argv: readonly string[], deps: AdminDeps): Promise<void> {
  const { words, by } = parse(argv);
  const [command, ...rest] = words;
  switch (command) {
    case 'grant':
    case 'revoke': {
      if (rest.length !== 2) throw new AdminUsageError(`${command} takes a role and an account: ${command} <role> <email or user_id>`);
      const role = storedRole(rest[0]);
      const user = await account(deps.sql, rest[1]);
      const changedBy = by ?? deps.operator;
      const result = await changeRole(deps.sql, user.id, { role, action: command, by: changedBy });
      if (!result) throw new AdminNotFoundError(`the account ${user.email} was deleted meanwhile`);
      const roles = ['user', ...result.roles].join(', ');
      deps.print(result.changed
        ? `${command === 'grant' ? 'granted' : 'revoked'} ${role} ${command === 'grant' ? 'to' : 'from'} ${user.handle} <${user.email}> (user_id ${user.user_id}) by ${changedBy}; roles now: ${roles}`
        : `${user.handle} <${user.email}> ${command === 'grant' ? 'already has' : 'does not have'} ${role}; nothing changed (roles: ${roles})`);
      return;
    }
    case 'show': {
      if (rest.length !== 1) throw new AdminUsageError('show takes an account: show <email or user_id>');
      if (by !== null) throw new AdminUsageError('--by goes with grant and revoke');
      const user = await account(deps.sql, rest[0]);
      deps.print(`${user.handle} <${user.email}> user_id ${user.user_id}; roles: ${['user', ...user.roles].join(', ')}`);
      const changes = await roleChanges(deps.sql, user.id);
      if (changes.length === 0) deps.print('no recorded role changes');
      for (const c of changes) deps.print(`${c.changed_at.toISOString()} ${c.action} ${c.role} by ${c.changed_by}`);
      return;
    }
    case undefined:
      throw new AdminUsageError('no command given');
    default:
      throw new AdminUsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

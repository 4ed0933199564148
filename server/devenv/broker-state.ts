// Persistent state of the dev broker in its dir, created once and kept across restarts:
//   secrets.json (0600)  the server account and dynsec admin credentials (random passwords)
//   passwd               mosquitto_passwd file with the server account
//   dynsec.json          dynamic-security state: admin client, tightened default ACL access,
//                        role `web-user-base`; the plugin rewrites it on every change
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { run } from './process-control.js';
import { binaries } from './system-packages.js';
import type { BrokerFiles } from './broker-config.js';
import { postNewInCategoryTopic } from '@makapix/contract/asyncapi/channels';
import { WEB_USER_BASE_ROLE } from '../src/broker/mosquitto/web-users.js';

export interface Account {
  username: string;
  password: string;
}

export interface BrokerSecrets {
  serverAccount: Account;
  dynsecAdmin: Account;
}

export const SERVER_USERNAME = 'makapix-server';
export const DYNSEC_ADMIN_USERNAME = 'dynsec-admin';
export { WEB_USER_BASE_ROLE };
/** What the base role (the server's, broker/mosquitto/web-users.ts) may receive: the public category notifications. */
export const CATEGORY_TOPIC_FILTER = postNewInCategoryTopic.filterRest();

const randomPassword = () => randomBytes(24).toString('base64url');

export function loadOrCreateSecrets(files: BrokerFiles): BrokerSecrets {
  if (existsSync(files.secrets)) return JSON.parse(readFileSync(files.secrets, 'utf8')) as BrokerSecrets;
  const secrets: BrokerSecrets = {
    serverAccount: { username: SERVER_USERNAME, password: randomPassword() },
    dynsecAdmin: { username: DYNSEC_ADMIN_USERNAME, password: randomPassword() },
  };
  writeFileSync(files.secrets, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

export async function ensurePasswordFile(files: BrokerFiles, account: Account): Promise<void> {
  if (existsSync(files.passwd)) return;
  await run(binaries.mosquittoPasswd, ['-c', '-b', files.passwd, account.username, account.password]);
}

interface DynsecAcl { acltype: string; topic: string; allow: boolean; priority?: number }
interface DynsecFile {
  clients?: unknown[];
  roles?: { rolename: string; acls?: DynsecAcl[] }[];
  defaultACLAccess?: Record<string, boolean>;
}

/** `mosquitto_ctrl dynsec init`, then tighten the defaults and add the base role (offline, before first start). */
export async function ensureDynsecFile(files: BrokerFiles, admin: Account): Promise<void> {
  if (existsSync(files.dynsec)) return;
  await run(binaries.mosquittoCtrl, ['dynsec', 'init', files.dynsec, admin.username, admin.password]);
  const doc = JSON.parse(readFileSync(files.dynsec, 'utf8')) as DynsecFile;
  // The plugin's defaults let any client receive every publish it is subscribed to; with
  // acl-granted subscriptions that leaks. Deny by default, allow per role.
  doc.defaultACLAccess = { ...doc.defaultACLAccess, publishClientSend: false, publishClientReceive: false, subscribe: false, unsubscribe: true };
  doc.roles = (doc.roles ?? []).filter((r) => r.rolename !== WEB_USER_BASE_ROLE);
  doc.roles.push({
    rolename: WEB_USER_BASE_ROLE,
    acls: [
      { acltype: 'subscribePattern', topic: CATEGORY_TOPIC_FILTER, allow: true },
      { acltype: 'publishClientReceive', topic: CATEGORY_TOPIC_FILTER, allow: true },
    ],
  });
  writeFileSync(files.dynsec, `${JSON.stringify(doc, null, '\t')}\n`, { mode: 0o600 });
}

/** Players denied on the mTLS listener (`user <key>` + `topic deny #` in the devices ACL); see revoke.ts. */
export function readDeniedPlayers(files: BrokerFiles): string[] {
  const p = `${files.dir}/denied-players.json`;
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as string[]) : [];
}

export function writeDeniedPlayers(files: BrokerFiles, keys: readonly string[]): void {
  writeFileSync(`${files.dir}/denied-players.json`, `${JSON.stringify([...new Set(keys)], null, 2)}\n`);
}

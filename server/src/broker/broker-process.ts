// Is the process named by the broker's PID file really our broker? Before the server sends it
// SIGHUP (to have it re-read the CRL), it checks, through /proc (Linux, same PID namespace), that the
// PID is alive, is a `mosquitto`, and runs a config file (`-c FILE`) whose `crlfile` is the CRL file
// the server writes. A stale PID file (the broker restarted by something that did not rewrite it)
// names a dead process or, worse, an unrelated one that reused the number: neither is signalled.
// Left: a PID reused between this check and the kill (microseconds).
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';

export type BrokerProcess = { pid: number } | { problem: string };

function readCmdline(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.length === 0 ? null : raw.replace(/\0$/, '').split('\0');
  } catch {
    return null;
  }
}

/** Exited but not yet reaped processes still have a /proc entry. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => { try { return realpathSync(p); } catch { return resolve(p); } };
  return real(a) === real(b);
}

/** The `crlfile` paths a Mosquitto config sets (relative paths are relative to the broker's working dir). */
function crlFilesOf(conf: string, cwd: string): string[] {
  return readFileSync(conf, 'utf8')
    .split('\n')
    .map((l) => /^\s*crlfile\s+(.+?)\s*$/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined)
    .map((p) => (isAbsolute(p) ? p : resolve(cwd, p)));
}

/**
 * The broker's PID when the process `pidFile` names is a live Mosquitto whose config sets
 * `crlfile <crlFile>`; otherwise why not (for logs and for the API's answer).
 */
export function identifyBroker(pidFile: string, crlFile: string): BrokerProcess {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  } catch (err) {
    return { problem: `cannot read the broker PID file ${pidFile}: ${(err as Error).message}` };
  }
  if (!Number.isSafeInteger(pid) || pid <= 1) return { problem: `no process id in the broker PID file ${pidFile}` };
  const argv = readCmdline(pid);
  if (argv === null || isZombie(pid)) return { problem: `the broker PID file ${pidFile} is stale: no process ${pid}` };
  let exe = argv[0] ?? '';
  try { exe = readlinkSync(`/proc/${pid}/exe`); } catch { /* another user's process: argv[0] it is */ }
  if (basename(exe) !== 'mosquitto') {
    return { problem: `the broker PID file ${pidFile} is stale: process ${pid} is not mosquitto (${argv.join(' ')})` };
  }
  const c = argv.findIndex((a) => a === '-c' || a === '--config-file');
  const confArg = c >= 0 ? argv[c + 1] : undefined;
  if (confArg === undefined) return { problem: `process ${pid} (${argv.join(' ')}) runs without a config file, so not with our CRL` };
  let cwd = '/';
  try { cwd = readlinkSync(`/proc/${pid}/cwd`); } catch { /* keep / */ }
  const conf = isAbsolute(confArg) ? confArg : resolve(cwd, confArg);
  let crls: string[];
  try {
    crls = crlFilesOf(conf, cwd);
  } catch (err) {
    return { problem: `cannot read the config ${conf} of mosquitto process ${pid}: ${(err as Error).message}` };
  }
  if (!crls.some((f) => samePath(f, crlFile))) {
    return { problem: `mosquitto process ${pid} is not our broker: its config ${conf} does not set crlfile ${crlFile}` };
  }
  return { pid };
}

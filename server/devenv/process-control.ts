// Process helpers: liveness by PID, stop by PID (SIGTERM, then SIGKILL after a timeout),
// running commands (optionally as another user via runuser when we are root), and who holds a
// TCP port (so that a start over a port in use fails naming the process instead of talking to it).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) still answers kill(0); treat it as dead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The command line of a live process ('' if unknown): used to recognise our own stale processes. */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * Send `signal` (default SIGTERM) to the PID, wait up to `timeoutMs`, then SIGKILL.
 * Resolves once it is gone.
 */
export async function stopPid(pid: number, timeoutMs = 5_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isAlive(pid)) return;
  try { process.kill(pid, signal); } catch { return; }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(10);
  }
  try { process.kill(pid, 'SIGKILL'); } catch { return; }
  const killDeadline = Date.now() + 2_000;
  while (isAlive(pid) && Date.now() < killDeadline) await sleep(10);
}

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

export interface RunOptions {
  /** Run as this user (via `runuser -u <user> --`) when we are root; ignored otherwise. */
  asUser?: string;
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Run a command to completion; rejects with its stderr/stdout in the message. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  const [file, argv] = opts.asUser && isRoot() ? ['runuser', ['-u', opts.asUser, '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const child = execFile(file, argv, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          const detail = `${stderr}${stdout}`.trim();
          reject(new Error(`${[file, ...argv].join(' ')} failed: ${err.message}${detail ? `\n${detail}` : ''}`));
        } else {
          resolve({ stdout, stderr });
        }
      });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** PIDs of the processes listening on TCP `port` (any address), from /proc (Linux; [] where unknown). */
export function listeningPids(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] = local address:port (hex), f[3] = state (0A = LISTEN), f[9] = inode
      if (f.length < 10 || f[3] !== '0A') continue;
      if (Number.parseInt(f[1]!.split(':')[1] ?? '', 16) === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  let entries: string[] = [];
  try { entries = readdirSync('/proc'); } catch { return []; }
  for (const e of entries) {
    if (!/^[0-9]+$/.test(e)) continue;
    let fds: string[];
    try { fds = readdirSync(`/proc/${e}/fd`); } catch { continue; }
    for (const fd of fds) {
      let target: string;
      try { target = readlinkSync(`/proc/${e}/fd/${fd}`); } catch { continue; }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) { pids.push(Number(e)); break; }
    }
  }
  return pids;
}

/** "pid 123 (mosquitto -c /x/mosquitto.conf)" for each listener on `port`, or "" when none is known. */
export function describeListeners(port: number): string {
  return listeningPids(port).map((pid) => `pid ${pid} (${cmdlineOf(pid) || 'command unknown'})`).join(', ');
}

/** Whether `port` on `host` can be bound right now (nothing listens there). */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Throws, naming the process that holds it and what to do, when `port` is taken. */
export async function assertPortFree(
  port: number,
  what: string,
  opts: { host?: string; hint?: string; /** a path in the command line of our own leftovers (a config, a data dir) */ leftoverOf?: string } = {},
): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  if (await portIsFree(port, host)) return;
  const pids = listeningPids(port);
  const holders = describeListeners(port);
  const leftover = opts.leftoverOf !== undefined && pids.some((p) => cmdlineOf(p).includes(opts.leftoverOf!));
  throw new Error(
    `${what}: port ${port} on ${host} is already in use${holders ? ` by ${holders}` : ''}` +
    `${leftover ? ' (left over from an earlier run on this data dir, not the process its PID file names)' : ''}. ` +
    `Stop that process${pids.length ? ` (kill ${pids.join(' ')})` : ''}${opts.hint ? ` or ${opts.hint}` : ''}.`,
  );
}

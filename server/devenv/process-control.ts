// Process helpers: liveness by PID, stop by PID (SIGTERM, then SIGKILL after a timeout),
// and running commands (optionally as another user via runuser when we are root).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

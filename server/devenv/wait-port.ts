// Wait until a TCP port accepts connections (or give up with a useful error).
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitPortOptions {
  host?: string;
  timeoutMs?: number;
  /** Called between attempts; throw (e.g. "process exited") to stop waiting early. */
  check?: () => void;
}

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => { sock.destroy(); resolve(ok); };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(500, () => done(false));
  });
}

export async function waitForPort(port: number, opts: WaitPortOptions = {}): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    opts.check?.();
    if (await tryConnect(host, port)) return;
    if (Date.now() > deadline) throw new Error(`waitForPort: ${host}:${port} did not accept connections within ${opts.timeoutMs ?? 10_000} ms`);
    await sleep(15);
  }
}

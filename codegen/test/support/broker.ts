// Test-only: a real mosquitto on a free port of 127.0.0.1, anonymous, no persistence.
// startBroker() in beforeAll, broker.stop() in afterAll (kills it by PID).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestBroker {
  port: number;
  url: string;
  pid: number;
  /** What mosquitto wrote so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startBroker(opts: { extraConfig?: string[] } = {}): Promise<TestBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'makapix-mosquitto-'));
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    await writeFile(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'set_tcp_nodelay true',
        'persistence false',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        ...(opts.extraConfig ?? []),
        '',
      ].join('\n'),
    );
    const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const deadline = Date.now() + 5000;
    let up = false;
    while (Date.now() < deadline && child.exitCode === null) {
      const raced = await Promise.race([canConnect(port), spawnError]);
      if (raced instanceof Error) throw new Error(`cannot start mosquitto (is it installed?): ${raced.message}`);
      if (raced) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!up) {
      child.kill('SIGKILL');
      await exited(child);
      if (attempt < 2) continue; // the port may have been taken in between
      await rm(dir, { recursive: true, force: true });
      throw new Error(`mosquitto did not listen on ${port}: ${output}`);
    }
    const pid = child.pid!;
    return {
      port,
      pid,
      url: `mqtt://127.0.0.1:${port}`,
      log: () => output,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          process.kill(pid, 'SIGTERM');
          const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 3000);
          await exited(child);
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error('unreachable');
}

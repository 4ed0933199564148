// Start/stop the dev Mosquitto broker: writes its config and state into `dir`, starts it on
// the given or free ports, waits until all three listeners accept connections.
// Restarting with the same dir keeps the passwords (secrets.json) and the dynsec state.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './free-port.js';
import { waitForPort } from './wait-port.js';
import { assertPortFree, cmdlineOf, describeListeners, isAlive, isRoot, listeningPids, stopPid } from './process-control.js';
import { binaries } from './system-packages.js';
import type { DevPki } from './pki.js';
import { renderDevicesAcl, renderInternalAcl, renderMosquittoConf, type BrokerFiles, type BrokerPorts } from './broker-config.js';
import {
  ensureDynsecFile, ensurePasswordFile, loadOrCreateSecrets, readDeniedPlayers, type Account,
} from './broker-state.js';

export type { BrokerPorts, BrokerFiles } from './broker-config.js';
export type { Account } from './broker-state.js';

export interface StartBrokerOptions {
  dir: string;
  pki: DevPki;
  ports?: Partial<BrokerPorts>;
  /** Bind address of all listeners (default 127.0.0.1). */
  host?: string;
  /** `crlfile` on the mTLS listener (default true). */
  useCrl?: boolean;
  timeoutMs?: number;
  /** Added to the error when a given port is taken (e.g. which variable chooses another). */
  portHint?: string;
}

export interface Broker {
  pid: number;
  dir: string;
  files: BrokerFiles;
  ports: BrokerPorts;
  urls: { internal: string; mtls: string; websocket: string };
  serverAccount: Account;
  dynsecAdmin: Account;
  caCert: string;
  /**
   * SIGHUP, resolved once the broker has logged "Reloading config." (it re-reads the password
   * file, the ACL files and the CRL; connections it accepts after that see the new state).
   */
  reload(timeoutMs?: number): Promise<void>;
  /** Rewrite the devices ACL from denied-players.json (call reload() afterwards). */
  writeDevicesAcl(): void;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 5 s). */
  stop(timeoutMs?: number): Promise<void>;
}

export function brokerFiles(dir: string): BrokerFiles {
  const d = resolve(dir);
  return {
    dir: d,
    conf: join(d, 'mosquitto.conf'),
    passwd: join(d, 'passwd'),
    aclInternal: join(d, 'acl-internal'),
    aclDevices: join(d, 'acl-devices'),
    dynsec: join(d, 'dynsec.json'),
    log: join(d, 'mosquitto.log'),
    pid: join(d, 'mosquitto.pid'),
    secrets: join(d, 'secrets.json'),
  };
}

/** A broker left running from an earlier run on the same dir (crashed test, killed make run). */
async function stopStale(files: BrokerFiles): Promise<void> {
  if (!existsSync(files.pid)) return;
  const pid = Number(readFileSync(files.pid, 'utf8').trim());
  if (pid > 0 && isAlive(pid) && cmdlineOf(pid).includes(files.conf)) await stopPid(pid);
}

function tail(file: string, lines = 20): string {
  try { return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return ''; }
}

const RELOAD_LINE = 'Reloading config.';

function countOccurrences(file: string, needle: string): number {
  try { return readFileSync(file, 'utf8').split(needle).length - 1; } catch { return 0; }
}

/** SIGHUP and wait for the reload line in the log (the reload itself is synchronous in the broker loop). */
export async function reloadBroker(pid: number, logFile: string, timeoutMs = 5_000): Promise<void> {
  const before = countOccurrences(logFile, RELOAD_LINE);
  process.kill(pid, 'SIGHUP');
  const deadline = Date.now() + timeoutMs;
  while (countOccurrences(logFile, RELOAD_LINE) <= before) {
    if (!isAlive(pid)) throw new Error(`mosquitto (pid ${pid}) died on SIGHUP; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`mosquitto (pid ${pid}) did not log "${RELOAD_LINE}" within ${timeoutMs} ms`);
    await sleep(5);
  }
}

export async function startBroker(opts: StartBrokerOptions): Promise<Broker> {
  const files = brokerFiles(opts.dir);
  const host = opts.host ?? '127.0.0.1';
  mkdirSync(files.dir, { recursive: true });
  await stopStale(files);

  const secrets = loadOrCreateSecrets(files);
  await ensurePasswordFile(files, secrets.serverAccount);
  await ensureDynsecFile(files, secrets.dynsecAdmin);
  writeFileSync(files.aclInternal, renderInternalAcl(secrets.serverAccount.username));
  const writeDevicesAcl = () => writeFileSync(files.aclDevices, renderDevicesAcl(readDeniedPlayers(files)));
  writeDevicesAcl();

  const [p1, p2, p3] = await freePorts(3, host);
  const ports: BrokerPorts = {
    internal: opts.ports?.internal ?? p1!,
    mtls: opts.ports?.mtls ?? p2!,
    websocket: opts.ports?.websocket ?? p3!,
  };
  // A port taken by anything else (a broker left over with a stale PID file, another program)
  // fails here, naming the process: otherwise the readiness wait below would succeed against it.
  for (const [name, port] of Object.entries(ports) as [keyof BrokerPorts, number][]) {
    await assertPortFree(port, `mosquitto (${name} listener)`, {
      host,
      hint: opts.portHint ?? 'start the broker on other ports',
      leftoverOf: files.conf,
    });
  }
  writeFileSync(files.conf, renderMosquittoConf({
    files, pki: opts.pki, ports, host, runAsRoot: isRoot(), useCrl: opts.useCrl ?? true,
  }));

  const stderrPath = join(files.dir, 'mosquitto.stderr');
  const errFd = openSync(stderrPath, 'w');
  // Its own process group: a Ctrl-C in the terminal reaches `make run`, which stops the server
  // first and then the broker, instead of the broker dying under a running server.
  const child = spawn(binaries.mosquitto, ['-c', files.conf], { stdio: ['ignore', 'ignore', errFd], detached: true });
  closeSync(errFd);
  child.unref();
  let exit: string | undefined;
  child.once('exit', (code, signal) => { exit = `exited (code ${code}, signal ${signal})`; });
  child.once('error', (err) => { exit = `failed to start: ${err.message}`; });
  const pid = child.pid;
  if (!pid) throw new Error(`mosquitto failed to start: ${exit ?? 'no pid'}`);
  writeFileSync(files.pid, `${pid}\n`);

  const stop = async (timeoutMs = 5_000) => { await stopPid(pid, timeoutMs); };
  try {
    const check = () => {
      if (exit) throw new Error(`mosquitto ${exit}\n${tail(stderrPath)}\n${tail(files.log)}`);
    };
    const timeoutMs = opts.timeoutMs ?? 10_000;
    for (const port of [ports.internal, ports.mtls, ports.websocket]) await waitForPort(port, { host, timeoutMs, check });
    // The ports answer; they must answer because of this process (not one that took them meanwhile).
    for (const port of [ports.internal, ports.mtls, ports.websocket]) {
      const holders = listeningPids(port);
      if (holders.length > 0 && !holders.includes(pid)) {
        throw new Error(`mosquitto (pid ${pid}) started, but port ${port} is served by ${describeListeners(port)}\n${tail(stderrPath)}`);
      }
    }
    check();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    pid,
    dir: files.dir,
    files,
    ports,
    urls: {
      internal: `mqtt://${host}:${ports.internal}`,
      mtls: `mqtts://${host}:${ports.mtls}`,
      websocket: `ws://${host}:${ports.websocket}`,
    },
    serverAccount: secrets.serverAccount,
    dynsecAdmin: secrets.dynsecAdmin,
    caCert: opts.pki.caCert,
    reload: (timeoutMs = 5_000) => reloadBroker(pid, files.log, timeoutMs),
    writeDevicesAcl,
    stop,
  };
}

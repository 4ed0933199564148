// Everything the server and the tests need, started together:
//   <dataDir>/pki       dev CA, broker certificate, CRL       (pki.ts, crl.ts)
//   <dataDir>/mosquitto broker config, passwords, dynsec state (broker.ts)
//   <dataDir>/postgres  PostgreSQL cluster                   (postgres.ts; skipped if DATABASE_URL)
// Restarting with the same dataDir keeps certificates, passwords, dynsec state and data.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDevPki, type DevPki } from './pki.js';
import { startBroker, type Account, type Broker, type BrokerPorts } from './broker.js';
import { useOrStartPostgres, type DatabaseChoice } from './postgres.js';
import { ensureSystemPackages } from './system-packages.js';

export interface StartServicesOptions {
  dataDir: string;
  ports?: Partial<BrokerPorts> & { postgres?: number };
  /** Postgres without fsync (fast, not crash-safe). */
  forTests?: boolean;
  /** Environment consulted for DATABASE_URL (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Extra names of the broker certificate (MQTT_PUBLIC_HOST), besides localhost and 127.0.0.1. */
  publicHosts?: readonly string[];
  /** Told what was changed outside the postgres dir to let the postgres user reach it (default console.warn). */
  notice?: (msg: string) => void;
}

export interface Services {
  dataDir: string;
  pki: DevPki;
  broker: Broker;
  database: DatabaseChoice;
  urls: { mqttInternal: string; mqttMtls: string; mqttWebsocket: string; database: string };
  caCert: string;
  caKey: string;
  serverAccount: Account;
  dynsecAdmin: Account;
  /** Stops what was started (broker and, unless DATABASE_URL was used, postgres). */
  stop(): Promise<void>;
}

export async function startServices(opts: StartServicesOptions): Promise<Services> {
  ensureSystemPackages();
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  // A 0700 dataDir (mkdtemp) or home is fine: startPostgres lets the postgres user through with an ACL.

  const [pki, database] = await Promise.all([
    ensureDevPki(join(dataDir, 'pki'), { publicHosts: opts.publicHosts }),
    useOrStartPostgres({ dir: join(dataDir, 'postgres'), port: opts.ports?.postgres, forTests: opts.forTests, notice: opts.notice }, opts.env),
  ]);
  let broker: Broker;
  try {
    broker = await startBroker({ dir: join(dataDir, 'mosquitto'), pki, ports: opts.ports });
  } catch (err) {
    await database.stop();
    throw err;
  }
  return {
    dataDir,
    pki,
    broker,
    database,
    urls: {
      mqttInternal: broker.urls.internal,
      mqttMtls: broker.urls.mtls,
      mqttWebsocket: broker.urls.websocket,
      database: database.url,
    },
    caCert: pki.caCert,
    caKey: pki.caKey,
    serverAccount: broker.serverAccount,
    dynsecAdmin: broker.dynsecAdmin,
    stop: async () => { await Promise.all([broker.stop(), database.stop()]); },
  };
}

/** `tsx server/devenv/services.ts [dataDir]`: start everything, print the connection facts, stop on Ctrl-C. */
async function main(): Promise<void> {
  const services = await startServices({ dataDir: process.argv[2] ?? '.data' });
  const { broker, urls, caCert, serverAccount, dynsecAdmin, database } = services;
  console.log(JSON.stringify({ urls, caCert, serverAccount, dynsecAdmin, brokerPid: broker.pid, postgresPid: database.postgres?.pid ?? null }, null, 2));
  const stop = async () => { await services.stop(); process.exit(0); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  setInterval(() => {}, 1 << 30); // keep running
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => { console.error(err instanceof Error ? err.message : err); process.exit(1); });
}

// `make run` (dev tooling; the server itself is server/src/main.ts): the whole system on one
// machine. Starts what is not provided from outside — the dev CA, Mosquitto (1883 internal, 8883
// mTLS, 9001 WebSocket) and a PostgreSQL cluster under .data/ — applies the migrations, starts the
// server on :8000 (its Prometheus metrics on 127.0.0.1:9464/metrics) and prints a walkthrough.
// Ctrl-C stops every child. On a terminal the logs are one pretty line each (LOG_FORMAT=auto), JSON
// otherwise; the walkthrough is printed once the server is up, the logs that follow go below it.
// Overrides: DATA_DIR, HTTP_PORT, MQTT_PORT, MQTTS_PORT, MQTT_WS_PORT, PG_PORT, DATABASE_URL (use your own
// PostgreSQL), MQTT_INTERNAL_URL + MQTT_INTERNAL_USERNAME/PASSWORD (use your own broker; then also set
// MQTT_MTLS_URL, MQTT_WEBSOCKET_URL and CA_DIR as your broker is set up).
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadBrokerPublicHost, loadConfig, loadLogSettings, type LogSettings } from '../src/config.js';
import { createLogger } from '../src/logging/index.js';
import { startServer } from '../src/main.js';
import { startBroker, type Broker } from './broker.js';
import { ensureDevPki } from './pki.js';
import { writeSampleArt } from './sample-art.js';
import { useOrStartPostgres } from './postgres.js';

function port(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
    console.error(`${name} must be a port number 1..65535 (got ${JSON.stringify(v)})`);
    process.exit(2);
  }
  return Number(v);
}

async function main(): Promise<void> {
  const dataDir = resolve(process.env.DATA_DIR ?? '.data');
  mkdirSync(dataDir, { recursive: true });
  chmodSync(dataDir, statSync(dataDir).mode | 0o711); // the postgres user must traverse it
  let logSettings: LogSettings;
  try {
    logSettings = loadLogSettings(); // the server's settings, read where every server setting is (config.ts)
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(2);
  }
  const log = createLogger(logSettings);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch((err) => log.warn({ err }, 'stop failed'));
  };
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping server, broker and database');
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    const externalBroker = !!process.env.MQTT_INTERNAL_URL;
    // devices verify the broker's name against MQTT_PUBLIC_HOST: the broker certificate must carry it
    const pki = await ensureDevPki(join(dataDir, 'pki'), { publicHosts: [loadBrokerPublicHost()] });
    const database = await useOrStartPostgres({ dir: join(dataDir, 'postgres'), port: port('PG_PORT', 55432) });
    stops.push(() => database.stop());
    let broker: Broker | null = null;
    if (!externalBroker) {
      broker = await startBroker({
        dir: join(dataDir, 'mosquitto'),
        pki,
        ports: { internal: port('MQTT_PORT', 1883), mtls: port('MQTTS_PORT', 8883), websocket: port('MQTT_WS_PORT', 9001) },
      });
      stops.push(() => broker!.stop());
    }
    const env: Record<string, string | undefined> = {
      ...process.env,
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      CA_DIR: process.env.CA_DIR ?? join(dataDir, 'pki'),
      HTTP_PORT: String(port('HTTP_PORT', 8000)),
      ...(broker
        ? {
            MQTT_INTERNAL_URL: broker.urls.internal,
            MQTT_INTERNAL_USERNAME: broker.serverAccount.username,
            MQTT_INTERNAL_PASSWORD: broker.serverAccount.password,
            MQTT_MTLS_URL: broker.urls.mtls,
            MQTT_WEBSOCKET_URL: broker.urls.websocket,
            MQTT_DYNSEC_ADMIN_USERNAME: broker.dynsecAdmin.username,
            MQTT_DYNSEC_ADMIN_PASSWORD: broker.dynsecAdmin.password,
            BROKER_CRL_FILE: pki.crl,
            BROKER_PID_FILE: broker.files.pid,
          }
        : {}),
    };
    const server = await startServer(loadConfig(env), { log });
    stops.push(() => server.stop());
    const art = await writeSampleArt(join(dataDir, 'walkthrough', 'heart.png'));
    printWalkthrough({
      art,
      vault: server.ctx.vault.publicBase().replace('127.0.0.1', 'localhost'),
      api: server.url.replace('127.0.0.1', 'localhost'),
      metrics: server.metricsUrl,
      dataDir,
      database: database.url,
      broker: broker ? broker.urls : null,
      ports: broker?.ports ?? null,
      ca: join(dataDir, 'pki', 'ca.crt'),
    });
  } catch (err) {
    log.error(err instanceof Error ? err.message : String(err));
    await stopAll();
    process.exit(1);
  }
}

function printWalkthrough(o: { art: string; vault: string; api: string; metrics: string | null; dataDir: string; database: string; broker: { internal: string; mtls: string; websocket: string } | null; ports: { internal: number; mtls: number; websocket: number } | null; ca: string }): void {
  const p = o.ports ?? { internal: 1883, mtls: 8883, websocket: 9001 };
  const lines = [
    '',
    'Makapix is running. Ctrl-C stops everything; data stays in ' + o.dataDir + ' (make clean removes it).',
    `  REST API        ${o.api}`,
    `  metrics         ${o.metrics ?? 'off (METRICS_PORT=0)'}${o.metrics ? ' (Prometheus; Grafana dashboard: server/ops/grafana-dashboard.json)' : ''}`,
    `  database        ${o.database}`,
    ...(o.broker
      ? [`  MQTT internal   ${o.broker.internal} (server account, see ${o.dataDir}/mosquitto/secrets.json)`,
         `  MQTT mTLS       ${o.broker.mtls} (players; CA ${o.ca})`,
         `  MQTT WebSocket  ${o.broker.websocket} (browsers; credentials from GET /mqtt/bootstrap)`]
      : ['  MQTT            your broker (MQTT_INTERNAL_URL)']),
    '',
    'Try it (in another terminal; the README has the same steps):',
    `  API=${o.api}`,
    `  TOKEN=$(curl -s -X POST $API/auth/register -H 'content-type: application/json' \\`,
    `    -d '{"handle":"alice","email":"alice@example.com","password":"correct horse battery"}' | sed -n 's/.*"token":"\\([^"]*\\)".*/\\1/p')`,
    `  curl -s -X POST $API/player/provision -H 'content-type: application/json' -d '{}' > provision.json; cat provision.json`,
    `  KEY=$(sed -n 's/.*"player_key":"\\([^"]*\\)".*/\\1/p' provision.json); CODE=$(sed -n 's/.*"registration_code":"\\([^"]*\\)".*/\\1/p' provision.json)`,
    `  curl -s -X POST $API/player/register -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "{\\"registration_code\\":\\"$CODE\\",\\"name\\":\\"Desk\\"}"`,
    `  curl -s $API/player/$KEY/credentials > creds.json`,
    `  for f in ca cert key; do sed -n "s/.*\\"\${f}_pem\\":\\"\\([^\\"]*\\)\\".*/\\1/p" creds.json | sed 's/\\\\n/\\n/g' > $f.pem; done`,
    `  mosquitto_rr -h localhost -p ${p.mtls} --cafile ca.pem --cert cert.pem --key key.pem -V mqttv5 -q 1 \\`,
    `    -t "makapix/player/$KEY/request/req-1" -e "makapix/player/$KEY/response/req-1" \\`,
    `    -m "{\\"request_id\\":\\"req-1\\",\\"request_type\\":\\"query_posts\\",\\"player_key\\":\\"$KEY\\",\\"limit\\":5}"`,
    `  # upload a pixel-art file (a 16x16 heart written to ${o.art}); width, height, frames, transparency come from the file`,
    `  curl -s -X POST $API/post -H "authorization: Bearer $TOKEN" -F title=Heart -F hashtags=pixelart -F image=@${o.art} > upload.json; cat upload.json`,
    `  SK=$(sed -n 's/.*"storage_key":"\\([^"]*\\)".*/\\1/p' upload.json)`,
    `  # the device's download: path from the storage_key alone (levels = SHA-256 bytes 0 and 1 AND 0x3f), vault base ${o.vault}`,
    `  D=$(printf %s "$SK" | sha256sum | cut -c1-4); SHARD=$(printf '%02x/%02x' $((0x\${D:0:2} & 0x3f)) $((0x\${D:2:2} & 0x3f)))`,
    `  curl -s -o heart-from-vault.png -w '%{http_code} %{content_type} %{size_download} bytes\\n' ${o.vault}/$SHARD/$SK.png`,
    `  cmp ${o.art} heart-from-vault.png && echo 'same bytes'`,
    '  (posts, commands and status: see "Try it by hand" in README.md)',
    '',
  ];
  console.log(lines.join('\n'));
}

void main();

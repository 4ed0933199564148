// `make run` (dev tooling; the server itself is server/src/main.ts): the whole system on one
// machine (dev-system.ts: dev CA, PostgreSQL and Mosquitto under .data/, supervised; the server on
// :8000), then a walkthrough. Ctrl-C (SIGINT) or SIGTERM stops everything it started and returns to
// the shell within 10 s: the server first, then the broker and the database; a second Ctrl-C, or a
// stop that overruns, kills them at once. A start that fails (a port in use, a leftover broker)
// exits 1 with the reason and stops what it had started; a bad setting exits 2.
// Settings: see dev-system.ts (DATA_DIR, HTTP_PORT, MQTT_PORT, MQTTS_PORT, MQTT_WS_PORT, PG_PORT,
// DATABASE_URL, MQTT_INTERNAL_URL, ...).
import { ConfigError, loadLogSettings, type LogSettings } from '../src/config.js';
import { createLogger } from '../src/logging/index.js';
import { DevSettingError, DevSystem, DevSystemStopped, type DevSystemInfo } from './dev-system.js';

/** Everything is stopped by then, or killed. */
const STOP_DEADLINE_MS = 9_000;
/**
 * One Ctrl-C can arrive more than once: the terminal signals the whole foreground group (make,
 * npx, tsx and this process) and a wrapper may relay it again (seen: twice, 30 ms apart, under
 * make). Repeats within this window are the same Ctrl-C; a later one means "now".
 */
const SAME_SIGNAL_MS = 1_000;

async function main(): Promise<void> {
  let logSettings: LogSettings;
  try {
    logSettings = loadLogSettings(); // the server's settings, read where every server setting is (config.ts)
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(2);
  }
  // one pretty line per entry on a terminal (LOG_FORMAT=auto), JSON otherwise
  const log = createLogger(logSettings);
  const system = new DevSystem(process.env, log);
  const starting = system.start();

  let firstSignalAt: number | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt !== null) {
      if (Date.now() - firstSignalAt < SAME_SIGNAL_MS) return;
      log.warn({ signal }, 'stopping now: killing the broker and the database');
      system.kill();
      process.exit(130);
    }
    firstSignalAt = Date.now();
    log.info({ signal }, 'stopping the server, the broker and the database');
    const deadline = setTimeout(() => {
      log.error({ deadlineMs: STOP_DEADLINE_MS }, 'stopping takes too long: killing the broker and the database');
      system.kill();
      process.exit(1);
    }, STOP_DEADLINE_MS);
    void Promise.all([system.stop(), starting.catch(() => undefined)]).then(() => {
      clearTimeout(deadline);
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let info;
  try {
    info = await starting;
  } catch (err) {
    if (err instanceof DevSystemStopped) return; // the signal handler exits
    if (err instanceof DevSettingError) {
      console.error(err.message);
      await system.stop();
      process.exit(2);
    }
    console.error(`\nMakapix did not start: ${err instanceof Error ? err.message : String(err)}\n`);
    await system.stop();
    process.exit(1);
  }
  if (system.isStopping) return;
  printWalkthrough(info);
}

function printWalkthrough(info: DevSystemInfo): void {
  const o = { ...info, broker: info.broker?.urls ?? null };
  const p = info.broker?.ports ?? { internal: 1883, mtls: 8883, websocket: 9001 };
  const lines = [
    '',
    'Makapix is running. Ctrl-C stops everything; data stays in ' + o.dataDir + ' (make clean removes it).',
    `  REST API        ${o.api}`,
    `  API docs        ${o.api}/docs (built by make docs; the documents at /openapi.json and /asyncapi.json)`,
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

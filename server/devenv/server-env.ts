// The environment that points a server (server/src/config.ts) at services started by startServices:
// database, the three broker listeners, the server and dynamic-security accounts, the CA, the CRL
// file and the broker's PID file. Tests and benchmarks add their own settings on top. METRICS_PORT is 0
// (no metrics listener): several servers started next to one another would otherwise all want 9464;
// startStack gives each of its servers a free port instead.
import { dirname } from 'node:path';
import type { Services } from './services.js';

export function serverEnv(services: Services): Record<string, string> {
  return {
    DATA_DIR: services.dataDir,
    DATABASE_URL: services.urls.database,
    MQTT_INTERNAL_URL: services.urls.mqttInternal,
    MQTT_INTERNAL_USERNAME: services.serverAccount.username,
    MQTT_INTERNAL_PASSWORD: services.serverAccount.password,
    MQTT_MTLS_URL: services.urls.mqttMtls,
    MQTT_WEBSOCKET_URL: services.urls.mqttWebsocket,
    MQTT_DYNSEC_ADMIN_USERNAME: services.dynsecAdmin.username,
    MQTT_DYNSEC_ADMIN_PASSWORD: services.dynsecAdmin.password,
    CA_DIR: dirname(services.caCert),
    BROKER_CRL_FILE: services.pki.crl,
    BROKER_PID_FILE: services.broker.files.pid,
    METRICS_PORT: '0',
  };
}

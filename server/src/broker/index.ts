// The composition of the broker-admin interface: the implementation BROKER_ADMIN names
// (config.ts, BROKER_ADMINS). The only module outside broker/mosquitto/ that names one; main.ts
// builds the server's from here (a test may pass its own factory to startServer instead).
import type { BrokerAdminKind } from '../config.js';
import type { BrokerAdmin, BrokerAdminDeps } from './broker-admin.js';
import { MosquittoBrokerAdmin } from './mosquitto/admin.js';

export * from './broker-admin.js';

const IMPLEMENTATIONS: Record<BrokerAdminKind, (deps: BrokerAdminDeps) => BrokerAdmin> = {
  mosquitto: (deps) => new MosquittoBrokerAdmin(deps),
};

/** The broker admin config.broker.admin names (the config has refused other values already). */
export function createBrokerAdmin(deps: BrokerAdminDeps): BrokerAdmin {
  const kind = deps.config.broker.admin;
  const make = IMPLEMENTATIONS[kind];
  if (make === undefined) throw new Error(`BROKER_ADMIN ${JSON.stringify(kind)} has no implementation (accepted: ${Object.keys(IMPLEMENTATIONS).join(', ')})`);
  return make(deps);
}

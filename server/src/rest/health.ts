// Liveness (the process answers) and readiness (the database answers, the broker connection is up
// and the broker enforces every revocation this instance recorded: see broker/broker-admin.ts).
import type { Handlers } from '@makapix/contract/openapi/routes';
import type { AppContext } from '../context.js';
import { databaseAnswers } from '../db/players.js';

type Ops = 'getHealth' | 'getReadiness';

/** A database that does not answer within this time counts as down. */
const DATABASE_PROBE_TIMEOUT_MS = 2_000;

export function healthHandlers(ctx: AppContext): Pick<Handlers, Ops> {
  async function databaseUp(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), DATABASE_PROBE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([databaseAnswers(ctx.sql).catch(() => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async getHealth() {
      return { status: 200, body: { status: 'ok' as const } };
    },

    async getReadiness() {
      const database = await databaseUp();
      const connected = ctx.mqtt.connected;
      const revocations = ctx.brokerAdmin.revocationStatus();
      // A deleted player's certificate the broker may still accept makes the instance unready.
      const broker = connected;
      const inForce = revocations.inForce;
      const ready = database && broker && inForce;
      if (!ready) {
        ctx.log.warn({ database, broker: connected, revocationsPending: revocations.pending, pendingSince: revocations.since, revocationProblem: revocations.problem }, 'not ready');
      }
      return ready
        ? { status: 200, body: { status: 'ok' as const, database, broker, revocations: inForce } }
        : { status: 503, body: { status: 'unavailable' as const, database, broker, revocations: inForce } };
    },
  };
}

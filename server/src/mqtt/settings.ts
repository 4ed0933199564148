// Tuning of the MQTT workers, read from the environment when the workers start (the main
// configuration in config.ts covers what the REST side shares). Every variable has a default;
// a bad value fails startup with an error that names it.
//
// PRESENCE_SWEEP_SECONDS (30): how often an instance marks silent players offline.
// PRESENCE_TIMEOUT_SECONDS (180): silence after which an online player is marked offline.
// STATUS_BATCH_MS (20): status messages arriving within this window are written with one statement.
// OUTBOX_POLL_SECONDS (5): the slow poll of the notification publisher (it is also woken on insert).
// HOUSEKEEPING_SECONDS (600): how often old idempotency records, rate-limit counters and
//   published outbox rows and finished follower fan-out jobs are purged.

export interface MqttSettings {
  presenceSweepSeconds: number;
  presenceTimeoutSeconds: number;
  statusBatchMs: number;
  outboxPollSeconds: number;
  housekeepingSeconds: number;
}

export class MqttSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid MQTT worker settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'MqttSettingsError';
  }
}

export function loadMqttSettings(env: Record<string, string | undefined> = process.env): MqttSettings {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return Number(raw);
  };
  const settings: MqttSettings = {
    presenceSweepSeconds: int('PRESENCE_SWEEP_SECONDS', 30, 1, 3600),
    presenceTimeoutSeconds: int('PRESENCE_TIMEOUT_SECONDS', 180, 1, 86_400),
    statusBatchMs: int('STATUS_BATCH_MS', 20, 0, 5000),
    outboxPollSeconds: int('OUTBOX_POLL_SECONDS', 5, 1, 3600),
    housekeepingSeconds: int('HOUSEKEEPING_SECONDS', 600, 10, 86_400),
  };
  if (problems.length > 0) throw new MqttSettingsError(problems);
  return settings;
}

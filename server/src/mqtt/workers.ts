// PLACEHOLDER (being written): the MQTT workers (requests, status, notifications, presence).
import type { AppContext } from '../context.js';

export interface Workers {
  wakePublisher(): void;
  stop(): Promise<void>;
}

export async function startWorkers(_ctx: AppContext): Promise<Workers> {
  return { wakePublisher: () => {}, stop: async () => {} };
}

// PLACEHOLDER (being written): what the server asks of the broker beyond publish/subscribe:
// web users (dynamic security), certificate revocation (CRL + reload) and ending live sessions.
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';

export class BrokerAdmin {
  constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly client: MqttClient,
  ) {}

  async start(_ctx: AppContext): Promise<void> {}

  async close(): Promise<void> {}
}

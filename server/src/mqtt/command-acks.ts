// Acknowledgements of commands (since 1.1) from $share/<group>/makapix/player/+/command/ack,
// recorded on the command they name when it was sent to that player (anything else changes nothing).
import type { InboundError } from '#runtime/v1';
import { subscribePlayerCommandAck } from '@makapix/contract/asyncapi/operations';
import type { AppContext } from '../context.js';
import { recordCommandAck } from '../db/player-device.js';

export interface CommandAckWorker {
  stop(): Promise<void>;
}

export async function startCommandAckWorker(ctx: AppContext): Promise<CommandAckWorker> {
  const count = (outcome: string) => ctx.metrics.playerReport('command_ack', outcome);
  const unsubscribe = await subscribePlayerCommandAck(
    ctx.router,
    async ({ params, payload }) => {
      try {
        const recorded = await recordCommandAck(ctx.sql, params.player_key.toLowerCase(), { commandId: payload.command_id, status: payload.status, error: payload.error ?? null }, ctx.now());
        count(recorded ? 'recorded' : 'unknown_command');
      } catch (err) {
        count('write_failed');
        ctx.log.error({ err, command_id: payload.command_id }, 'could not record a command acknowledgement');
      }
    },
    {
      share: ctx.config.broker.shareGroup,
      onError: (e: InboundError) => {
        count(`dropped_${e.reason}`);
        ctx.log.warn({ topic: e.topic, reason: e.reason, detail: e.message }, 'command acknowledgement dropped');
      },
    },
  );
  return {
    async stop() {
      await unsubscribe().catch((err: unknown) => ctx.log.warn({ err }, 'unsubscribing the command/ack topic failed'));
    },
  };
}

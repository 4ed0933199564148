// What players report about themselves on their retained topics (since 1.1): capabilities and
// state, from $share/<group>/makapix/player/+/capabilities and .../state, stored per registered
// player (only what protocol 1.1 defines: unknown fields are ignored, never stored). A shared
// subscription gets no retained messages when it subscribes: players publish both on every
// connect, and what was stored before stays.
import type { InboundError } from '#runtime/v1';
import { subscribePlayerCapabilities, subscribePlayerState } from '@makapix/contract/asyncapi/operations';
import type { PlayerCapabilities, PlayerState } from '@makapix/contract/asyncapi/schemas';
import type { AppContext } from '../context.js';
import { storeCapabilities, storeState, type StoredCapabilities, type StoredState } from '../db/player-device.js';

export interface PlayerReportsWorker {
  stop(): Promise<void>;
}

/** The capabilities as stored: the fields and features protocol 1.1 defines. */
export function capabilitiesToStore(c: PlayerCapabilities): StoredCapabilities {
  const f = c.features;
  const features: StoredCapabilities['features'] = {};
  if (f.pause !== undefined) features.pause = {};
  if (f.brightness !== undefined) {
    features.brightness = { min: f.brightness.min, max: f.brightness.max, ...(f.brightness.step !== undefined ? { step: f.brightness.step } : {}) };
  }
  if (f.rotation !== undefined) features.rotation = { values: [...f.rotation.values] };
  return { ...(c.firmware_version !== undefined ? { firmware_version: c.firmware_version } : {}), features };
}

/** The state fields as stored. */
export function stateToStore(s: PlayerState): StoredState {
  const out: StoredState = {};
  if (s.is_paused !== undefined) out.is_paused = s.is_paused;
  if (s.brightness !== undefined) out.brightness = s.brightness;
  if (s.rotation !== undefined) out.rotation = s.rotation;
  return out;
}

export async function startPlayerReportsWorker(ctx: AppContext): Promise<PlayerReportsWorker> {
  const count = (what: 'capabilities' | 'state', outcome: string) => ctx.metrics.playerReport(what, outcome);
  const onError = (what: 'capabilities' | 'state') => (e: InboundError) => {
    count(what, `dropped_${e.reason}`);
    ctx.log.warn({ topic: e.topic, reason: e.reason, detail: e.message }, `player ${what} dropped`);
  };
  const guarded = (what: 'capabilities' | 'state', write: () => Promise<boolean>) => write().then(
    (stored) => count(what, stored ? 'stored' : 'ignored'),
    (err: unknown) => {
      count(what, 'write_failed');
      ctx.log.error({ err }, `could not store a player's ${what}`);
    },
  );
  const share = ctx.config.broker.shareGroup;
  const stopCapabilities = await subscribePlayerCapabilities(
    ctx.router,
    ({ params, payload }) => guarded('capabilities', () => storeCapabilities(ctx.sql, params.player_key.toLowerCase(), capabilitiesToStore(payload), ctx.now())),
    { share, onError: onError('capabilities') },
  );
  const stopState = await subscribePlayerState(
    ctx.router,
    ({ params, payload }) => guarded('state', () => storeState(ctx.sql, params.player_key.toLowerCase(), stateToStore(payload), ctx.now())),
    { share, onError: onError('state') },
  ).catch(async (err: unknown) => {
    await stopCapabilities();
    throw err;
  });
  return {
    async stop() {
      for (const stop of [stopState, stopCapabilities]) await stop().catch((err: unknown) => ctx.log.warn({ err }, 'unsubscribing a player report topic failed'));
    },
  };
}

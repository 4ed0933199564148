// Commands an owner (or a moderator) sends to players over REST: validated, rate limited, logged
// (who, what, when), then published on each player's command topic. Each command type takes its
// own body fields and no others; set_paused, set_brightness and set_rotation only within the
// capabilities each target player advertised on its MQTT capabilities topic (protocol 1.1).
// Since REST 1.2 the Makapix app's device controls (/pause, /brightness, /rotation) send the
// matching set_* command the same way; /mirror has no command in the protocol and is always a 400.
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { PlayerCommandMessage } from '@makapix/contract/asyncapi/channels';
import { publishPlayerCommand } from '@makapix/contract/asyncapi/operations';
import { restError, type Handlers } from '@makapix/contract/openapi/routes';
import type { PlayerCommandRequest } from '@makapix/contract/openapi/schemas';
import { BrightnessBounds, RotationValues, type CommandType } from '@makapix/contract/components/identifiers';
import type { AppContext } from '../context.js';
import { findPlayerCommand, findShowablePost, logCommands } from '../db/commands.js';
import { findCapabilities, type StoredCapabilities } from '../db/player-device.js';
import { storageShard } from '../vault/shard.js';
import { isNativeFormat } from '../vault/formats.js';
import { rateLimitKeys } from '../db/rate-limit.js';
import { findPlayerOfOwner, listPlayerTargets, type OwnerRow } from '../db/players.js';
import { ownerIsModerator, resolveOwner } from './owner.js';

type Ops = 'sendPlayerCommand' | 'sendCommandToAllPlayers' | 'getPlayerCommand' | DeviceControlOp | 'setPlayerMirror';
type DeviceControlOp = 'setPlayerPaused' | 'setPlayerBrightness' | 'setPlayerRotation';
type OneOp = 'sendPlayerCommand' | DeviceControlOp;
type Op = OneOp | 'sendCommandToAllPlayers';

interface Target {
  id: string;
  player_key: string;
}

type Payload = PlayerCommandMessage['payload'];

type BodyField = Exclude<keyof PlayerCommandRequest, 'command_type'>;

/** The body fields each command type takes (any other is a 400). */
const FIELDS: Record<CommandType, readonly BodyField[]> = {
  show_artwork: ['post_id'],
  swap_next: [],
  swap_back: [],
  play_channel: ['channel_name', 'user_sqid', 'hashtag'],
  set_paused: ['paused'],
  set_brightness: ['value'],
  set_rotation: ['value'],
};

/** Whether a player with these capabilities accepts the command (only set_* depend on them); else why not. */
export function refusalByCapabilities(payload: Payload, type: CommandType, caps: StoredCapabilities | undefined): string | null {
  const features = caps?.features;
  if (type === 'set_paused') return features?.pause ? null : 'the player did not advertise the pause feature';
  if (type === 'set_brightness') {
    const b = features?.brightness;
    if (!b) return 'the player did not advertise the brightness feature';
    const value = (payload as { value: number }).value;
    const step = b.step ?? 1;
    if (value < b.min || value > b.max) return `value: the player accepts brightness ${b.min}..${b.max}`;
    if ((value - b.min) % step !== 0) return `value: the player accepts brightness in steps of ${step} from ${b.min}`;
    return null;
  }
  if (type === 'set_rotation') {
    const r = features?.rotation;
    if (!r) return 'the player did not advertise the rotation feature';
    const value = (payload as { value: number }).value;
    return (r.values as readonly number[]).includes(value) ? null : `value: the player accepts rotation ${r.values.join(', ')}`;
  }
  return null;
}

export function commandHandlers(ctx: AppContext): Pick<Handlers, Ops> {
  const { config } = ctx;

  /**
   * The command's payload (400 for a body field the type does not take or a missing one): the post
   * to show for show_artwork (404 unknown or invisible), the channel, the setting, or `{}`.
   */
  async function payloadFor(op: Op, body: PlayerCommandRequest, owner: OwnerRow): Promise<Payload> {
    const type = body.command_type;
    const allowed = FIELDS[type];
    for (const field of Object.keys(body) as (keyof PlayerCommandRequest)[]) {
      if (field !== 'command_type' && body[field] !== undefined && !allowed.includes(field)) {
        throw restError(op, 400, 'invalid_request', `${field}: is not allowed with ${type}`);
      }
    }
    const required = (field: BodyField) => {
      if (body[field] === undefined) throw restError(op, 400, 'invalid_request', `${field}: is required with ${type}`);
    };
    switch (type) {
      case 'show_artwork': {
        required('post_id');
        const post = await findShowablePost(ctx.sql, body.post_id!, { ownerId: owner.id, ownerIsModerator: ownerIsModerator(owner) });
        if (!post) throw restError(op, 404, 'not_found', `no visible post has the id ${body.post_id}`);
        return {
          post_id: post.post_id, storage_key: post.storage_key, art_url: post.art_url, canvas: post.canvas,
          storage_shard: storageShard(post.storage_key),
          native_format: post.native_format !== null && isNativeFormat(post.native_format) ? post.native_format : null,
        };
      }
      case 'play_channel': {
        required('channel_name');
        const channel = body.channel_name!;
        const needsUser = channel === 'by_user' || channel === 'reactions';
        if (needsUser) required('user_sqid');
        else if (body.user_sqid !== undefined) throw restError(op, 400, 'invalid_request', `user_sqid: is not allowed with channel ${channel}`);
        if (channel === 'hashtag') required('hashtag');
        else if (body.hashtag !== undefined) throw restError(op, 400, 'invalid_request', `hashtag: is not allowed with channel ${channel}`);
        return {
          channel_name: channel,
          ...(needsUser ? { user_sqid: body.user_sqid! } : {}),
          ...(channel === 'hashtag' ? { hashtag: body.hashtag!.replace(/^#/, '').toLowerCase() } : {}),
        };
      }
      case 'set_paused':
        required('paused');
        return { paused: body.paused! };
      case 'set_brightness':
        required('value');
        if (body.value! < BrightnessBounds.minimum || body.value! > BrightnessBounds.maximum) {
          throw restError(op, 400, 'invalid_request', `value: brightness must be ${BrightnessBounds.minimum}..${BrightnessBounds.maximum}`);
        }
        return { value: body.value! };
      case 'set_rotation': {
        required('value');
        const value = RotationValues.find((v) => v === body.value);
        if (value === undefined) throw restError(op, 400, 'invalid_request', `value: rotation must be one of ${RotationValues.join(', ')}`);
        return { value };
      }
      case 'swap_next':
      case 'swap_back':
        return {};
    }
  }

  /** set_* only within what every target advertised (400 naming the first that did not). */
  async function checkCapabilities(op: Op, type: CommandType, payload: Payload, targets: readonly Target[]): Promise<void> {
    if (type !== 'set_paused' && type !== 'set_brightness' && type !== 'set_rotation') return;
    const caps = await findCapabilities(ctx.sql, targets.map((t) => t.id));
    for (const t of targets) {
      const why = refusalByCapabilities(payload, type, caps.get(t.id));
      if (why !== null) throw restError(op, 400, 'invalid_request', `${type} refused for player ${t.id}: ${why}`);
    }
  }

  /** One hit on every player's limit and on the owner's; all or nothing (429 with Retry-After). */
  async function checkRateLimits(op: Op, owner: OwnerRow, targets: readonly Target[]): Promise<void> {
    const limit = await ctx.rateLimiter.hit([
      ...targets.map((t) => ({ key: rateLimitKeys.player(t.player_key), limit: config.rateLimits.perPlayerPerMinute })),
      { key: rateLimitKeys.user(owner.user_id), limit: config.rateLimits.perUserPerMinute },
    ]);
    if (!limit.allowed) {
      throw restError(
        op,
        429,
        'rate_limit_exceeded',
        `Rate limit exceeded; retry in ${limit.retryAfterSeconds} seconds (at most ${config.rateLimits.perPlayerPerMinute} commands per minute per player and ${config.rateLimits.perUserPerMinute} per user)`,
        { 'Retry-After': String(limit.retryAfterSeconds) },
      );
    }
  }

  /** Logs then publishes one command per target that still exists; returns their ids in target order. */
  async function send(op: Op, callerId: number, body: PlayerCommandRequest, payload: Payload, targets: readonly Target[]): Promise<string[]> {
    // mqtt.js would queue the publish until the broker is back and deliver a stale command later
    if (!ctx.mqtt.connected) throw restError(op, 500, 'internal_error', 'The MQTT broker is unreachable; no command was sent');
    const timestamp = ctx.now().toISOString();
    const commands = targets.map((t) => ({
      target: t,
      message: { command_id: randomUUID(), command_type: body.command_type, payload, timestamp } as PlayerCommandMessage,
    }));
    const logged = await logCommands(
      ctx.sql,
      commands.map(({ target, message }) => ({
        commandId: message.command_id,
        playerId: target.id,
        playerKey: target.player_key,
        issuedBy: callerId,
        commandType: message.command_type,
        payload: message.payload as Record<string, unknown>,
      })),
    );
    // a player deleted meanwhile (a concurrent deletePlayer) gets nothing
    const sent = commands.filter((c) => logged.has(c.message.command_id));
    await Promise.all(sent.map(({ target, message }) => publishPlayerCommand(ctx.mqtt, { player_key: target.player_key }, message)));
    return sent.map((c) => c.message.command_id);
  }

  /** One command to one player of the owner the path names: sendPlayerCommand and the device controls. */
  async function sendOne(op: OneOp, req: FastifyRequest, params: { sqid: string; player_id: string }, body: PlayerCommandRequest) {
    const { owner, caller } = await resolveOwner(ctx, op, req, params.sqid);
    const player = await findPlayerOfOwner(ctx.sql, owner.id, params.player_id);
    if (!player) throw restError(op, 404, 'not_found', 'no such player');
    const payload = await payloadFor(op, body, owner);
    const target = { id: player.id, player_key: player.player_key };
    await checkCapabilities(op, body.command_type, payload, [target]);
    await checkRateLimits(op, owner, [target]);
    const [commandId] = await send(op, caller.id, body, payload, [target]);
    if (commandId === undefined) throw restError(op, 404, 'not_found', 'no such player');
    return { status: 200 as const, body: { command_id: commandId, status: 'sent' as const } };
  }

  return {
    async sendPlayerCommand(req) {
      return sendOne('sendPlayerCommand', req, req.params, req.body);
    },

    async setPlayerPaused(req) {
      return sendOne('setPlayerPaused', req, req.params, { command_type: 'set_paused', paused: req.body.paused });
    },

    async setPlayerBrightness(req) {
      return sendOne('setPlayerBrightness', req, req.params, { command_type: 'set_brightness', value: req.body.value });
    },

    async setPlayerRotation(req) {
      return sendOne('setPlayerRotation', req, req.params, { command_type: 'set_rotation', value: req.body.value });
    },

    async setPlayerMirror(req) {
      // the owner and the player are checked first, so that the answer is the same as its siblings' for those
      const op = 'setPlayerMirror';
      const { owner } = await resolveOwner(ctx, op, req, req.params.sqid);
      if (!(await findPlayerOfOwner(ctx.sql, owner.id, req.params.player_id))) throw restError(op, 404, 'not_found', 'no such player');
      throw restError(op, 400, 'invalid_request', 'value: the protocol has no mirror command; no player can advertise mirroring');
    },

    async getPlayerCommand(req) {
      const op = 'getPlayerCommand';
      const { owner } = await resolveOwner(ctx, op, req, req.params.sqid);
      const player = await findPlayerOfOwner(ctx.sql, owner.id, req.params.player_id);
      if (!player) throw restError(op, 404, 'not_found', 'no such player');
      const c = await findPlayerCommand(ctx.sql, player.id, req.params.command_id);
      if (!c) throw restError(op, 404, 'not_found', `no command ${req.params.command_id} was sent to this player`);
      return {
        status: 200,
        body: {
          command_id: c.command_id,
          command_type: c.command_type,
          issued_at: c.created_at.toISOString(),
          ...(c.ack_status && c.acked_at ? { ack: { status: c.ack_status, error: c.ack_error, acked_at: c.acked_at.toISOString() } } : {}),
        },
      };
    },

    async sendCommandToAllPlayers(req) {
      const op = 'sendCommandToAllPlayers';
      const { owner, caller } = await resolveOwner(ctx, op, req, req.params.sqid);
      const payload = await payloadFor(op, req.body, owner);
      const targets = await listPlayerTargets(ctx.sql, owner.id);
      await checkCapabilities(op, req.body.command_type, payload, targets);
      await checkRateLimits(op, owner, targets);
      const ids = await send(op, caller.id, req.body, payload, targets);
      return { status: 200, body: { sent_count: ids.length, commands: ids.map((command_id) => ({ command_id, status: 'sent' as const })) } };
    },
  };
}

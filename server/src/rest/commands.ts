// Commands an owner (or a moderator) sends to players over REST: validated, rate limited, logged
// (who, what, when), then published on each player's command topic.
import { randomUUID } from 'node:crypto';
import type { PlayerCommandMessage } from '../../../generated/asyncapi/channels.js';
import { publishPlayerCommand } from '../../../generated/asyncapi/operations.js';
import { restError, type Handlers } from '../../../generated/openapi/routes.js';
import type { PlayerCommandRequest } from '../../../generated/openapi/schemas.js';
import type { AppContext } from '../context.js';
import { findShowablePost, logCommands } from '../db/commands.js';
import { rateLimitKeys } from '../db/rate-limit.js';
import { findPlayerOfOwner, listPlayerTargets, type OwnerRow } from '../db/players.js';
import { ownerIsModerator, resolveOwner } from './owner.js';

type Ops = 'sendPlayerCommand' | 'sendCommandToAllPlayers';
type Op = Ops;

interface Target {
  id: string;
  player_key: string;
}

type Payload = PlayerCommandMessage['payload'];

export function commandHandlers(ctx: AppContext): Pick<Handlers, Ops> {
  const { config } = ctx;

  /** The command's payload: the post to show for show_artwork (400 without post_id, 404 unknown or invisible), `{}` otherwise (400 with a post_id). */
  async function payloadFor(op: Op, body: PlayerCommandRequest, owner: OwnerRow): Promise<Payload> {
    if (body.command_type === 'show_artwork') {
      if (body.post_id === undefined) throw restError(op, 400, 'invalid_request', 'post_id: is required with show_artwork');
      const post = await findShowablePost(ctx.sql, body.post_id, { ownerId: owner.id, ownerIsModerator: ownerIsModerator(owner) });
      if (!post) throw restError(op, 404, 'not_found', `no visible post has the id ${body.post_id}`);
      return { post_id: post.post_id, storage_key: post.storage_key, art_url: post.art_url, canvas: post.canvas };
    }
    if (body.post_id !== undefined) throw restError(op, 400, 'invalid_request', `post_id: is not allowed with ${body.command_type}`);
    return {};
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

  /** Logs then publishes one command per target; returns their ids in target order. */
  async function send(op: Op, callerId: number, body: PlayerCommandRequest, payload: Payload, targets: readonly Target[]): Promise<string[]> {
    // mqtt.js would queue the publish until the broker is back and deliver a stale command later
    if (!ctx.mqtt.connected) throw restError(op, 500, 'internal_error', 'The MQTT broker is unreachable; no command was sent');
    const timestamp = ctx.now().toISOString();
    const commands = targets.map((t) => ({
      target: t,
      message: { command_id: randomUUID(), command_type: body.command_type, payload, timestamp } as PlayerCommandMessage,
    }));
    await logCommands(
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
    await Promise.all(commands.map(({ target, message }) => publishPlayerCommand(ctx.mqtt, { player_key: target.player_key }, message)));
    return commands.map((c) => c.message.command_id);
  }

  return {
    async sendPlayerCommand(req) {
      const op = 'sendPlayerCommand';
      const { owner, caller } = await resolveOwner(ctx, op, req, req.params.sqid);
      const player = await findPlayerOfOwner(ctx.sql, owner.id, req.params.player_id);
      if (!player) throw restError(op, 404, 'not_found', 'no such player');
      const payload = await payloadFor(op, req.body, owner);
      const target = { id: player.id, player_key: player.player_key };
      await checkRateLimits(op, owner, [target]);
      const [commandId] = await send(op, caller.id, req.body, payload, [target]);
      return { status: 200, body: { command_id: commandId!, status: 'sent' as const } };
    },

    async sendCommandToAllPlayers(req) {
      const op = 'sendCommandToAllPlayers';
      const { owner, caller } = await resolveOwner(ctx, op, req, req.params.sqid);
      const payload = await payloadFor(op, req.body, owner);
      const targets = await listPlayerTargets(ctx.sql, owner.id);
      await checkRateLimits(op, owner, targets);
      const ids = await send(op, caller.id, req.body, payload, targets);
      return { status: 200, body: { sent_count: ids.length, commands: ids.map((command_id) => ({ command_id, status: 'sent' as const })) } };
    },
  };
}

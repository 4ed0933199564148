// Cases derived from the command examples (needs feature rest): the owner sends each command
// through REST, and the player must receive it on its command topic, valid against the command
// schema, with the command_id REST answered and, for show_artwork, the real post's artwork; for the
// other types, the example's payload. The REST body is the command type plus the example payload's
// fields that PlayerCommandRequest declares (post_id mapped to the real post). Commands that need
// a capability (set_*, protocol 1.1) are sent after the player published the first
// PlayerCapabilities example; the server stores it asynchronously, so a 400 is retried until the
// timeout. An exception can add features (protocol_1_1).
import { PlayerCommandMessageValidator, playerCapabilitiesTopic, playerCommandTopic } from '@makapix/contract/asyncapi/channels';
import { PlayerCommandRequest } from '@makapix/contract/openapi/schemas';
import { StopCase, type CaseDef } from '../model/case.js';
import { describeValue, expectationOf, valueAt } from '../model/describe.js';
import { CommandTypeValues } from '@makapix/contract/components/identifiers';
import { examplesOf, isJsonObject, isOneOf, messagesOnChannel, type JsonObject } from '../examples/catalog.js';
import { mapPostId } from '../examples/substitute.js';
import type { ExceptionSpec } from '../cases/schema.js';
import type { ServerContext } from './context.js';
import { pickDeclared } from './rest-bodies.js';
import { curlRepro, restOk } from './rest-checks.js';

/** Command types a player must advertise a capability for before REST accepts them. */
const NEEDS_CAPABILITY = new Set(['set_paused', 'set_brightness', 'set_rotation']);

export function derivedCommandCases(exceptions: readonly ExceptionSpec[] = []): CaseDef<ServerContext>[] {
  const out: CaseDef<ServerContext>[] = [];
  const capabilities = examplesOf('PlayerCapabilities')[0];
  for (const message of messagesOnChannel('playerCommand')) {
    for (const ex of examplesOf(message)) {
      const exception = exceptions.find((e) => e.example === ex.ref);
      if (exception?.replaced_by) continue;
      out.push({
        name: `server/mqtt/command/${ex.name}`,
        features: ['mqtt', 'rest', ...(exception?.features ?? [])],
        source: `spec: ${ex.ref}`,
        run: async (ctx, rec) => {
          const rest = ctx.rest!;
          const examplePost = valueAt(ex.payload, '/payload/post_id');
          const postId = typeof examplePost === 'number' ? mapPostId(examplePost, ctx.map) : undefined;
          const commandType = ex.payload.command_type;
          if (!isOneOf(CommandTypeValues, commandType)) throw new Error(`${ex.ref}: command_type ${describeValue(commandType)} is not a CommandType`);
          const examplePayload = isJsonObject(ex.payload.payload) ? ex.payload.payload : {};
          const fields = pickDeclared(examplePayload, PlayerCommandRequest);
          delete fields.command_type;
          const body = { ...fields, command_type: commandType, ...(postId !== undefined ? { post_id: postId } : {}) };
          const path = `/u/${rest.owner.sqid}/player/${rest.playerId}/command`;
          if (NEEDS_CAPABILITY.has(commandType) && capabilities) {
            await ctx.session.publish(playerCapabilitiesTopic.format({ player_key: ctx.session.playerKey }), JSON.stringify(capabilities.payload));
          }
          rec.addReproduce(curlRepro(rest, 'POST', path, rest.owner.token, body));
          const topic = playerCommandTopic.format({ player_key: ctx.session.playerKey });
          const from = ctx.session.mark();
          const send = () => rest.api.sendPlayerCommand({ params: { sqid: rest.owner.sqid, player_id: rest.playerId }, body: body as never }, { token: rest.owner.token });
          let r = await send();
          const deadline = Date.now() + ctx.timeoutMs;
          while (NEEDS_CAPABILITY.has(commandType) && r.status === 400 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 50)); // the capabilities are stored asynchronously
            r = await send();
          }
          if (!restOk(rec, 'sendPlayerCommand', r, 200)) throw new StopCase();
          const commandId = (r.body as { command_id: string }).command_id;
          const got = await ctx.session.waitFor((m) => m.topic === topic, from, ctx.timeoutMs);
          if (!got) {
            rec.mismatch({ topic, pointer: '', expected: `the command within ${ctx.timeoutMs} ms`, got: 'nothing' });
            return;
          }
          let raw: JsonObject;
          try {
            raw = JSON.parse(got.bytes.toString('utf8')) as JsonObject;
          } catch (err) {
            rec.mismatch({ topic, pointer: '', expected: 'UTF-8 JSON', got: (err as Error).message });
            return;
          }
          for (const i of PlayerCommandMessageValidator.issues(raw)) rec.mismatch({ topic, pointer: i.pointer, expected: expectationOf(i.message), got: describeValue(valueAt(raw, i.pointer)) });
          const expected: [string, unknown][] = [['/command_id', commandId], ['/command_type', ex.payload.command_type]];
          if (postId !== undefined) {
            expected.push(['/payload/post_id', postId]);
            const post = rest.posts.get(postId);
            if (post) expected.push(['/payload/storage_key', post.storage_key], ['/payload/art_url', post.art_url], ['/payload/canvas', post.canvas]);
          } else {
            expected.push(['/payload', examplePayload]);
          }
          for (const [pointer, want] of expected) {
            const have = valueAt(raw, pointer);
            if (JSON.stringify(have) !== JSON.stringify(want)) rec.mismatch({ topic, pointer, expected: describeValue(want), got: describeValue(have) });
          }
        },
      });
    }
  }
  return out;
}

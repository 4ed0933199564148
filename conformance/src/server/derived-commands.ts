// Cases derived from the command examples (needs feature rest): the owner sends each command
// through REST, and the player must receive it on its command topic, valid against the command
// schema, with the command_id REST answered and, for show_artwork, the real post's artwork.
import { PlayerCommandMessageValidator, playerCommandTopic } from '../../../generated/asyncapi/channels.js';
import { StopCase, type CaseDef } from '../model/case.js';
import { describeValue, expectationOf, valueAt } from '../model/describe.js';
import { CommandTypeValues } from '../../../generated/components/identifiers.js';
import { examplesOf, isOneOf, messagesOnChannel, type JsonObject } from '../examples/catalog.js';
import { mapPostId } from '../examples/substitute.js';
import type { ServerContext } from './context.js';
import { curlRepro, restOk } from './rest-checks.js';

export function derivedCommandCases(): CaseDef<ServerContext>[] {
  const out: CaseDef<ServerContext>[] = [];
  for (const message of messagesOnChannel('playerCommand')) {
    for (const ex of examplesOf(message)) {
      out.push({
        name: `server/mqtt/command/${ex.name}`,
        features: ['mqtt', 'rest'],
        source: `spec: ${ex.ref}`,
        run: async (ctx, rec) => {
          const rest = ctx.rest!;
          const examplePost = valueAt(ex.payload, '/payload/post_id');
          const postId = typeof examplePost === 'number' ? mapPostId(examplePost, ctx.map) : undefined;
          const commandType = ex.payload.command_type;
          if (!isOneOf(CommandTypeValues, commandType)) throw new Error(`${ex.ref}: command_type ${describeValue(commandType)} is not a CommandType`);
          const body = { command_type: commandType, ...(postId !== undefined ? { post_id: postId } : {}) };
          const path = `/u/${rest.owner.sqid}/player/${rest.playerId}/command`;
          rec.addReproduce(curlRepro(rest, 'POST', path, rest.owner.token, body));
          const topic = playerCommandTopic.format({ player_key: ctx.session.playerKey });
          const from = ctx.session.mark();
          const r = await rest.api.sendPlayerCommand({ params: { sqid: rest.owner.sqid, player_id: rest.playerId }, body }, { token: rest.owner.token });
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

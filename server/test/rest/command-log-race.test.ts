// A command to a player deleted between its look-up and its logging (sendCommandToAllPlayers racing
// a deletePlayer) is neither logged nor sent, instead of failing the whole call with a 500.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { logCommands } from '../../src/db/commands.js';
import { provisionPlayer, registerUser, startStack, type Stack } from '../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.stop());

it('logs the commands of players that still exist and leaves out a deleted one', async () => {
  const owner = await registerUser(stack.api);
  const kept = await provisionPlayer(stack.api, owner, 'kept');
  const gone = await provisionPlayer(stack.api, owner, 'gone');
  const del = await stack.api.deletePlayer({ params: { sqid: owner.sqid, player_id: gone.id } }, { token: owner.token });
  expect(del.status).toBe(204);
  const [caller] = await stack.server.ctx.sql<{ id: number }[]>`select id from users where user_id = ${owner.user_id}`;
  const entry = (p: { id: string; player_key: string }, commandId: string) => ({
    commandId, playerId: p.id, playerKey: p.player_key, issuedBy: caller!.id, commandType: 'swap_next', payload: {},
  });
  const logged = await logCommands(stack.server.ctx.sql, [
    entry(kept, '11111111-1111-4111-8111-111111111111'),
    entry(gone, '22222222-2222-4222-8222-222222222222'),
  ]);
  expect([...logged]).toEqual(['11111111-1111-4111-8111-111111111111']);
  const rows = await stack.server.ctx.sql<{ command_id: string }[]>`select command_id from player_commands where player_id in (${kept.id}, ${gone.id})`;
  expect(rows.map((r) => r.command_id)).toEqual(['11111111-1111-4111-8111-111111111111']);
});

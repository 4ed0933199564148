// Player-mode cases written as data (conformance/cases/*.yaml, mode: player): `command` publishes
// on the player's command topic (an example made fresh, or raw text) and may expect the status
// that follows.
import { randomUUID } from 'node:crypto';
import { type CaseDef, type CaseRecorder } from '../model/case.js';
import { findExample, type Json, type JsonObject } from '../examples/catalog.js';
import type { LoadedCaseFile } from '../cases/load.js';
import type { CaseSpec, CommandStep } from '../cases/schema.js';
import { render, setPath, type TemplateScope } from '../cases/template.js';
import { expectNextStatus, prepareCommand, sendCommand } from './commands.js';
import type { PlayerContext } from './context.js';

function scopeFor(ctx: PlayerContext, item: unknown): TemplateScope {
  return {
    vars: { player_key: ctx.playerKey, random_uuid: randomUUID(), item: (item ?? null) as Json },
    saved: new Map(),
    mapPost: (id) => id,
  };
}

async function runCommand(ctx: PlayerContext, rec: CaseRecorder, step: CommandStep, scope: TemplateScope): Promise<void> {
  let text: string;
  let payload: JsonObject | undefined;
  if (step.command.raw !== undefined) {
    text = String(render(step.command.raw, scope));
  } else {
    payload = prepareCommand(ctx, findExample(step.command.example!)!.payload);
    for (const [path, value] of Object.entries(step.command.set ?? {})) setPath(payload, path, render(value, scope));
    for (const path of step.command.unset ?? []) setPath(payload, path, undefined);
    text = JSON.stringify(payload);
  }
  const sent = await sendCommand(ctx, rec, text);
  const want = step.expect_status;
  if (!want) return;
  const fromCommand = (payload?.payload as { post_id?: number } | undefined)?.post_id;
  await expectNextStatus(ctx, rec, sent, {
    current_post_id: want.current_post_id === 'from_command' ? fromCommand : want.current_post_id,
    status: want.status,
  });
}

export function yamlPlayerCases(files: readonly LoadedCaseFile[]): CaseDef<PlayerContext>[] {
  const out: CaseDef<PlayerContext>[] = [];
  for (const f of files) {
    if (f.data.mode !== 'player') continue;
    for (const c of f.data.cases ?? []) out.push(fromSpec(f, c));
  }
  return out;
}

function fromSpec(f: LoadedCaseFile, c: CaseSpec): CaseDef<PlayerContext> {
  return {
    name: `${f.data.suite}/${c.name}`,
    features: [...(c.features ?? [])],
    source: f.file,
    summary: c.summary,
    run: async (ctx, rec) => {
      for (const step of [...c.steps, ...(c.cleanup ?? [])]) {
        for (const item of step.each ?? [undefined]) {
          rec.throwIfClosed();
          if ('command' in step) await runCommand(ctx, rec, step, scopeFor(ctx, item));
        }
      }
    },
  };
}

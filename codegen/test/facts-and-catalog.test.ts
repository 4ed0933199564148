// The generated facts beside the schemas (<Name>Values, inline enum types, <Name>Defaults,
// <Name>Bounds), the typed message/request catalog and the x-limits constants, read against the
// spec itself (YAML) and the generated TypeBox schemas.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { channelIds, messageCatalog, requestCatalog, requestTypes } from '@makapix/contract/asyncapi/catalog';
import { messageExamples, messageExampleSummaries } from '@makapix/contract/asyncapi/examples';
import { limits } from '@makapix/contract/asyncapi/limits';
import { requestOperations } from '@makapix/contract/asyncapi/operations';
import * as asyncSchemas from '@makapix/contract/asyncapi/schemas';
import * as errors from '@makapix/contract/components/errors';
import * as identifiers from '@makapix/contract/components/identifiers';
import * as post from '@makapix/contract/components/post';
import * as openSchemas from '@makapix/contract/openapi/schemas';

const REPO = resolve(import.meta.dirname, '../..');
const yaml = (p: string) => parse(readFileSync(resolve(REPO, p), 'utf8')) as Record<string, unknown>;
const asyncDoc = yaml('spec/asyncapi.yaml') as { components: { schemas: Record<string, Record<string, unknown>> }; 'x-limits': Record<string, { value: number }> };

/** The literal values of a TypeBox union of literals (what the validator accepts). */
function literals(schema: unknown): unknown[] {
  const s = schema as { anyOf?: { const?: unknown; type?: string }[] };
  return (s.anyOf ?? []).map((m) => (m.type === 'null' ? null : m.const));
}

describe('<Name>Values', () => {
  const modules: [string, Record<string, unknown>, Record<string, Record<string, unknown>>][] = [
    ['spec/components/identifiers.yaml', identifiers, yaml('spec/components/identifiers.yaml') as never],
    ['spec/components/errors.yaml', errors, yaml('spec/components/errors.yaml') as never],
    ['spec/components/post.yaml', post, yaml('spec/components/post.yaml') as never],
    ['spec/asyncapi.yaml', asyncSchemas, asyncDoc.components.schemas],
    ['spec/openapi.yaml', openSchemas, (yaml('spec/openapi.yaml') as { components: { schemas: never } }).components.schemas],
  ];
  const named = modules.flatMap(([file, mod, doc]) =>
    Object.entries(doc).filter(([, s]) => Array.isArray(s.enum) && (s.enum as unknown[]).length > 1).map(([name, s]) => [file, name, mod, s.enum as unknown[]] as const));

  it('exist for the enums the server and conformance use', () => {
    const names = named.map(([, n]) => n);
    for (const n of ['PromotionCategory', 'PromotedCategory', 'ErrorCode', 'RestErrorCode', 'CommandType', 'ConnectionStatus', 'RegistrationStatus', 'ViewIntent', 'UserRole']) expect(names).toContain(n);
  });
  it.each(named)('%s %s: the spec enum, in order, and exactly what the schema accepts', (_file, name, mod, values) => {
    expect(mod[`${name}Values`]).toEqual(values);
    expect(literals(mod[name])).toEqual(values);
  });
  it('titled inline enums get values (and a type) too', () => {
    const q = asyncDoc.components.schemas.QueryPostsRequest as { properties: Record<string, { enum: string[] }> };
    expect(asyncSchemas.QueryPostsChannelValues).toEqual(q.properties.channel.enum);
    expect(asyncSchemas.QueryPostsSortValues).toEqual(q.properties.sort.enum);
    expect(literals(asyncSchemas.QueryPostsRequest.properties.channel)).toEqual(q.properties.channel.enum);
    const c: asyncSchemas.QueryPostsChannel = 'by_user';
    expect(asyncSchemas.QueryPostsChannelValues).toContain(c);
  });
});

describe('<Name>Defaults and <Name>Bounds', () => {
  it('carry the spec defaults handlers apply', () => {
    expect(asyncSchemas.QueryPostsRequestDefaults).toEqual({ channel: 'all', sort: 'server_order', limit: 50 });
    expect(asyncSchemas.GetCommentsRequestDefaults).toEqual({ limit: 50 });
    expect(asyncSchemas.SubmitViewRequestDefaults).toEqual({ view_intent: 'automated' });
    expect(openSchemas.CreatePostRequestDefaults).toEqual({ frame_count: 1, has_transparency: false });
  });
  it('carry the bound keywords, as the TypeBox schemas hold them', () => {
    expect(identifiers.PostIdBounds).toEqual({ minimum: 1, maximum: 2147483647 });
    expect(Reflect.get(identifiers.PostId, 'maximum')).toBe(identifiers.PostIdBounds.maximum);
    expect(identifiers.CursorBounds.maxLength).toBe(512);
    expect(asyncSchemas.QueryPostsRequestBounds.limit).toEqual({ minimum: 1, maximum: 50 });
    expect(asyncSchemas.QueryPostsRequestBounds.random_seed.maximum).toBe(2 ** 32 - 1);
  });
});

describe('messageCatalog and requestCatalog', () => {
  it('hold every message with every example, in spec order, with its summary', () => {
    expect(Object.keys(messageCatalog)).toEqual(Object.keys(messageExamples));
    for (const m of Object.values(messageCatalog)) {
      const examples = messageExamples[m.name as keyof typeof messageExamples] as Record<string, unknown>;
      expect(m.examples.map((e) => e.name)).toEqual(Object.keys(examples));
      for (const e of m.examples) {
        expect(e.payload).toBe(examples[e.name]);
        expect(e.summary).toBe(messageExampleSummaries[m.name][e.name]);
        expect(m.validator.explain(e.payload)).toBe('');
      }
      expect(m.channels.length).toBeGreaterThan(0);
      for (const c of m.channels) expect(channelIds).toContain(c);
    }
  });
  it('name every request operation by request_type, with its reply messages and validator', () => {
    expect([...requestTypes]).toEqual(Object.keys(requestOperations));
    expect(Object.keys(requestCatalog)).toEqual(Object.keys(requestOperations));
    for (const t of requestTypes) {
      const r = requestCatalog[t];
      expect(r.requestType).toBe(t);
      expect(r.operationId).toBe(requestOperations[t].operationId);
      expect(r.replyValidator).toBe(requestOperations[t].spec.response.message);
      expect(messageCatalog[r.request].examples.every((e) => (e.payload as { request_type?: string }).request_type === t)).toBe(true);
      expect(r.replies).toContain('ErrorResponse');
    }
  });
});

describe('limits', () => {
  it('are the x-limits of spec/asyncapi.yaml', () => {
    expect(limits).toEqual(Object.fromEntries(Object.entries(asyncDoc['x-limits']).map(([k, v]) => [k, v.value])));
    expect(limits.maxPayloadBytes).toBe(128 * 1024);
  });
});

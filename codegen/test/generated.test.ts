// The generated code itself: every named example validates with the generated validators, every
// topic formats and parses back to the same parameters, and the route table covers every operation.
import { describe, expect, it } from 'vitest';
import { compileValidator, type Validator } from '../runtime/index.js';
import * as channels from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { requestOperations } from '@makapix/contract/asyncapi/operations';
import { restExamples } from '@makapix/contract/openapi/examples';
import { routes } from '@makapix/contract/openapi/routes';

const validators = channels as unknown as Record<string, Validator<unknown>>;

describe('generated message validators', () => {
  const cases = Object.entries(messageExamples).flatMap(([message, examples]) =>
    Object.entries(examples).map(([name, value]) => [message, name, value] as const),
  );
  it('cover every message', () => {
    expect(Object.keys(messageExamples).length).toBe(28);
    expect(cases.length).toBeGreaterThan(40);
  });
  it.each(cases)('%s example %s validates', (message, _name, value) => {
    const v = validators[`${message}Validator`];
    expect(v, `${message}Validator is exported`).toBeDefined();
    expect(v.explain(value)).toBe('');
    expect(v.check(value)).toBe(true);
  });
  it('reject a wrong-typed field and name it', () => {
    const bad = { ...messageExamples.QueryPostsRequest.by_user, limit: 'ten' };
    expect(channels.QueryPostsRequestValidator.check(bad)).toBe(false);
    expect(channels.QueryPostsRequestValidator.explain(bad)).toMatch(/limit/);
  });
  it('tell an unknown request_type apart on the request channel', () => {
    const v = channels.PlayerRequestMessageValidator;
    const unknown = { ...messageExamples.SubmitViewRequest.intentional, request_type: 'teleport' };
    expect(v.check(unknown)).toBe(false);
    expect(v.explain(unknown)).toMatch(/request_type/);
    expect(v.check(messageExamples.SubmitViewRequest.intentional)).toBe(true);
  });
  it('every request example has a reply example of the same name (success or error)', () => {
    const replyNames = new Set(
      Object.entries(messageExamples)
        .filter(([m]) => m.endsWith('Response'))
        .flatMap(([, ex]) => Object.keys(ex)),
    );
    const missing = Object.entries(messageExamples)
      .filter(([m]) => m.endsWith('Request'))
      .flatMap(([m, ex]) => Object.keys(ex).filter((n) => !replyNames.has(n)).map((n) => `${m}.${n}`));
    expect(missing).toEqual([]);
  });
  it('maps every request_type to its operation', () => {
    expect(Object.keys(requestOperations).sort()).toEqual(['get_comments', 'get_post', 'query_posts', 'revoke_reaction', 'submit_reaction', 'submit_view']);
  });
});

describe('generated topics', () => {
  const sample: Record<string, string | number> = {
    player_key: '550e8400-e29b-41d4-a716-446655440000', request_id: 'req-001', post_id: 123,
    follower_id: '3fa85f64-5717-4562-b3fc-2c963f66afa6', category: "daily's-best",
  };
  const all = Object.values(channels.channels);
  it.each(all.map((c) => [c.id, c] as const))('%s formats and parses back', (_id, ch) => {
    const params = Object.fromEntries(ch.topic.params.map((p) => [p, sample[p]]));
    const topic = ch.topic.format(params as never);
    expect(topic.includes('{')).toBe(false);
    expect(ch.topic.parse(topic)).toEqual(params);
    expect(ch.topic.matches(topic)).toBe(true);
    const filter = ch.topic.filter();
    expect(filter.split('/').filter((s) => s === '+').length).toBe(ch.topic.params.length);
    expect(ch.topic.shared('servers')).toBe(`$share/servers/${filter}`);
    expect(ch.qos).toBe(1);
    // only what players publish retained (protocol 1.1: capabilities and state) is a retained channel
    expect(ch.retain).toBe(ch.id === 'playerCapabilities' || ch.id === 'playerState');
  });
  it('parse rejects a wrong-typed parameter', () => {
    expect(channels.playerRequestTopic.parse('makapix/player/not-a-uuid/request/req-1')).toBeNull();
    expect(channels.postNewTopic.parse('makapix/post/new/abc')).toBeNull();
    expect(channels.postNewInCategoryTopic.parse('makapix/post/new/category/unknown-cat/5')).toBeNull();
    expect(channels.playerRequestTopic.filter({ player_key: sample.player_key as string })).toBe(`makapix/player/${sample.player_key}/request/+`);
  });
});

describe('generated routes and REST examples', () => {
  it('every operation has a route with a schema for every status', () => {
    expect(Object.keys(routes).length).toBe(Object.keys(restExamples).length);
    for (const r of Object.values(routes)) {
      expect(Object.keys(r.schema.response).length).toBeGreaterThan(0);
      expect(r.url.startsWith('/')).toBe(true);
    }
  });
  const cases = Object.entries(restExamples).flatMap(([op, ex]) => {
    const route = routes[op as keyof typeof routes];
    const out: [string, string, unknown, unknown][] = [];
    for (const [name, value] of Object.entries((ex as { request?: Record<string, unknown> }).request ?? {})) {
      out.push([op, `request ${name}`, (route.schema as { body?: unknown }).body, value]);
    }
    for (const [status, byName] of Object.entries(ex.responses as Record<string, Record<string, unknown>>)) {
      for (const [name, value] of Object.entries(byName)) {
        out.push([op, `${status} ${name}`, (route.schema.response as Record<string, unknown>)[status], value]);
      }
    }
    return out;
  });
  it.each(cases)('%s %s validates', (_op, _name, schema, value) => {
    expect(schema).toBeTruthy();
    const v = compileValidator(schema as never);
    expect(v.explain(value)).toBe('');
  });
});

import { describe, expect, it } from 'vitest';
import { TopicParamError, topicTemplate } from '../../runtime/topic.js';
import { isValidFilter, stripShare, topicMatchesFilter } from '../../runtime/topic-filter.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY = '8f0c1c9e-1b1e-4c1a-9f0e-3c1e2b1a0d9f';

type RequestParams = { player_key: string; request_id: string };
const request = topicTemplate<RequestParams>('makapix/player/{player_key}/request/{request_id}', {
  player_key: { kind: 'string', check: (v) => typeof v === 'string' && UUID.test(v) },
  request_id: { kind: 'string' },
});
type PostParams = { post_id: number };
const postNew = topicTemplate<PostParams>('makapix/post/new/{post_id}', {
  post_id: { kind: 'integer', check: (v) => typeof v === 'number' && v >= 1 },
});
type FollowerParams = { follower_id: string; post_id: number };
const follower = topicTemplate<FollowerParams>('makapix/post/new/user/{follower_id}/{post_id}', {
  follower_id: { kind: 'string' },
  post_id: { kind: 'integer' },
});
const status = topicTemplate<{ player_key: string }>('makapix/player/{player_key}/status', { player_key: { kind: 'string' } });

describe('topicTemplate', () => {
  it('lists its parameters in address order', () => {
    expect(request.address).toBe('makapix/player/{player_key}/request/{request_id}');
    expect(request.params).toEqual(['player_key', 'request_id']);
  });

  it('formats and parses round trip (strings and integers)', () => {
    const p = { player_key: KEY, request_id: 'a1b2c3' };
    const topic = request.format(p);
    expect(topic).toBe(`makapix/player/${KEY}/request/a1b2c3`);
    expect(request.parse(topic)).toEqual(p);
    expect(postNew.format({ post_id: 42 })).toBe('makapix/post/new/42');
    expect(postNew.parse('makapix/post/new/42')).toEqual({ post_id: 42 });
    expect(follower.parse(follower.format({ follower_id: 'u1', post_id: 7 }))).toEqual({ follower_id: 'u1', post_id: 7 });
    expect(request.matches(topic)).toBe(true);
  });

  it('parse returns null for other topics and for values failing their kind or check', () => {
    expect(request.parse(`makapix/player/${KEY}/response/a1`)).toBeNull();
    expect(request.parse(`makapix/player/${KEY}/request`)).toBeNull();
    expect(request.parse(`makapix/player/${KEY}/request/a/b`)).toBeNull();
    expect(request.parse('makapix/player/not-a-uuid/request/a1')).toBeNull();
    expect(request.parse(`makapix/player/${KEY}/request/`)).toBeNull();
    for (const bad of ['abc', '1.5', '0x10', '1e3', '', '007', '-0', '99999999999999999999']) {
      expect(postNew.parse(`makapix/post/new/${bad}`), bad).toBeNull();
    }
    expect(postNew.parse('makapix/post/new/0')).toBeNull(); // check: >= 1
    expect(postNew.matches('makapix/post/new/abc')).toBe(false);
  });

  it.each([
    ['contains /', { player_key: KEY, request_id: 'a/b' }, /must not contain/],
    ['contains +', { player_key: KEY, request_id: 'a+' }, /must not contain/],
    ['contains #', { player_key: KEY, request_id: '#' }, /must not contain/],
    ['is empty', { player_key: KEY, request_id: '' }, /must not be empty/],
    ['fails its check', { player_key: 'nope', request_id: 'x' }, /player_key fails its check/],
    ['is missing', { player_key: KEY } as RequestParams, /request_id must be a string/],
  ])('format throws TopicParamError when a value %s', (_name, params, message) => {
    expect(() => request.format(params)).toThrow(TopicParamError);
    expect(() => request.format(params)).toThrow(message);
  });

  it('format rejects integers that are not safe integers', () => {
    for (const bad of [1.5, Number.NaN, Infinity, 2 ** 60, '12' as unknown as number]) {
      expect(() => postNew.format({ post_id: bad }), String(bad)).toThrow(/post_id must be a safe integer/);
    }
    expect(() => postNew.format({ post_id: 0 })).toThrow(/fails its check/);
  });

  it('filter() puts + for every parameter not fixed', () => {
    expect(request.filter()).toBe('makapix/player/+/request/+');
    expect(request.filter({ player_key: KEY })).toBe(`makapix/player/${KEY}/request/+`);
    expect(follower.filter({ post_id: 9 })).toBe('makapix/post/new/user/+/9');
    expect(() => request.filter({ player_key: 'a/b' })).toThrow(TopicParamError);
  });

  it('filterRest() collapses trailing free parameters into #', () => {
    expect(request.filterRest({ player_key: KEY })).toBe(`makapix/player/${KEY}/request/#`);
    expect(follower.filterRest({ follower_id: 'u1' })).toBe('makapix/post/new/user/u1/#');
    expect(follower.filterRest()).toBe('makapix/post/new/user/#');
    expect(status.filterRest()).toBe('makapix/player/+/status'); // a literal ends it: no #
    expect(postNew.filterRest({ post_id: 3 })).toBe('makapix/post/new/3');
  });

  it('shared() prefixes $share/<group>/ and checks the group', () => {
    expect(request.shared('api')).toBe('$share/api/makapix/player/+/request/+');
    expect(request.shared('api', { player_key: KEY })).toBe(`$share/api/makapix/player/${KEY}/request/+`);
    for (const bad of ['', 'a/b', 'g+', '#']) expect(() => request.shared(bad)).toThrow(TopicParamError);
  });

  it('rejects malformed addresses and mismatched parameter kinds at construction', () => {
    expect(() => topicTemplate('a/{x}/b', {} as never)).toThrow(/missing: x/);
    expect(() => topicTemplate<{ x: string; y: string }>('a/{x}', { x: { kind: 'string' }, y: { kind: 'string' } })).toThrow(/extra: y/);
    expect(() => topicTemplate('a/pre-{x}', { x: { kind: 'string' } } as never)).toThrow(/exactly one \{param\}/);
    expect(() => topicTemplate('a/+/b', {})).toThrow(/literal/);
    expect(() => topicTemplate('a/{x}/{x}', { x: { kind: 'string' } } as never)).toThrow(/twice/);
  });
});

describe('topic filters', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+/c', 'a/b/c', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$share/g/a/+', 'a/b', true],
    ['$share/g/a/+', 'b/b', false],
    ['a/+/+', 'a/b', false],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatchesFilter(filter, topic)).toBe(expected);
  });

  it('strips $share prefixes and validates filters', () => {
    expect(stripShare('$share/grp/a/#')).toBe('a/#');
    expect(stripShare('a/b')).toBe('a/b');
    expect(isValidFilter('a/+/c')).toBe(true);
    expect(isValidFilter('$share/g/a/#')).toBe(true);
    expect(isValidFilter('a/#/c')).toBe(false);
    expect(isValidFilter('a/b+')).toBe(false);
    expect(isValidFilter('$share//a')).toBe(false);
    expect(isValidFilter('')).toBe(false);
  });
});

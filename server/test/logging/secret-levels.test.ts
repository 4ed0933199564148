// Which URL paths and topics lose their player_key before they are logged.
import { describe, expect, it } from 'vitest';
import { SecretLevelRedactor, redactTopic, redactUrl } from '../../src/logging/index.js';

const KEY = 'f3b2a9c4-1d2e-4f5a-8b6c-7d8e9f0a1b2c';

describe('redactUrl', () => {
  it('hides the player_key of GET /player/{player_key}/credentials, keeping the query', () => {
    expect(redactUrl(`/player/${KEY}/credentials`)).toBe('/player/<redacted>/credentials');
    expect(redactUrl(`/player/${KEY}/credentials?x=1`)).toBe('/player/<redacted>/credentials?x=1');
    expect(redactUrl(`/player/${KEY}/credentials/`)).toBe('/player/<redacted>/credentials/');
  });

  it('hides it under /api too (every route is also served there), and in token/rotate', () => {
    expect(redactUrl(`/api/player/${KEY}/credentials`)).toBe('/api/player/<redacted>/credentials');
    expect(redactUrl(`/api/player/${KEY}/token/rotate`)).toBe('/api/player/<redacted>/token/rotate');
    expect(redactUrl(`/player/${KEY}/token/rotate`)).toBe('/player/<redacted>/token/rotate');
  });

  it('matches percent-encoded levels as the router does', () => {
    expect(redactUrl(`/player/${KEY}/%63redentials`)).toBe('/player/<redacted>/%63redentials');
    expect(redactUrl(`/%70layer/${KEY}/credentials`)).toBe('/%70layer/<redacted>/credentials');
    expect(redactUrl(`/player/${KEY}/%E0%A4%A`)).toBe(`/player/${KEY}/%E0%A4%A`);
  });

  it('leaves paths without a secret alone', () => {
    for (const path of ['/player/provision', '/player/register', '/u/abc/player/12', '/post/5?limit=3', '/readyz', '/player//credentials']) {
      expect(redactUrl(path)).toBe(path);
    }
  });
});

describe('redactTopic', () => {
  it('hides the player_key of every makapix/player/{player_key}/... topic', () => {
    expect(redactTopic(`makapix/player/${KEY}/status`)).toBe('makapix/player/<redacted>/status');
    expect(redactTopic(`makapix/player/${KEY}/request/req-1`)).toBe('makapix/player/<redacted>/request/req-1');
    expect(redactTopic(`makapix/player/${KEY}/command`)).toBe('makapix/player/<redacted>/command');
    expect(redactTopic('makapix/post/new/12')).toBe('makapix/post/new/12');
  });
});

describe('SecretLevelRedactor', () => {
  it('redacts only the secret parameters of templates that have one', () => {
    const r = new SecretLevelRedactor(['/a/{player_key}/b/{other}', '/c/{other}']);
    expect(r.redact('/a/k/b/o')).toBe('/a/<redacted>/b/o');
    expect(r.redact('/c/o')).toBe('/c/o');
    expect(r.redact('/a/k/x/o')).toBe('/a/k/x/o');
  });
});

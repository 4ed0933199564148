// The process logger: pretty (one line per entry) on a terminal in development, JSON otherwise and
// always in production; secrets stay redacted in both formats.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { LogSettings } from '../../src/config.js';
import { createLogger, resolveLogFormat, withSecretRedaction } from '../../src/logging/index.js';

const KEY = 'f3b2a9c4-1d2e-4f5a-8b6c-7d8e9f0a1b2c';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const dev = (format: LogSettings['format']): LogSettings => ({ level: 'info', format, environment: 'development' });

function logSecrets(settings: LogSettings, isTerminal: boolean): string {
  const out = capture();
  const log = withSecretRedaction(createLogger(settings, { destination: out.stream, isTerminal }));
  log.info({ password: 'hunter2-hunter2', token: 'tok-123456', topic: `makapix/player/${KEY}/status` }, 'first');
  log.warn({ req: { method: 'GET', url: `/player/${KEY}/credentials`, headers: { authorization: 'Bearer abc' } } }, 'second');
  log.error({ err: new Error('boom') }, 'third');
  return out.text();
}

describe('resolveLogFormat', () => {
  it('is pretty on a terminal in development (auto), JSON otherwise, JSON always in production', () => {
    expect(resolveLogFormat({ format: 'auto', environment: 'development' }, true)).toBe('pretty');
    expect(resolveLogFormat({ format: 'auto', environment: 'development' }, false)).toBe('json');
    expect(resolveLogFormat({ format: 'pretty', environment: 'development' }, false)).toBe('pretty');
    expect(resolveLogFormat({ format: 'json', environment: 'development' }, true)).toBe('json');
    expect(resolveLogFormat({ format: 'auto', environment: 'production' }, true)).toBe('json');
    expect(resolveLogFormat({ format: 'pretty', environment: 'production' }, true)).toBe('json');
  });
});

describe('createLogger', () => {
  it('pretty: one readable line per entry, secrets redacted', () => {
    const text = logSecrets(dev('auto'), true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/INFO.*first/);
    expect(lines[1]).toMatch(/WARN.*second/);
    expect(lines[2]).toMatch(/ERROR.*third.*boom/);
    for (const line of lines) expect(() => JSON.parse(line)).toThrow();
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('tok-123456');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('Bearer abc');
    expect(text).toContain('makapix/player/<redacted>/status');
    expect(text).toContain('/player/<redacted>/credentials');
  });

  it('JSON when the output is not a terminal, and in production', () => {
    for (const [settings, terminal] of [[dev('auto'), false], [{ ...dev('auto'), environment: 'production' as const }, true]] as const) {
      const text = logSecrets(settings, terminal);
      const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l.msg)).toEqual(['first', 'second', 'third']);
      expect(lines[0]).toMatchObject({ password: '<redacted>', token: '<redacted>', topic: 'makapix/player/<redacted>/status' });
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain(KEY);
    }
  });
});

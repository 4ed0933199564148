// STARTUP_WAIT_SECONDS: how long startup waits for an unreachable database or broker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'mkp-cfg-wait-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = { DATA_DIR: dir, JWT_SECRET: 'x'.repeat(40) };

describe('STARTUP_WAIT_SECONDS', () => {
  it('defaults to 60 and accepts 0 (no waiting) up to a day', () => {
    expect(loadConfig(base).startupWaitSeconds).toBe(60);
    expect(loadConfig({ ...base, STARTUP_WAIT_SECONDS: '0' }).startupWaitSeconds).toBe(0);
    expect(loadConfig({ ...base, STARTUP_WAIT_SECONDS: ' 5 ' }).startupWaitSeconds).toBe(5);
    expect(loadConfig({ ...base, STARTUP_WAIT_SECONDS: '86400' }).startupWaitSeconds).toBe(86_400);
  });

  it.each(['-1', '1.5', 'abc', '86401', '60s'])('rejects %j, naming the variable', (value) => {
    let err: unknown;
    try {
      loadConfig({ ...base, STARTUP_WAIT_SECONDS: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([`STARTUP_WAIT_SECONDS must be an integer between 0 and 86400 (got ${JSON.stringify(value)})`]);
  });
});

// The pool's reconnect delay (db/client.ts): after any number of failed connection attempts a
// connection tries again within a second, so statements issued right after an outage find the
// database (postgres.js's own default waits up to 20 s; server/test/mqtt/db-outage.test.ts shows
// what that did to requests).
import { describe, expect, it } from 'vitest';
import { reconnectBackoffSeconds } from '../../src/db/client.js';

describe('reconnectBackoffSeconds', () => {
  it('starts near 50 ms, grows, and never exceeds one second', () => {
    expect(reconnectBackoffSeconds(1)).toBeLessThanOrEqual(0.05);
    expect(reconnectBackoffSeconds(1)).toBeGreaterThan(0.03);
    for (let retries = 0; retries <= 1_000; retries++) {
      const s = reconnectBackoffSeconds(retries);
      expect(s, `after ${retries} failures`).toBeGreaterThan(0);
      expect(s, `after ${retries} failures`).toBeLessThanOrEqual(1);
    }
    expect(reconnectBackoffSeconds(50)).toBeGreaterThanOrEqual(0.75);
  });
});

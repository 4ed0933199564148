// Opaque cursors: round trip, scope binding, and refusal of anything not made by this key.
import { describe, expect, it } from 'vitest';
import { RequestFailure } from '#runtime/v1';
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH } from '../../src/mqtt/cursor.js';
import { deriveServerKeys } from '../../src/mqtt/server-keys.js';

const keys = deriveServerKeys(Buffer.from('a-server-secret-of-at-least-32-bytes!!'));
const other = deriveServerKeys(Buffer.from('another-server-secret-of-32-bytes-or-more'));

function refused(f: () => unknown): RequestFailure {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(RequestFailure);
    expect((err as RequestFailure).code).toBe('invalid_request');
    expect((err as RequestFailure).requestTypes).toEqual(['query_posts', 'get_comments']);
    expect((err as RequestFailure).message).toMatch(/^cursor: /);
    return err as RequestFailure;
  }
  throw new Error('expected the cursor to be refused');
}

describe('cursor', () => {
  it('round-trips a position for its scope', () => {
    const c = encodeCursor(keys.cursor, 'posts|all|created_at|', ['2025-01-01T00:00:00.000001Z', 12]);
    expect(c).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(decodeCursor(keys.cursor, 'posts|all|created_at|', c)).toEqual(['2025-01-01T00:00:00.000001Z', 12]);
  });

  it('refuses another scope, another key, and every single-character change', () => {
    const c = encodeCursor(keys.cursor, 'comments|5', ['x']);
    expect(refused(() => decodeCursor(keys.cursor, 'comments|6', c)).message).toMatch(/different query/);
    refused(() => decodeCursor(other.cursor, 'comments|5', c));
    refused(() => decodeCursor(keys.viewer, 'comments|5', c));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    for (let i = 0; i < c.length; i++) {
      for (const ch of [alphabet[(alphabet.indexOf(c[i]!) + 1) % alphabet.length]!, alphabet[alphabet.indexOf(c[i]!) ^ 1]!]) {
        if (ch === c[i]) continue;
        refused(() => decodeCursor(keys.cursor, 'comments|5', c.slice(0, i) + ch + c.slice(i + 1)));
      }
    }
    for (const junk of ['', '.', 'abc', `${c}.x`, c.replace('.', ''), 'x'.repeat(MAX_CURSOR_LENGTH)]) {
      refused(() => decodeCursor(keys.cursor, 'comments|5', junk));
    }
  });

  it('never makes a cursor longer than the schema allows', () => {
    expect(() => encodeCursor(keys.cursor, 's', ['x'.repeat(MAX_CURSOR_LENGTH)])).toThrow(/exceeds 512/);
  });
});

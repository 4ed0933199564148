// Test support: assertions on REST answers of the generated client, shared by the server tests.
import { expect } from 'vitest';

type AnyResult = { status: number; body: unknown; headers?: Headers };

/** Asserts the status and returns the body typed for it. */
export function expectStatus<R extends AnyResult, S extends R['status']>(r: R, status: S): Extract<R, { status: S }>['body'] {
  expect({ status: r.status, body: r.body }).toMatchObject({ status });
  return r.body as Extract<R, { status: S }>['body'];
}

/** Asserts a `{error_code, error, detail}` answer (`detail` a copy of `error`); `message` (string or RegExp) checks the text too. */
export function expectError(r: AnyResult, status: number, code: string, message?: string | RegExp): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  const body = r.body as { error_code: string; error: string; detail: string };
  expect(Object.keys(body).sort()).toEqual(['detail', 'error', 'error_code']);
  expect(body.detail).toBe(body.error);
  expect(body.error_code).toBe(code);
  if (typeof message === 'string') expect(body.error).toBe(message);
  else if (message) expect(body.error).toMatch(message);
}

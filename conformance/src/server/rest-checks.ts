// Helpers for cases that act through REST and observe over MQTT (or the other way round).
import { describeValue } from '../model/describe.js';
import { shellQuote } from '../report/repro.js';
import type { CaseRecorder } from '../model/case.js';
import type { RestContext } from './context.js';

export function curlRepro(rest: RestContext, method: string, path: string, token: string, body?: unknown): string {
  const parts = ['curl', '-sS', '-X', method, shellQuote(rest.apiUrl.replace(/\/$/, '') + path), '-H', shellQuote(`Authorization: Bearer ${token}`)];
  if (body !== undefined) parts.push('-H', shellQuote('Content-Type: application/json'), '-d', shellQuote(JSON.stringify(body)));
  return parts.join(' ');
}

/** Records a mismatch unless the REST call answered `status`; returns whether it did. */
export function restOk(rec: CaseRecorder, operationId: string, r: { status: number; body: unknown }, status: number): boolean {
  if (r.status === status) return true;
  rec.mismatch({ topic: `REST ${operationId}`, pointer: '', expected: `HTTP ${status}`, got: `HTTP ${r.status} ${describeValue(r.body, 200)}` });
  return false;
}

/** Polls until `check` returns no differences or the timeout passes; returns the last differences. */
export async function pollUntil<T>(
  fetchOnce: () => Promise<T>,
  check: (v: T) => { pointer: string; expected: unknown; got: unknown }[],
  timeoutMs: number,
  intervalMs = 200,
): Promise<{ pointer: string; expected: unknown; got: unknown }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const diffs = check(await fetchOnce());
    if (diffs.length === 0 || Date.now() >= deadline) return diffs;
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

// A small fetch client over the generated route table: fills the path, query and JSON body, sends the
// bearer token, and resolves with `{status, body, headers}` for every status (it never throws on 4xx/5xx).
// A body with a file (Uint8Array or Blob) for a route that takes multipart/form-data goes as multipart.
import { isBinaryValue } from './binary.js';
import type { RouteDef } from './fastify.js';

export interface RestCallOptions {
  token?: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface RestInput {
  body?: unknown;
  params?: Record<string, string | number>;
  query?: Record<string, string | number | boolean | undefined>;
}

export function buildPath(url: string, params: Record<string, string | number> = {}): string {
  return url.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined || v === '') throw new Error(`path parameter '${name}' is missing`);
    return encodeURIComponent(String(v));
  });
}

export async function restCall(baseUrl: string, route: RouteDef, input: RestInput = {}, opts: RestCallOptions = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  let url = baseUrl.replace(/\/$/, '') + buildPath(route.url, input.params);
  const q = Object.entries(input.query ?? {}).filter(([, v]) => v !== undefined);
  if (q.length) url += '?' + new URLSearchParams(q.map(([k, v]): [string, string] => [k, String(v)])).toString();
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | FormData | undefined;
  if (route.schema.multipart && hasFile(input.body)) {
    body = toFormData(input.body); // fetch sets the multipart content type with its boundary
  } else if (input.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(input.body);
  }
  const res = await (opts.fetch ?? fetch)(url, { method: route.method, headers, body, signal: opts.signal });
  const text = await res.text();
  let parsed: unknown = null;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

function hasFile(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && Object.values(body).some(isBinaryValue);
}

/** One part per field, one per array item; a file is a file part (a Blob/File keeps its name and type; bytes are named after the field). */
function toFormData(body: Record<string, unknown>): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(body)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined) continue;
      if (item instanceof Blob) form.append(key, item, (item as { name?: string }).name ?? key);
      else if (item instanceof Uint8Array) form.append(key, new Blob([item]), key);
      else form.append(key, typeof item === 'string' ? item : JSON.stringify(item));
    }
  }
  return form;
}

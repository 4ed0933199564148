// A small fetch client over the generated route table: fills the path, query and JSON body, sends the
// bearer token, and resolves with `{status, body, headers}` for every status (it never throws on 4xx/5xx).
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
  let body: string | undefined;
  if (input.body !== undefined) {
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

// Templates in case files: `{{player_key}}`, `{{request_id}}`, `{{other_player_key}}`, `{{item}}`,
// `{{owner_sqid}}` (the sqid of the player's owner; null without REST setup),
// `{{post:122}}` (the target's post playing example post 122), `{{saved.page1/next_cursor}}` (a field
// of a saved answer), with filters `| tamper` (change one character), `| required` (skip the case
// when the value is null) and `| json`.
// A string that is exactly one template takes the value's type (a number stays a number).
import type { Json, JsonObject } from '../examples/catalog.js';
import { SkipCase } from '../model/case.js';

export interface TemplateScope {
  vars: Record<string, Json>;
  saved: Map<string, JsonObject>;
  mapPost(exampleId: number): number;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

const WHOLE = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const ANY = /\{\{\s*([^{}]+?)\s*\}\}/g;

export function render(value: unknown, scope: TemplateScope): Json {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) return evaluate(whole[1], scope);
    return value.replace(ANY, (_, expr: string) => {
      const v = evaluate(expr, scope);
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => render(v, scope));
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = render(v, scope);
    return out;
  }
  return value as Json;
}

function evaluate(expr: string, scope: TemplateScope): Json {
  const [head, ...filters] = expr.split('|').map((s) => s.trim());
  let v = lookup(head, scope);
  for (const f of filters) v = applyFilter(f, v);
  return v;
}

function lookup(path: string, scope: TemplateScope): Json {
  const post = /^post:(\d+)$/.exec(path);
  if (post) return scope.mapPost(Number(post[1]));
  const saved = /^saved\.([a-z0-9_]+)(\/.*)?$/.exec(path);
  if (saved) {
    const answer = scope.saved.get(saved[1]);
    if (!answer) throw new TemplateError(`{{${path}}}: nothing was saved as ${saved[1]}`);
    const v = getPointer(answer, saved[2] ?? '');
    if (v === undefined) throw new TemplateError(`{{${path}}}: the saved answer has no ${saved[2]}`);
    return v;
  }
  if (!(path in scope.vars)) throw new TemplateError(`{{${path}}}: unknown name (known: ${Object.keys(scope.vars).join(', ')}, post:<id>, saved.<name>/<pointer>)`);
  return scope.vars[path];
}

function applyFilter(filter: string, v: Json): Json {
  switch (filter) {
    case 'tamper': {
      if (v === null) throw new SkipCase('| tamper needs a cursor, but the saved answer has none (the target has too few items for a second page)');
      if (typeof v !== 'string' || v.length === 0) throw new TemplateError(`| tamper needs a non-empty string (got ${JSON.stringify(v)})`);
      // Change a character in the middle: a signed or checked cursor must notice.
      const i = Math.floor(v.length / 2);
      const c = v[i] === 'A' ? 'B' : 'A';
      return v.slice(0, i) + c + v.slice(i + 1);
    }
    case 'json':
      return JSON.stringify(v);
    case 'required':
      if (v === null) throw new SkipCase('the saved answer has null where the case needs a value (the target has too few items)');
      return v;
    default:
      throw new TemplateError(`unknown filter | ${filter} (known: tamper, required, json)`);
  }
}

export function getPointer(root: Json, pointer: string): Json | undefined {
  let node: Json | undefined = root;
  for (const seg of pointer.split('/').slice(1)) {
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (node !== null && typeof node === 'object') node = (node as JsonObject)[key];
    else return undefined;
  }
  return node;
}

/** Sets (or with `value` undefined, removes) a field: `name` is a top-level field, `/a/b` a pointer. */
export function setPath(root: JsonObject, path: string, value: Json | undefined): void {
  const segs = path.startsWith('/') ? path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')) : [path];
  let node: Json = root;
  for (const seg of segs.slice(0, -1)) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) throw new TemplateError(`cannot set ${path}: ${seg} is not an object`);
    const obj: JsonObject = node;
    if (obj[seg] === undefined || obj[seg] === null || typeof obj[seg] !== 'object') obj[seg] = {};
    node = obj[seg];
  }
  if (node === null || typeof node !== 'object' || Array.isArray(node)) throw new TemplateError(`cannot set ${path}`);
  const last = segs[segs.length - 1];
  if (value === undefined) delete (node as JsonObject)[last];
  else (node as JsonObject)[last] = value;
}

// What both reference pages share: escaping, Markdown (descriptions), schemas as property tables,
// examples, and the page frame. Pages are plain HTML with one inline stylesheet: no script, no font,
// no image, nothing a browser would fetch (the server adds a CSP that forbids it anyway).
import { Marked } from 'marked';
import { getAt } from '../load/pointer.js';
import type { Json } from './resolve.js';

export type Obj = { [k: string]: Json };
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** An id attribute value from any name (letters, digits, `-`, `_`, `.`). */
export function anchor(...parts: string[]): string {
  return parts.map((p) => p.replace(/[^A-Za-z0-9_.-]+/g, '-')).join('-');
}

const markdown = new Marked({
  gfm: true,
  async: false,
  renderer: {
    // descriptions are text: raw HTML in them is shown, not interpreted; an image becomes a link
    html: ({ text }) => esc(text),
    image: ({ href, text }) => `<a href="${esc(href)}">${esc(text || href)}</a>`,
  },
});

export function md(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') return '';
  return `<div class="md">${markdown.parse(text) as string}</div>`;
}

/** Inline Markdown (a summary): no paragraph around it. */
export function mdInline(text: unknown): string {
  return typeof text === 'string' ? (markdown.parseInline(text) as string) : '';
}

/** Local `$ref` resolution in a resolved document. */
export class Doc {
  constructor(readonly root: Obj) {}

  deref(v: Json | undefined): Json | undefined {
    for (let i = 0; i < 32 && isObj(v) && typeof v.$ref === 'string'; i++) {
      v = getAt(this.root, v.$ref.replace(/^#/, '')) as Json | undefined;
    }
    return v;
  }

  /** The component schema name a `$ref` points to (`#/components/schemas/<name>`), if it does. */
  schemaName(v: Json | undefined): string | undefined {
    const m = isObj(v) && typeof v.$ref === 'string' ? /^#\/components\/schemas\/([^/]+)$/.exec(v.$ref) : null;
    return m ? decodeURIComponent(m[1].replace(/~1/g, '/').replace(/~0/g, '~')) : undefined;
  }
}

const CONSTRAINTS: [string, (v: Json) => string][] = [
  ['format', (v) => `format ${v}`],
  ['pattern', (v) => `pattern <code>${esc(v)}</code>`],
  ['minLength', (v) => `length ≥ ${v}`],
  ['maxLength', (v) => `length ≤ ${v}`],
  ['minimum', (v) => `≥ ${v}`],
  ['maximum', (v) => `≤ ${v}`],
  ['minItems', (v) => `items ≥ ${v}`],
  ['maxItems', (v) => `items ≤ ${v}`],
  ['contentMediaType', (v) => `media type ${v}`],
];

/** A one-line summary of a schema's type: a link for a named schema, else type, enum, const, bounds. */
export function typeSummary(doc: Doc, s: Json | undefined): string {
  const name = doc.schemaName(s);
  if (name) {
    const t = doc.deref(s);
    const inner = isObj(t) && t.type !== 'object' && !Array.isArray(t.oneOf) ? ` <span class="muted">(${typeSummary(doc, t)})</span>` : '';
    return `<a class="schema-link" href="#${anchor('schema', name)}">${esc(name)}</a>${inner}`;
  }
  if (!isObj(s)) return '<span class="muted">any</span>';
  const parts: string[] = [];
  if ('const' in s) parts.push(`const <code>${esc(JSON.stringify(s.const))}</code>`);
  else if (Array.isArray(s.enum)) parts.push(`one of ${s.enum.map((e) => `<code>${esc(JSON.stringify(e))}</code>`).join(', ')}`);
  const types = Array.isArray(s.type) ? s.type.map(String) : typeof s.type === 'string' ? [s.type] : [];
  if (types.includes('array')) parts.unshift(`array of ${typeSummary(doc, s.items)}`);
  else if (types.length) parts.unshift(`<span class="type">${esc(types.join(' | '))}</span>`);
  if (Array.isArray(s.oneOf)) parts.unshift(`one of: ${s.oneOf.map((b) => typeSummary(doc, b)).join(' · ')}`);
  if (typeof s.title === 'string' && (types.includes('object') || Array.isArray(s.enum))) parts.unshift(`<span class="title">${esc(s.title)}</span>`);
  for (const [k, f] of CONSTRAINTS) if (k in s && s[k] !== undefined) parts.push(f(s[k]));
  if ('default' in s) parts.push(`default <code>${esc(JSON.stringify(s.default))}</code>`);
  return parts.join(', ') || '<span class="muted">any</span>';
}

/** A schema as a block: its description, then its properties (nested inline objects too) or its type. */
export function schemaBlock(doc: Doc, s: Json | undefined, depth = 0): string {
  const name = depth > 0 ? doc.schemaName(s) : undefined;
  if (name) return `<p>${typeSummary(doc, s)}</p>`;
  const t = doc.deref(s);
  if (!isObj(t)) return '';
  const out: string[] = [];
  if (depth === 0 && doc.schemaName(s)) out.push(`<p class="schema-ref">Schema ${typeSummary(doc, s)}</p>`);
  if (isObj(t.properties)) {
    const required = new Set(Array.isArray(t.required) ? t.required.map(String) : []);
    out.push('<table class="props"><thead><tr><th>field</th><th>type</th><th>description</th></tr></thead><tbody>');
    for (const [p, ps] of Object.entries(t.properties)) {
      const target = doc.deref(ps);
      const nested = !doc.schemaName(ps) && isObj(target) && (isObj(target.properties) || (isObj(target.items) && isObj(doc.deref(target.items)) && !doc.schemaName(target.items) && isObj((doc.deref(target.items) as Obj).properties)));
      const desc = isObj(ps) && typeof ps.description === 'string' ? ps.description : isObj(target) ? target.description : undefined;
      out.push(`<tr><td><code>${esc(p)}</code>${required.has(p) ? ' <span class="req">required</span>' : ''}</td><td>${typeSummary(doc, ps)}</td><td>${md(desc)}${nested ? schemaBlock(doc, isObj(target) && target.type === 'array' ? target.items : target, depth + 1) : ''}</td></tr>`);
    }
    out.push('</tbody></table>');
    out.push(`<p class="muted small">${t.additionalProperties === false ? 'No other fields are allowed.' : 'Other fields are allowed (and ignored).'}</p>`);
  } else if (Array.isArray(t.oneOf)) {
    out.push('<p>One of:</p><ul>');
    for (const b of t.oneOf) out.push(`<li>${typeSummary(doc, b)}${doc.schemaName(b) ? '' : schemaBlock(doc, b, depth + 1)}</li>`);
    out.push('</ul>');
  } else {
    out.push(`<p>${typeSummary(doc, t)}</p>`);
  }
  return out.join('\n');
}

/** Named examples: summary and pretty JSON. */
export function examplesBlock(examples: { name: string; summary?: unknown; value: Json | undefined }[]): string {
  if (examples.length === 0) return '';
  return `<div class="examples">${examples
    .map((e) => `<details><summary>Example <code>${esc(e.name)}</code>${e.summary ? ` — ${mdInline(e.summary)}` : ''}</summary><pre>${esc(JSON.stringify(e.value, null, 2))}</pre></details>`)
    .join('\n')}</div>`;
}

export function infoBlock(info: Obj): string {
  const contact = isObj(info.contact) ? info.contact : {};
  const license = isObj(info.license) ? info.license : {};
  const contactText = [contact.name, contact.email, contact.url].filter((x) => typeof x === 'string').map((x) => esc(x)).join(', ');
  return `<p class="meta">Version <strong>${esc(info.version)}</strong>${contactText ? ` · Contact: ${contactText}` : ''}${typeof license.name === 'string' ? ` · License: ${esc(license.name)}` : ''}</p>`;
}

const CSS = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5c6475; --line: #dde1e8; --bg2: #f5f7fa; --accent: #2651a6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); }
a { color: var(--accent); }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
code { background: var(--bg2); padding: 0 3px; border-radius: 3px; }
pre { background: var(--bg2); padding: 10px; overflow-x: auto; border-radius: 4px; }
pre code { background: none; padding: 0; }
.layout { display: flex; min-height: 100vh; }
nav { width: 290px; flex-shrink: 0; border-right: 1px solid var(--line); padding: 16px; position: sticky; top: 0; height: 100vh; overflow-y: auto; background: #fbfcfd; font-size: 14px; }
nav h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 18px 0 4px; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav li a { display: block; padding: 2px 4px; text-decoration: none; color: var(--fg); border-radius: 3px; overflow-wrap: anywhere; }
nav li a:hover { background: var(--bg2); }
main { flex: 1; min-width: 0; padding: 24px 40px 80px; max-width: 1100px; }
h1 { margin-top: 0; }
h2.group { border-bottom: 2px solid var(--line); padding-bottom: 4px; margin-top: 40px; }
section.item { border: 1px solid var(--line); border-radius: 6px; padding: 12px 18px; margin: 18px 0; }
section.item > h3 { margin: 0 0 6px; font-size: 18px; }
.method { display: inline-block; min-width: 58px; text-align: center; font-weight: 700; font-size: 12px; padding: 2px 6px; border-radius: 3px; color: #fff; background: #5c6475; vertical-align: middle; }
.method.get { background: #2f7d32; } .method.post { background: #2651a6; } .method.put, .method.patch { background: #9a6700; } .method.delete { background: #b3261e; } .method.head { background: #5c6475; }
.method.send { background: #7b3fa0; } .method.receive { background: #00796b; }
.path { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-weight: 600; overflow-wrap: anywhere; }
.muted { color: var(--muted); } .small { font-size: 13px; }
.req { color: #b3261e; font-size: 12px; }
.meta { color: var(--muted); }
table.props { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 14px; }
table.props th, table.props td { border-top: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
table.props th { background: var(--bg2); font-weight: 600; }
table.props td:first-child { white-space: nowrap; }
table.props .md p { margin: 0 0 4px; }
h4 { margin: 14px 0 4px; font-size: 15px; }
.response { margin: 8px 0 8px 8px; }
.status { font-weight: 700; }
details { margin: 4px 0; } details summary { cursor: pointer; }
.examples pre { margin: 4px 0 8px; }
.badge { display: inline-block; border: 1px solid var(--line); border-radius: 10px; padding: 0 8px; font-size: 12px; color: var(--muted); margin-left: 6px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 16px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 16px; }
`;

export function page(opts: { title: string; nav: string; body: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.title)}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<div class="layout">
<nav>${opts.nav}</nav>
<main>
${opts.body}
</main>
</div>
</body>
</html>
`;
}

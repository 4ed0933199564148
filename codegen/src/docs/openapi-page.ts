// The REST reference page from the resolved OpenAPI document: operations grouped by tag (in the
// document's tag order), then every schema of components.schemas.
import { anchor, Doc, esc, examplesBlock, infoBlock, isObj, md, mdInline, type Obj, page, schemaBlock, typeSummary } from './html.js';
import type { DocsUrls } from './build.js';
import type { Json } from './resolve.js';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface RestOp {
  operationId: string;
  method: string;
  path: string;
  op: Obj;
  pathParams: Json[];
}

/** Every operation of the document, in path order. */
export function restOperations(doc: Obj): RestOp[] {
  const out: RestOp[] = [];
  for (const [path, item] of Object.entries(isObj(doc.paths) ? doc.paths : {})) {
    if (!isObj(item)) continue;
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObj(op)) continue;
      out.push({ operationId: String(op.operationId ?? `${method} ${path}`), method, path, op, pathParams: Array.isArray(item.parameters) ? item.parameters : [] });
    }
  }
  return out;
}

export function openapiPage(root: Obj, urls: DocsUrls): string {
  const doc = new Doc(root);
  const info = isObj(root.info) ? root.info : {};
  const ops = restOperations(root);
  const tags: { name: string; description?: Json }[] = (Array.isArray(root.tags) ? root.tags : []).filter(isObj).map((t) => ({ name: String(t.name), description: t.description }));
  for (const o of ops) {
    const t = Array.isArray(o.op.tags) ? String(o.op.tags[0]) : 'other';
    if (!tags.some((x) => x.name === t)) tags.push({ name: t });
  }
  const tagOf = (o: RestOp) => (Array.isArray(o.op.tags) ? String(o.op.tags[0]) : 'other');
  const schemas = Object.keys(isObj(root.components) && isObj(root.components.schemas) ? root.components.schemas : {}).sort();

  const nav: string[] = [`<p><a href="${esc(urls.index)}">← API docs</a></p><p><strong>${esc(info.title)}</strong></p>`];
  for (const t of tags) {
    const mine = ops.filter((o) => tagOf(o) === t.name);
    if (mine.length === 0) continue;
    nav.push(`<h2>${esc(t.name)}</h2><ul>`);
    for (const o of mine) nav.push(`<li><a href="#${anchor('op', o.operationId)}"><span class="method ${esc(o.method)}">${esc(o.method.toUpperCase())}</span> ${esc(o.op.summary ?? o.operationId)}</a></li>`);
    nav.push('</ul>');
  }
  nav.push(`<h2>Schemas</h2><ul>${schemas.map((s) => `<li><a href="#${anchor('schema', s)}">${esc(s)}</a></li>`).join('')}</ul>`);

  const body: string[] = [`<h1>${esc(info.title)}</h1>`, infoBlock(info)];
  if (typeof info.summary === 'string') body.push(`<p><em>${mdInline(info.summary)}</em></p>`);
  body.push(md(info.description));
  body.push(`<p>Machine-readable: <a href="${esc(urls.openapi)}">${esc(urls.openapi)}</a> (OpenAPI ${esc(root.openapi)}, one document).</p>`);
  if (Array.isArray(root.servers)) {
    body.push('<h4>Servers</h4><ul>');
    for (const s of root.servers.filter(isObj)) body.push(`<li><code>${esc(s.url)}</code> ${mdInline(s.description)}</li>`);
    body.push('</ul>');
  }
  for (const t of tags) {
    const mine = ops.filter((o) => tagOf(o) === t.name);
    if (mine.length === 0) continue;
    body.push(`<h2 class="group" id="${anchor('tag', t.name)}">${esc(t.name)}</h2>${md(t.description)}`);
    for (const o of mine) body.push(operation(doc, o));
  }
  body.push('<h2 class="group" id="schemas">Schemas</h2>');
  const comp = (root.components as Obj).schemas as Obj;
  for (const s of schemas) {
    const v = comp[s];
    body.push(`<section class="item schema" id="${anchor('schema', s)}" data-schema="${esc(s)}"><h3>${esc(s)}</h3>${md(isObj(v) ? v.description : undefined)}${schemaBlock(doc, v, 0)}${examplesBlock(isObj(v) && Array.isArray(v.examples) ? v.examples.map((e, i) => ({ name: String(i + 1), value: e })) : [])}</section>`);
  }
  return page({ title: `${String(info.title)} — reference`, nav: nav.join('\n'), body: body.join('\n') });
}

function operation(doc: Doc, o: RestOp): string {
  const { op } = o;
  const out: string[] = [];
  out.push(`<section class="item operation" id="${anchor('op', o.operationId)}" data-operation-id="${esc(o.operationId)}" data-method="${esc(o.method.toUpperCase())}" data-path="${esc(o.path)}">`);
  out.push(`<h3><span class="method ${esc(o.method)}">${esc(o.method.toUpperCase())}</span> <span class="path">${esc(o.path)}</span></h3>`);
  out.push(`<p><strong>${mdInline(op.summary ?? '')}</strong> <span class="badge">${esc(o.operationId)}</span>${op.deprecated ? ' <span class="badge">deprecated</span>' : ''}</p>`);
  out.push(md(op.description));
  const security = Array.isArray(op.security) ? op.security : undefined;
  if (security) {
    const schemes = security.filter(isObj).map((s) => Object.keys(s)).map((k) => (k.length ? k.join(' + ') : 'none'));
    out.push(`<p class="small"><strong>Authentication:</strong> ${schemes.length === 0 || schemes.every((s) => s === 'none') ? 'none' : schemes.map((s) => esc(s)).join(' or ')}</p>`);
  }
  const params = [...o.pathParams, ...(Array.isArray(op.parameters) ? op.parameters : [])].map((p) => doc.deref(p)).filter(isObj);
  if (params.length) {
    out.push('<h4>Parameters</h4><table class="props"><thead><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr></thead><tbody>');
    for (const p of params) out.push(`<tr><td><code>${esc(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ''}</td><td>${esc(p.in)}</td><td>${typeSummary(doc, p.schema)}</td><td>${md(p.description)}</td></tr>`);
    out.push('</tbody></table>');
  }
  const rb = doc.deref(op.requestBody);
  if (isObj(rb) && isObj(rb.content)) {
    out.push(`<h4>Request body${rb.required ? ' <span class="req">required</span>' : ''}</h4>${md(rb.description)}`);
    for (const [type, media] of Object.entries(rb.content)) out.push(mediaBlock(doc, type, media));
  }
  out.push('<h4>Responses</h4>');
  for (const [status, r0] of Object.entries(isObj(op.responses) ? op.responses : {})) {
    const r = doc.deref(r0);
    if (!isObj(r)) continue;
    out.push(`<div class="response" data-status="${esc(status)}"><p><span class="status">${esc(status)}</span> ${mdInline(r.description ?? '')}</p>`);
    if (isObj(r.headers)) {
      const hs = Object.entries(r.headers).map(([h, hv]) => [h, doc.deref(hv)] as const);
      out.push(`<p class="small">Headers: ${hs.map(([h, hv]) => `<code>${esc(h)}</code>${isObj(hv) && typeof hv.description === 'string' ? ` (${mdInline(hv.description)})` : ''}`).join('; ')}</p>`);
    }
    for (const [type, media] of Object.entries(isObj(r.content) ? r.content : {})) out.push(mediaBlock(doc, type, media));
    out.push('</div>');
  }
  out.push('</section>');
  return out.join('\n');
}

function mediaBlock(doc: Doc, type: string, media: Json): string {
  if (!isObj(media)) return '';
  const examples = isObj(media.examples)
    ? Object.entries(media.examples).map(([name, e]) => {
        const ex = doc.deref(e);
        return { name, summary: isObj(ex) ? ex.summary : undefined, value: isObj(ex) ? ex.value : undefined };
      })
    : [];
  return `<div class="media"><p class="small muted">${esc(type)}</p>${schemaBlock(doc, media.schema, 0)}${examplesBlock(examples)}</div>`;
}

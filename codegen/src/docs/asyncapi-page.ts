// The MQTT reference page from the resolved AsyncAPI 3.0 document: broker listeners, protocol numbers
// (x-limits), channels, operations (server's viewpoint), messages, schemas.
import { anchor, Doc, esc, examplesBlock, infoBlock, isObj, md, mdInline, type Obj, page, schemaBlock, typeSummary } from './html.js';
import type { DocsUrls } from './build.js';
import type { Json } from './resolve.js';

const entriesOf = (v: Json | undefined): [string, Json][] => (isObj(v) ? Object.entries(v) : []);

/** The channel id a `$ref: '#/channels/<id>'` names. */
function channelId(ref: Json | undefined): string | undefined {
  const m = isObj(ref) && typeof ref.$ref === 'string' ? /^#\/channels\/([^/]+)$/.exec(ref.$ref) : null;
  return m?.[1];
}

/** The message component a `$ref` (to `#/components/messages/X` or `#/channels/c/messages/X`) ends at. */
function messageName(doc: Doc, ref: Json | undefined): string | undefined {
  let cur = ref;
  for (let i = 0; i < 8; i++) {
    if (!isObj(cur) || typeof cur.$ref !== 'string') return undefined;
    const m = /^#\/components\/messages\/([^/]+)$/.exec(cur.$ref);
    if (m) return m[1];
    cur = getOne(doc, cur.$ref);
  }
  return undefined;
}

function getOne(doc: Doc, ref: string): Json | undefined {
  const segs = ref.replace(/^#\//, '').split('/');
  let v: Json | undefined = doc.root;
  for (const s of segs) v = isObj(v) ? v[s.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return v;
}

function messageLinks(doc: Doc, refs: Json | undefined): string {
  const items = (Array.isArray(refs) ? refs : entriesOf(refs).map(([, v]) => v)).map((r) => messageName(doc, r)).filter((n): n is string => !!n);
  return items.map((n) => `<a href="#${anchor('message', n)}">${esc(n)}</a>`).join(', ');
}

export function asyncapiPage(root: Obj, urls: DocsUrls): string {
  const doc = new Doc(root);
  const info = isObj(root.info) ? root.info : {};
  const channels = entriesOf(root.channels);
  const operations = entriesOf(root.operations);
  const components = isObj(root.components) ? root.components : {};
  const messages = entriesOf(components.messages);
  const schemas = entriesOf(components.schemas).sort(([a], [b]) => a.localeCompare(b));
  const title = (v: Json, fallback: string) => (isObj(v) && typeof v.title === 'string' ? v.title : fallback);

  const nav: string[] = [`<p><a href="${esc(urls.index)}">← API docs</a></p><p><strong>${esc(info.title)}</strong></p>`];
  nav.push('<ul><li><a href="#servers">Broker listeners</a></li><li><a href="#limits">Protocol numbers</a></li></ul>');
  nav.push(`<h2>Channels</h2><ul>${channels.map(([id, c]) => `<li><a href="#${anchor('channel', id)}">${esc(title(c, id))}</a></li>`).join('')}</ul>`);
  nav.push(`<h2>Operations</h2><ul>${operations.map(([id, o]) => `<li><a href="#${anchor('operation', id)}"><span class="method ${esc(isObj(o) ? o.action : '')}">${esc(isObj(o) ? o.action : '')}</span> ${esc(id)}</a></li>`).join('')}</ul>`);
  nav.push(`<h2>Messages</h2><ul>${messages.map(([n]) => `<li><a href="#${anchor('message', n)}">${esc(n)}</a></li>`).join('')}</ul>`);
  nav.push(`<h2>Schemas</h2><ul>${schemas.map(([n]) => `<li><a href="#${anchor('schema', n)}">${esc(n)}</a></li>`).join('')}</ul>`);

  const body: string[] = [`<h1>${esc(info.title)}</h1>`, infoBlock(info), md(info.description)];
  body.push(`<p>Machine-readable: <a href="${esc(urls.asyncapi)}">${esc(urls.asyncapi)}</a> (AsyncAPI ${esc(root.asyncapi)}, one document).</p>`);

  body.push('<h2 class="group" id="servers">Broker listeners</h2>');
  for (const [id, s] of entriesOf(root.servers)) {
    if (!isObj(s)) continue;
    body.push(`<section class="item server" id="${anchor('server', id)}"><h3>${esc(id)} <span class="badge">${esc(s.protocol)} ${esc(s.protocolVersion ?? '')}</span></h3><p><code>${esc(s.host)}${esc(s.pathname ?? '')}</code></p>${md(s.description)}</section>`);
  }

  body.push('<h2 class="group" id="limits">Protocol numbers</h2><table class="props"><thead><tr><th>name</th><th>value</th><th>description</th></tr></thead><tbody>');
  for (const [n, l] of entriesOf(root['x-limits'])) body.push(`<tr><td><code>${esc(n)}</code></td><td>${esc(isObj(l) ? l.value : l)}</td><td>${md(isObj(l) ? l.description : '')}</td></tr>`);
  body.push('</tbody></table>');

  body.push('<h2 class="group" id="channels">Channels</h2>');
  for (const [id, c] of channels) {
    if (!isObj(c)) continue;
    const users = operations.filter(([, o]) => isObj(o) && channelId(o.channel) === id).map(([oid]) => `<a href="#${anchor('operation', oid)}">${esc(oid)}</a>`);
    const replies = operations.filter(([, o]) => isObj(o) && isObj(o.reply) && channelId(o.reply.channel) === id).map(([oid]) => `<a href="#${anchor('operation', oid)}">${esc(oid)}</a> (reply)`);
    body.push(`<section class="item channel" id="${anchor('channel', id)}" data-channel="${esc(id)}" data-address="${esc(c.address)}">`);
    body.push(`<h3>${esc(title(c, id))} <span class="badge">${esc(id)}</span></h3><p class="path">${esc(c.address)}</p>`);
    if (typeof c.summary === 'string') body.push(`<p><strong>${mdInline(c.summary)}</strong></p>`);
    body.push(md(c.description));
    const params = entriesOf(c.parameters).map(([n, p]) => [n, doc.deref(p)] as const);
    if (params.length) {
      body.push('<h4>Parameters</h4><table class="props"><thead><tr><th>name</th><th>type</th><th>description</th></tr></thead><tbody>');
      for (const [n, p] of params) {
        const schema = isObj(p) ? (p['x-schema'] ?? { type: 'string' }) : undefined;
        const enumText = isObj(p) && Array.isArray(p.enum) ? ` one of ${p.enum.map((e) => `<code>${esc(e)}</code>`).join(', ')}` : '';
        body.push(`<tr><td><code>${esc(n)}</code></td><td>${typeSummary(doc, schema)}${enumText}</td><td>${md(isObj(p) ? p.description : '')}</td></tr>`);
      }
      body.push('</tbody></table>');
    }
    body.push(`<p><strong>Messages:</strong> ${messageLinks(doc, c.messages)}</p>`);
    if (users.length + replies.length) body.push(`<p><strong>Operations:</strong> ${[...users, ...replies].join(', ')}</p>`);
    body.push('</section>');
  }

  body.push('<h2 class="group" id="operations">Operations</h2><p class="muted">From the server\'s viewpoint: <em>receive</em> = the server consumes the message, <em>send</em> = the server publishes it.</p>');
  for (const [id, o] of operations) {
    if (!isObj(o)) continue;
    const ch = channelId(o.channel);
    const chObj = ch && isObj(root.channels) ? (root.channels as Obj)[ch] : undefined;
    body.push(`<section class="item mqtt-operation" id="${anchor('operation', id)}" data-operation="${esc(id)}" data-action="${esc(o.action)}">`);
    body.push(`<h3><span class="method ${esc(o.action)}">${esc(o.action)}</span> ${esc(id)}</h3>`);
    body.push(`<p><strong>${esc(o.title ?? '')}</strong>${o.summary ? ` — ${mdInline(o.summary)}` : ''}</p>`);
    if (ch) body.push(`<p class="small">Channel: <a href="#${anchor('channel', ch)}">${esc(ch)}</a> <code>${esc(isObj(chObj) ? chObj.address : '')}</code></p>`);
    body.push(md(o.description));
    body.push(`<p><strong>Messages:</strong> ${messageLinks(doc, o.messages)}</p>`);
    if (isObj(o.reply)) {
      const rc = channelId(o.reply.channel);
      body.push(`<p><strong>Reply</strong> on <a href="#${anchor('channel', rc ?? '')}">${esc(rc)}</a>: ${messageLinks(doc, o.reply.messages)}</p>`);
    }
    const codes = entriesOf(o['x-error-codes']);
    if (isObj(o['x-error-codes'])) {
      body.push(codes.length === 0 ? '<p class="small">Error codes: none (the handler never fails on its own).</p>' : `<h4>Error codes</h4><table class="props"><tbody>${codes.map(([code, when]) => `<tr><td><code>${esc(code)}</code></td><td>${md(when)}</td></tr>`).join('')}</tbody></table>`);
    }
    body.push('</section>');
  }

  body.push('<h2 class="group" id="messages">Messages</h2>');
  for (const [n, m0] of messages) {
    const m = doc.deref(m0);
    if (!isObj(m)) continue;
    const examples = (Array.isArray(m.examples) ? m.examples : []).filter(isObj).map((e, i) => ({ name: String(e.name ?? i + 1), summary: e.summary, value: e.payload }));
    body.push(`<section class="item message" id="${anchor('message', n)}" data-message="${esc(n)}"><h3>${esc(m.title ?? n)} <span class="badge">${esc(n)}</span></h3>`);
    if (typeof m.summary === 'string') body.push(`<p><strong>${mdInline(m.summary)}</strong></p>`);
    body.push(md(m.description));
    body.push(`<p class="small muted">${esc(m.contentType ?? '')}</p>${schemaBlock(doc, m.payload, 0)}${examplesBlock(examples)}</section>`);
  }

  body.push('<h2 class="group" id="schemas">Schemas</h2>');
  for (const [n, v] of schemas) {
    body.push(`<section class="item schema" id="${anchor('schema', n)}" data-schema="${esc(n)}"><h3>${esc(n)}</h3>${md(isObj(v) ? v.description : undefined)}${schemaBlock(doc, v, 0)}</section>`);
  }
  return page({ title: `${String(info.title)} — reference`, nav: nav.join('\n'), body: body.join('\n') });
}

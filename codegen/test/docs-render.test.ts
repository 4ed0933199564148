// The docs renderer (codegen/src/docs) on small documents written by the test: descriptions are
// Markdown whose raw HTML is shown, not run; nothing in a page loads anything; the page links come
// from the docs operations' paths; a document without them is refused, naming the operation.
import { describe, expect, it } from 'vitest';
import { renderDocs } from '../src/docs/build.js';
import type { Json } from '../src/docs/resolve.js';

const docsPaths = (prefix: string): Record<string, Json> => Object.fromEntries(
  [['getDocsIndex', ''], ['getRestDocs', '/rest'], ['getMqttDocs', '/mqtt'], ['getOpenApiDocument', '/o.json'], ['getAsyncApiDocument', '/a.json']]
    .map(([id, p]) => [`${prefix}${p}`, { get: { operationId: id, description: 'd', responses: {} } }]),
);

function openapi(description: string, prefix = '/help'): Record<string, Json> {
  return {
    openapi: '3.1.0',
    info: { title: 'T', version: '1', contact: { name: 'C', url: 'https://c.example' }, license: { name: 'L' } },
    paths: {
      '/thing/{id}': { get: { operationId: 'getThing', tags: ['things'], summary: 'Get a thing', description, responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' }, examples: { one: { summary: 'One thing.', value: { id: 1 } } } } } } } } },
      ...docsPaths(prefix),
    },
    components: { schemas: { Thing: { title: 'Thing', description: 'A thing.', type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['id'], additionalProperties: false } } },
  };
}
const asyncapi: Record<string, Json> = {
  asyncapi: '3.0.0',
  info: { title: 'M', version: '1' },
  channels: { thingNew: { address: 'things/{id}/new', title: 'New thing', messages: { Thing: { $ref: '#/components/messages/Thing' } } } },
  operations: { sendThingNew: { action: 'send', channel: { $ref: '#/channels/thingNew' }, description: 'Announces a thing.', messages: [{ $ref: '#/channels/thingNew/messages/Thing' }] } },
  components: { messages: { Thing: { name: 'Thing', payload: { $ref: '#/components/schemas/Thing' }, examples: [{ name: 'one', payload: { id: 1 } }] } }, schemas: { Thing: { type: 'object', title: 'Thing', properties: { id: { type: 'integer' } } } } },
};

describe('docs renderer', () => {
  it('renders Markdown descriptions, shows raw HTML as text and turns an image into a link', () => {
    const out = renderDocs({ openapi: openapi('Reads **one** thing.\n\n<script>alert(1)</script>\n\nSee ![logo](https://cdn.example/l.png).'), asyncapi });
    const rest = out['rest.html'];
    expect(rest).toContain('<strong>one</strong>');
    expect(rest).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(rest).toContain('<a href="https://cdn.example/l.png">logo</a>');
    expect(rest).not.toMatch(/<script|<img|\ssrc=/);
    expect(rest).toContain('data-operation-id="getThing" data-method="GET" data-path="/thing/{id}"');
    expect(rest).toContain('<a class="schema-link" href="#schema-Thing">Thing</a>');
    expect(out['mqtt.html']).toContain('data-channel="thingNew" data-address="things/{id}/new"');
    expect(out['mqtt.html']).toContain('data-operation="sendThingNew" data-action="send"');
    expect(JSON.parse(out['openapi.json'])).toEqual(openapi('Reads **one** thing.\n\n<script>alert(1)</script>\n\nSee ![logo](https://cdn.example/l.png).'));
  });

  it('links the pages at the paths of the docs operations, and the same input gives the same bytes', () => {
    const a = renderDocs({ openapi: openapi('x', '/guide'), asyncapi });
    expect(a['index.html']).toContain('href="/guide/rest"');
    expect(a['index.html']).toContain('href="/guide/a.json"');
    expect(a['mqtt.html']).toContain('href="/guide">← API docs');
    expect(renderDocs({ openapi: openapi('x', '/guide'), asyncapi })).toEqual(a);
  });

  it('refuses a document without the docs operations, naming the one missing', () => {
    const doc = openapi('x');
    delete (doc.paths as Record<string, Json>)['/help/mqtt'];
    expect(() => renderDocs({ openapi: doc, asyncapi })).toThrow("spec/openapi.yaml has no GET operation 'getMqttDocs': the docs are served at its path");
  });
});

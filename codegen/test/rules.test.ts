// Each rule of our own, on a small spec written by the test: the exact message and the exact location.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAndCheck } from '../src/check/index.js';
import { formatDiagnostic } from '../src/diagnostics.js';

const OPENAPI = `openapi: 3.1.0
info: {title: t, version: '1'}
paths: {}
`;

/** A minimal AsyncAPI document with one request channel; `extra` replaces parts of it. */
function asyncapi(parts: { payload?: string; operations?: string; examples?: string; param?: string }): string {
  return `asyncapi: 3.0.0
info: {title: t, version: '1'}
channels:
  req:
    address: 'p/{player_key}/request/{request_id}'
    parameters:
      player_key:
${parts.param ?? "        x-schema: {$ref: './components/ids.yaml#/Key'}"}
      request_id:
        x-schema: {type: string}
    messages:
      Ping:
        $ref: '#/components/messages/Ping'
operations:
${parts.operations ?? `  receivePing:
    action: receive
    channel: {$ref: '#/channels/req'}
    x-error-codes: {}
    messages: [{$ref: '#/channels/req/messages/Ping'}]
    reply:
      channel: {$ref: '#/channels/req'}
      messages: [{$ref: '#/channels/req/messages/Ping'}]`}
components:
  messages:
    Ping:
      name: Ping
      payload: {$ref: '#/components/schemas/Ping'}
      examples:
${parts.examples ?? `        - name: one
          payload: {request_id: r1, n: 1}`}
  schemas:
    Ping:
      title: Ping
      type: object
${parts.payload ?? `      properties:
        request_id: {type: string}
        n: {type: integer, minimum: 0, maximum: 5}
      required: [request_id]`}
`;
}

/** "line:col" (1-based) of `token` on the first line of `doc` that contains `lineText`. */
function pos(doc: string, lineText: string, token: string): string {
  const lines = doc.split('\n');
  const i = lines.findIndex((l) => l.includes(lineText));
  if (i < 0) throw new Error(`no line with ${lineText}`);
  return `${i + 1}:${lines[i].indexOf(token, lines[i].indexOf(lineText)) + 1}`;
}

async function checked(doc: string, files: Record<string, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'makapix-rules-'));
  mkdirSync(join(root, 'spec/components'), { recursive: true });
  writeFileSync(join(root, 'spec/asyncapi.yaml'), doc);
  writeFileSync(join(root, 'spec/openapi.yaml'), files['openapi.yaml'] ?? OPENAPI);
  writeFileSync(join(root, 'spec/components/ids.yaml'), files['ids.yaml'] ?? 'Key:\n  title: Key\n  type: string\n  format: uuid\n');
  return loadAndCheck({ root, asyncapi: 'spec/asyncapi.yaml', openapi: 'spec/openapi.yaml' }, { parsers: false });
}

async function check(doc: string, files: Record<string, string> = {}, openapi?: string) {
  return (await checked(doc, openapi === undefined ? files : { ...files, 'openapi.yaml': openapi })).diagnostics.sorted().map(formatDiagnostic);
}

describe('spec rules', () => {
  it('accepts the minimal document', async () => {
    expect(await check(asyncapi({}))).toEqual([]);
  });

  it('example-invalid: names the example, the field and the line of the value', async () => {
    const doc = asyncapi({ examples: '        - name: too_big\n          payload: {request_id: r1, n: 9}' });
    const out = await check(doc);
    expect(out).toEqual([
      `spec/asyncapi.yaml:${pos(doc, 'n: 9', '9')} error` + " [example-invalid] message 'Ping' example 'too_big': /n must be <= 5\n" +
        '    at /components/messages/Ping/examples/0/payload/n\n' +
        '    hint: make the example match the schema, or fix the schema if the example is right',
    ]);
  });

  it('example-missing: a message without examples', async () => {
    const doc = asyncapi({ examples: '        []' });
    const out = await check(doc);
    expect(out[0]).toBe(
      `spec/asyncapi.yaml:${pos(doc, '      name: Ping', 'name')} error` + " [example-missing] message 'Ping' has no example\n" +
        '    at /components/messages/Ping\n' +
        '    hint: add examples: [{name, summary, payload}]',
    );
  });

  it('example-name: an example without a name', async () => {
    const doc = asyncapi({ examples: '        - payload: {request_id: r1}' });
    const out = await check(doc);
    expect(out.map((l) => l.split('\n')[0])).toContain(`spec/asyncapi.yaml:${pos(doc, '- payload: {request_id', 'payload')} error [example-name] message 'Ping': example 0 has no name`);
  });

  it('named-types: an inline object without a title', async () => {
    const doc = asyncapi({ payload: '      properties:\n        request_id: {type: string}\n        inner: {type: object, properties: {a: {type: string}}}\n      required: [request_id]' });
    const out = await check(doc);
    expect(out).toEqual([
      `spec/asyncapi.yaml:${pos(doc, 'inner: {', '{')} error` + " [named-types] schema 'Ping': inline object at /components/schemas/Ping/properties/inner has no title, so generated models would call it AnonymousSchema\n" +
        '    at /components/schemas/Ping/properties/inner\n' +
        '    hint: give it a PascalCase title, or move it to components and $ref it',
    ]);
  });

  it('oneof-discriminator: a oneOf whose branches share no const tag', async () => {
    const payload = '      properties:\n        request_id: {type: string}\n        v:\n          oneOf:\n            - {title: A, type: object, properties: {k: {const: a}}, required: [k]}\n            - {title: B, type: object, properties: {k: {type: string}}, required: [k]}\n      required: [request_id]';
    const doc = asyncapi({ payload });
    const out = await check(doc);
    expect(out).toEqual([
      `spec/asyncapi.yaml:${pos(doc, '            - {title: A', '-')} error` + " [oneof-discriminator] schema 'Ping': oneOf at /components/schemas/Ping/properties/v has no required property with a distinct const value in every branch\n" +
        '    at /components/schemas/Ping/properties/v/oneOf\n' +
        '    hint: add a required discriminator property (e.g. request_type: {const: ...}) to every branch',
    ]);
  });

  it('request-reply: a request operation without a reply', async () => {
    const operations = "  receivePing:\n    action: receive\n    channel: {$ref: '#/channels/req'}\n    messages: [{$ref: '#/channels/req/messages/Ping'}]";
    const doc = asyncapi({ operations });
    const out = await check(doc);
    expect(out).toEqual([
      `spec/asyncapi.yaml:${pos(doc, '    action: receive', 'action')} error` + " [request-reply] operation 'receivePing' receives a request but declares no reply\n" +
        '    at /operations/receivePing\n' +
        '    hint: add reply: {channel: {$ref: ...}, messages: [...]}',
    ]);
  });

  it('request-error-codes: a request operation that does not list its error codes, or lists one ErrorCode lacks', async () => {
    const withCodes = (codes: string) => `  receivePing:\n    action: receive\n    channel: {$ref: '#/channels/req'}\n${codes}    messages: [{$ref: '#/channels/req/messages/Ping'}]\n    reply:\n      channel: {$ref: '#/channels/req'}\n      messages: [{$ref: '#/channels/req/messages/Ping'}]`;
    const missing = asyncapi({ operations: withCodes('') });
    expect(await check(missing)).toEqual([
      `spec/asyncapi.yaml:${pos(missing, '    action: receive', 'action')} error` + " [request-error-codes] operation 'receivePing' does not list the error codes its handler may answer\n" +
        '    at /operations/receivePing\n' +
        '    hint: add x-error-codes: {<error_code>: <when it is answered>} (an empty map {} when the handler never fails)',
    ]);
    const ids = 'Key:\n  title: Key\n  type: string\n  format: uuid\nErrorCode:\n  title: ErrorCode\n  type: string\n  enum: [not_found, invalid_request]\n';
    const unknown = asyncapi({ operations: withCodes('    x-error-codes:\n      not_found: no such post\n      teapot: never\n') });
    expect(await check(unknown, { 'ids.yaml': ids })).toEqual([
      `spec/asyncapi.yaml:${pos(unknown, '      teapot: never', 'never')} error` + " [request-error-codes] operation 'receivePing': x-error-codes lists 'teapot', which is not an ErrorCode\n" +
        '    at /operations/receivePing/x-error-codes/teapot\n' +
        '    hint: use one of not_found, invalid_request, or add the code to ErrorCode in spec/components/errors.yaml',
    ]);
  });

  it('rest-error-codes: an error response without an error_code example, a secured operation without 401', async () => {
    const openapi = `openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /thing:
    get:
      operationId: getThing
      security: [{bearerAuth: []}]
      responses:
        '204': {description: none}
        '404':
          description: no thing
          content:
            application/json:
              schema: {$ref: '#/components/schemas/RestError'}
              examples: {none: {summary: empty, value: {error: gone}}}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
  schemas:
    RestError:
      title: RestError
      type: object
      properties: {error_code: {type: string}, error: {type: string}}
      required: [error]
`;
    const out = (await check(asyncapi({}), {}, openapi)).map((l) => l.split('\n')[0]);
    expect(out).toEqual([
      `spec/openapi.yaml:${pos(openapi, '      operationId: getThing', 'operationId')} error [rest-error-codes] getThing: needs a bearer token but documents no 401 authentication_failed answer`,
      `spec/openapi.yaml:${pos(openapi, "schema: {$ref: '#/components/schemas/RestError'}", '{')} error [rest-error-codes] getThing: error response 404 shows no error_code in its examples, so no handler could answer it`,
    ]);
  });

  it('integer-bounds: an integer without a maximum', async () => {
    const doc = asyncapi({ payload: '      properties:\n        request_id: {type: string}\n        n: {type: integer, minimum: 1}\n      required: [request_id]' });
    expect(await check(doc)).toEqual([
      `spec/asyncapi.yaml:${pos(doc, 'n: {type: integer, minimum: 1}', '{')} error` + " [integer-bounds] schema 'Ping': integer at /components/schemas/Ping/properties/n has no maximum, so a value the database column cannot hold would pass validation\n" +
        '    at /components/schemas/Ping/properties/n\n' +
        '    hint: give it minimum and maximum (at most 2147483647 for an integer column)',
    ]);
  });

  it('ref-unresolved: a $ref to a missing file and to a missing name', async () => {
    const doc = asyncapi({ param: "        x-schema: {$ref: './components/ids.yaml#/Nope'}" });
    const missingName = await check(doc);
    expect(missingName[0]).toBe(
      `spec/asyncapi.yaml:${pos(doc, "'./components/ids.yaml#/Nope'", "'")} error` + " [ref-unresolved] $ref './components/ids.yaml#/Nope': nothing at '/Nope' in spec/components/ids.yaml\n" +
        '    at /components/parameters/player_key/x-schema/$ref'.replace('/components/parameters/player_key', '/channels/req/parameters/player_key') + '\n' +
        '    hint: check the name of the referenced schema or message',
    );
    const missingFile = await check(asyncapi({ param: "        x-schema: {$ref: './components/nope.yaml#/Key'}" }));
    expect(missingFile[0]).toMatch(/^spec\/asyncapi\.yaml:8:26 error \[ref-unresolved\] \$ref '\.\/components\/nope\.yaml#\/Key': file '\.\/components\/nope\.yaml' does not exist\n/);
  });

  it('channel-parameter-type: a parameter without x-schema', async () => {
    const out = await check(asyncapi({ param: '        description: the key' }));
    expect(out[0]).toBe(
      "spec/asyncapi.yaml:8:9 error [channel-parameter-type] channel 'req': parameter 'player_key' has no x-schema, so its type is unknown\n" +
        '    at /channels/req/parameters/player_key\n' +
        "    hint: add x-schema: {$ref: './components/identifiers.yaml#/...'}",
    );
  });

  it('a multipart/form-data body: its examples are checked, it is modelled beside the JSON body; x-handwritten-route is read', async () => {
    const openapi = `openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /up:
    post:
      operationId: upload
      x-handwritten-route: true
      requestBody:
        required: true
        content:
          application/json:
            schema: {title: UpJson, type: object, properties: {t: {type: string}}, additionalProperties: false}
            examples: {one: {value: {t: a}}}
          multipart/form-data:
            schema: {title: UpForm, type: object, properties: {t: {type: string, maxLength: 2}, f: {type: string, contentMediaType: image/png}}, additionalProperties: false}
            examples: {long: {value: {t: abc, f: (bytes)}}}
      responses:
        '204': {description: done}
`;
    const c = await checked(asyncapi({}), { 'openapi.yaml': openapi });
    expect(c.diagnostics.sorted().map(formatDiagnostic)).toEqual([
      `spec/openapi.yaml:${pos(openapi, 'long:', 'abc')} error` + " [example-invalid] upload multipart request body example 'long': /t must NOT have more than 2 characters\n" +
        '    at /paths/~1up/post/requestBody/content/multipart~1form-data/examples/long/value/t\n' +
        '    hint: make the example match the schema, or fix the schema if the example is right',
    ]);
    const op = c.model.rest[0]!;
    expect(op.handwritten).toBe(true);
    expect(op.body?.multipart?.schema.pointer).toBe('/paths/~1up/post/requestBody/content/multipart~1form-data/schema');
    expect(op.body?.multipart?.examples.map((e) => e.name)).toEqual(['long']);
  });

  it('yaml-syntax: a broken component file', async () => {
    const out = await check(asyncapi({}), { 'ids.yaml': 'Key:\n  title: Key\n  type: [string\n' });
    expect(out.some((l) => /^spec\/components\/ids\.yaml:\d+:\d+ error \[yaml-syntax\]/.test(l))).toBe(true);
  });
});

import { resolve } from 'node:path';
import type { Diagnostics } from '../diagnostics.js';
import { joinPointer } from '../load/pointer.js';
import type { Loc, SpecSet } from '../load/spec-set.js';

type Obj = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasText = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';

/**
 * Rule `docs-complete`: what the published docs (`make docs`) need from both documents: `info.contact`
 * (a name and a url or email), `info.license` (a name) and a description on every operation (REST
 * and MQTT). Run by `lint` (with the parsers), not by `generate`: it is about the published text.
 */
export function checkPublication(specs: SpecSet, input: { root: string; asyncapi: string; openapi: string }, ds: Diagnostics): void {
  const problem = (loc: Loc, message: string, hint: string) =>
    ds.add({ rule: 'docs-complete', severity: 'error', file: loc.file.rel, ...loc.file.locate(loc.pointer), pointer: loc.pointer, message, hint });

  for (const rel of [input.asyncapi, input.openapi]) {
    const file = specs.file(resolve(input.root, rel));
    if (!file || !isObj(file.value)) continue; // reported by the loader
    const doc = file.value;
    const at = (...segs: (string | number)[]): Loc => ({ file, pointer: joinPointer('', ...segs) });
    const info = isObj(doc.info) ? doc.info : {};
    const contact = info.contact;
    if (!isObj(contact) || !hasText(contact.name) || !(hasText(contact.url) || hasText(contact.email))) {
      problem(isObj(contact) ? at('info', 'contact') : at('info'), `${rel}: info.contact needs a name and a url or email`,
        'add info.contact: {name: ..., url: ...} (who answers questions about this contract)');
    }
    const license = info.license;
    if (!isObj(license) || !hasText(license.name)) {
      problem(isObj(license) ? at('info', 'license') : at('info'), `${rel}: info.license needs a name`,
        'add info.license: {name: ...} (and its url, or an SPDX identifier in OpenAPI)');
    }

    if (typeof doc.asyncapi === 'string' && isObj(doc.operations)) {
      for (const id of Object.keys(doc.operations)) {
        const loc = specs.deref(at('operations', id));
        const op = loc && specs.value(loc);
        if (!loc || !isObj(op) || hasText(op.description)) continue;
        problem(loc, `operation '${id}' has no description`,
          'add a description: what the server does with this message (or when it sends it), and the rules that apply');
      }
    }
    if (typeof doc.openapi === 'string' && isObj(doc.paths)) {
      for (const [path, item] of Object.entries(doc.paths)) {
        if (!isObj(item)) continue;
        for (const method of METHODS) {
          const op = item[method];
          if (!isObj(op) || hasText(op.description)) continue;
          const name = typeof op.operationId === 'string' ? op.operationId : `${method.toUpperCase()} ${path}`;
          problem(at('paths', path, method), `operation '${name}' has no description`,
            'add a description: what the operation does, who may call it, and when each error is answered');
        }
      }
    }
  }
}

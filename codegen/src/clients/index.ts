import { GoGenerator, JavaGenerator, PythonGenerator, RustGenerator, TypeScriptGenerator } from '@asyncapi/modelina';
import type { Checked } from '../check/index.js';
import { GENERATED_BY } from '../version.js';
import { declarations, ROOT_TITLE } from './decls.js';
import { clientInput, modelinaRoot } from './input.js';
import { renderGo } from './lang/go.js';
import { renderJava } from './lang/java.js';
import { MODELINA_LANGUAGES, renderWithModelina } from './lang/modelina-only.js';
import { renderPython } from './lang/python.js';
import { readmes } from './readmes.js';
import { renderRust } from './lang/rust.js';
import { renderTypeScript } from './lang/typescript.js';

/** The lines every client file starts with (as comments in its language). */
function banner(c: Checked): string[] {
  return [
    GENERATED_BY,
    `Source: ${[c.model.sources.asyncapi, c.model.sources.openapi].join(', ')} (through Modelina, see codegen/src/clients/)`,
    'Regenerate with `make clients` (or `make generate`); `make check-generated` fails when this file drifts.',
  ];
}

/** Every client model file, by path under generated/ (`clients/<language>/...`). */
export async function emitClients(c: Checked): Promise<Map<string, string>> {
  const input = clientInput(c);
  const root = modelinaRoot(input, ROOT_TITLE);
  const b = banner(c);
  const files = new Map<string, string>();
  const add = (lang: string, m: Map<string, string>) => {
    for (const [p, t] of m) files.set(`clients/${lang}/${p}`, t);
  };
  add('typescript', renderTypeScript(await declarations(new TypeScriptGenerator(), input, root), b));
  add('go', renderGo(await declarations(new GoGenerator(), input, root), b));
  add('rust', renderRust(await declarations(new RustGenerator(), input, root), b, specVersion(c)));
  add('java', renderJava(await declarations(new JavaGenerator(), input, root), b));
  add('python', renderPython(await declarations(new PythonGenerator(), input, root), b, specVersion(c)));
  for (const lang of MODELINA_LANGUAGES) add(lang.dir, await renderWithModelina(lang, input, root, ROOT_TITLE, b));
  for (const [p, t] of readmes(GENERATED_BY, input.unions.map((u) => u.name))) files.set(`clients/${p}`, t);
  return new Map([...files.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/** The AsyncAPI document's info.version: the version of the packages the clients get. */
function specVersion(c: Checked): string {
  const file = c.model.channels[0]?.loc.file;
  const v = file ? c.specs.value({ file, pointer: '/info/version' }) : undefined;
  return typeof v === 'string' ? v : '0.0.0';
}

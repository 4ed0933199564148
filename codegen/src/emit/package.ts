// The files that make generated/ the npm workspace `@makapix/contract`: package.json (its exports
// map, one entry per generated module and the runtime), runtime.ts (the runtime under the package's
// name), README.md and CHANGELOG.md. In the checkout the exports point at the TypeScript sources
// (tsx, vitest and tsc read them, no build step); `codegen/src/packages/build.ts` compiles them and
// writes the published manifest, whose entries point at the JavaScript and its .d.ts.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import {
  CONTRACT_DEPENDENCIES, CONTRACT_OPTIONAL_PEERS, CONTRACT_PACKAGE_NOTES, CONTRACT_PACKAGE, CONTRACT_PACKAGE_PATCH, CONTRACT_PEER_DEPENDENCIES,
  GENERATED_BY, RUNTIME_ENTRY,
} from '../version.js';

/** The private workspace (codegen/runtime/package.json) the runtime entry resolves to in the checkout. */
export const RUNTIME_SOURCE_PACKAGE = '@makapix/runtime';

export interface PackageInput {
  root: string;
  asyncapi: string;
  openapi: string;
}

function infoVersion(root: string, file: string): string {
  const doc = parse(readFileSync(resolve(root, file), 'utf8')) as { info?: { version?: unknown } } | null;
  const v = doc?.info?.version;
  if (typeof v !== 'string' || !/^\d+\.\d+\.\d+$/.test(v)) {
    throw new Error(`${file}: info.version must be a version like 1.1.0 (got ${JSON.stringify(v)}); the package version follows it`);
  }
  return v;
}

/** The package version: the spec's major.minor and the package's own patch number. */
export function contractVersion(input: PackageInput): string {
  const a = infoVersion(input.root, input.asyncapi);
  const o = infoVersion(input.root, input.openapi);
  const mm = (v: string) => v.split('.').slice(0, 2).join('.');
  if (mm(a) !== mm(o)) {
    throw new Error(`${input.asyncapi} info.version ${a} and ${input.openapi} info.version ${o} differ in major.minor: the package has one version`);
  }
  return `${mm(a)}.${CONTRACT_PACKAGE_PATCH}`;
}

/** `asyncapi/channels.ts` -> `./asyncapi/channels`; index.ts is the package root. */
function subpath(file: string): string {
  return file === 'index.ts' ? '.' : `./${file.replace(/\.ts$/, '')}`;
}

function emitManifest(version: string, modules: string[]): string {
  const exports: Record<string, string> = {};
  for (const m of [...modules].sort((a, b) => subpath(a).localeCompare(subpath(b)))) exports[subpath(m)] = `./${m}`;
  exports['./package.json'] = './package.json';
  const manifest = {
    name: CONTRACT_PACKAGE,
    version,
    description: 'Makapix Club player protocol (MQTT + REST): TypeBox schemas and compiled validators, topic templates, typed MQTT publishers, subscribers and requests, the typed REST client and types, the spec examples, and the runtime they call. Generated from spec/ by makapix codegen.',
    type: 'module',
    license: 'UNLICENSED',
    keywords: ['makapix', 'mqtt', 'asyncapi', 'openapi', 'typebox'],
    sideEffects: false,
    engines: { node: '>=20.19 <21 || >=22' },
    imports: { [RUNTIME_ENTRY]: RUNTIME_SOURCE_PACKAGE },
    exports,
    dependencies: { ...CONTRACT_DEPENDENCIES },
    peerDependencies: { ...CONTRACT_PEER_DEPENDENCIES },
    peerDependenciesMeta: Object.fromEntries(CONTRACT_OPTIONAL_PEERS.map((p) => [p, { optional: true }])),
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

function emitRuntimeReexport(): string {
  return [
    `// ${GENERATED_BY}`,
    '// Source: codegen/runtime/ (the runtime generated code calls), exported as `@makapix/contract/runtime`.',
    '// Regenerate with `make generate`; `make check-generated` fails when this file drifts.',
    '',
    `export * from '${RUNTIME_ENTRY}';`,
    '',
  ].join('\n');
}

function emitReadme(version: string, modules: string[]): string {
  const lines = [
    `# ${CONTRACT_PACKAGE} ${version}`,
    '',
    `<!-- ${GENERATED_BY} Source: spec/. -->`,
    '',
    'The Makapix Club player protocol (MQTT + REST) as TypeScript: generated from the AsyncAPI and',
    'OpenAPI documents of the Makapix Contract repository (`spec/`), compiled to ES modules with',
    '`.d.ts`. The package version follows the spec: 1.1.x is the protocol 1.1 (see CHANGELOG.md).',
    '',
    '```sh',
    `npm install ${CONTRACT_PACKAGE} mqtt`,
    '```',
    '',
    'Validators check exactly what the spec says (`Validator.check`, `.issues`, `.explain`); publishers',
    'validate before they send; subscribers and `Requester` validate what arrives. `mqtt` (5.x) is a',
    'peer dependency: you pass your own client. `fastify` is an optional peer, used only by the',
    'types of the server-side route registration.',
    '',
    '| import | what it holds |',
    '|---|---|',
  ];
  const what: Record<string, string> = {
    '.': 'every module below as a namespace',
    './asyncapi/catalog': 'request types and their documented error codes',
    './asyncapi/channels': 'channels: topic templates, compiled validators, message types',
    './asyncapi/examples': "the AsyncAPI document's named examples",
    './asyncapi/limits': "the spec's protocol numbers (x-limits)",
    './asyncapi/operations': 'typed publishers and subscribers, request specs (`queryPostsRequest`, ...), `request*` functions',
    './asyncapi/schemas': 'TypeBox schemas of the MQTT payloads',
    './components/errors': 'the error codes',
    './components/identifiers': 'shared identifier schemas',
    './components/post': 'post schemas',
    './openapi/client': 'the typed REST client (`createClient`)',
    './openapi/examples': "the OpenAPI document's named examples",
    './openapi/routes': 'the REST route table and handler types (server side)',
    './openapi/schemas': 'TypeBox schemas of the REST bodies',
    './openapi/types': 'openapi-typescript types of every path',
    './runtime': 'the runtime: `compileValidator`, `MessageRouter`, `Requester`, `publish`, topic templates, the REST transport',
  };
  for (const m of [...modules].map(subpath).sort()) {
    const name = m === '.' ? CONTRACT_PACKAGE : `${CONTRACT_PACKAGE}/${m.slice(2)}`;
    lines.push(`| \`${name}\` | ${what[m] ?? 'generated module'} |`);
  }
  lines.push('');
  return lines.join('\n');
}

/** The package's changelog: its own preamble, then the spec's changelog version by version. */
function emitChangelog(root: string, version: string): string {
  if (!CONTRACT_PACKAGE_NOTES.some(([v]) => v === version)) {
    throw new Error(`codegen/src/version.ts: CONTRACT_PACKAGE_NOTES has no entry for the package version ${version}; add what it changed`);
  }
  const spec = readFileSync(resolve(root, 'spec/CHANGELOG.md'), 'utf8');
  const body = spec.slice(Math.max(0, spec.search(/^## /m)));
  return [
    `# Changelog of ${CONTRACT_PACKAGE}`,
    '',
    `<!-- ${GENERATED_BY} Source: spec/CHANGELOG.md. -->`,
    '',
    "The package's major.minor is the protocol version of `spec/`; its patch counts releases of the",
    'package for that protocol version. A package version contains what the protocol version of the',
    'same major.minor added, below (from the spec\'s changelog).',
    '',
    ...CONTRACT_PACKAGE_NOTES.flatMap(([v, note]) => [`## Package ${v}`, '', note, '']),
    body.replace(/^## (\d+)\.(\d+)\.(\d+)/gm, '## Protocol $1.$2.$3 (package $1.$2.x)').trimEnd(),
    '',
  ].join('\n');
}

/**
 * The generated files the package exports: the TypeScript modules, not the client models in other
 * languages (`clients/`, which are not part of the npm package).
 */
export function packageModules(generated: Iterable<string>): string[] {
  return [...generated].filter((p) => p.endsWith('.ts') && !p.startsWith('clients/')).sort();
}

/** generated/package.json, runtime.ts, README.md, CHANGELOG.md, by path relative to generated/ (given every generated path). */
export function emitPackageFiles(input: PackageInput, generated: Iterable<string>): Map<string, string> {
  const version = contractVersion(input);
  const all = [...packageModules(generated), 'runtime.ts'];
  return new Map([
    ['package.json', emitManifest(version, all)],
    ['runtime.ts', emitRuntimeReexport()],
    ['README.md', emitReadme(version, all)],
    ['CHANGELOG.md', emitChangelog(input.root, version)],
  ]);
}

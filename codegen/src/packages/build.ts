#!/usr/bin/env tsx
/**
 * `make packages`: compiles @makapix/contract (generated/ and the runtime, codegen/runtime/) and
 * @makapix/conformance (conformance/src/, without the repo-only local.ts) with tsc to ES modules and
 * .d.ts, stages each as the package users install (manifest rewritten from the workspace's: exports
 * to the .js/.d.ts, the runtime entry to the compiled runtime, the bins to the compiled CLIs), checks
 * that the compiled code imports only what the manifest declares, and packs both with `npm pack`.
 *
 *   npx tsx codegen/src/packages/build.ts [--out DIR]     (default .packages/)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_ENTRY } from '../version.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');

export interface PackedPackage {
  name: string;
  version: string;
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Bytes of the .tgz, and of the files inside it. */
  packedBytes: number;
  unpackedBytes: number;
  files: number;
  /** The manifest's exports (subpaths) or bins. */
  exports: string[];
  bins: string[];
}

export interface BuildResult {
  contract: PackedPackage;
  conformance: PackedPackage;
  compileMs: number;
}

export class PackageBuildError extends Error {
  override readonly name = 'PackageBuildError';
}

type Manifest = {
  name: string;
  version: string;
  private?: boolean;
  imports?: Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [k: string]: unknown;
};

const readJson = (file: string): Manifest => JSON.parse(readFileSync(file, 'utf8')) as Manifest;
const writeJson = (file: string, value: unknown) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new PackageBuildError(`${[cmd, ...args].join(' ')} failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  }
  return r.stdout;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out.sort();
}

/** The published manifest of @makapix/contract: the workspace's, with every entry on the compiled files. */
function contractManifest(ws: Manifest): Manifest {
  const exports: Record<string, string | Record<string, string>> = {};
  for (const [sub, target] of Object.entries(ws.exports ?? {})) {
    if (typeof target !== 'string') throw new PackageBuildError(`generated/package.json exports["${sub}"]: expected a path`);
    exports[sub] = target.endsWith('.ts') ? { types: target.replace(/\.ts$/, '.d.ts'), default: target.replace(/\.ts$/, '.js') } : target;
  }
  return { ...ws, imports: { [RUNTIME_ENTRY]: './runtime/index.js' }, exports };
}

/** The published manifest of @makapix/conformance: compiled bins, the exact contract version it was built with. */
function conformanceManifest(ws: Manifest, contractVersion: string): Manifest {
  if (ws.version !== contractVersion) {
    throw new PackageBuildError(`conformance/package.json version ${ws.version} differs from @makapix/contract ${contractVersion} (generated/package.json): the two are released together; set it to ${contractVersion}`);
  }
  const bin: Record<string, string> = {};
  for (const name of Object.keys(ws.bin ?? {})) bin[name] = `./dist/bin/${name}.js`;
  return { ...ws, bin, dependencies: { ...ws.dependencies, '@makapix/contract': contractVersion } };
}

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*\(?\s*['"]([^'"]+)['"]/gm;

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`). */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Every import of the staged files must resolve inside the package, to a Node builtin, to the
 * package's own imports map, or to a package its manifest declares (types only: also optional peers).
 */
function checkImports(stage: string, m: Manifest): void {
  const builtins = new Set(builtinModules);
  const problems: string[] = [];
  for (const file of walk(stage)) {
    const isJs = file.endsWith('.js');
    if (!isJs && !file.endsWith('.d.ts')) continue;
    const allowed = new Set([m.name, ...Object.keys(m.dependencies ?? {}), ...Object.keys(isJs ? {} : m.peerDependencies ?? {})]);
    if (isJs) for (const p of Object.keys(m.peerDependencies ?? {})) if (!(m.peerDependenciesMeta as Record<string, { optional?: boolean }> | undefined)?.[p]?.optional) allowed.add(p);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT_RE)) {
      const spec = match[1] ?? match[2];
      const where = relative(stage, file);
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(stage + sep)) problems.push(`${where} imports ${spec}, outside the package (import it by package name)`);
      } else if (spec.startsWith('#')) {
        if (!m.imports?.[spec]) problems.push(`${where} imports ${spec}, which the manifest's imports do not map`);
      } else if (spec.startsWith('node:') || builtins.has(spec)) {
        continue;
      } else if (!allowed.has(packageOf(spec))) {
        problems.push(`${where} imports ${spec}, which ${m.name} does not declare${isJs ? ' (as a dependency or a required peer)' : ''}`);
      }
    }
  }
  if (problems.length > 0) throw new PackageBuildError(`${m.name}: compiled code imports what the package cannot provide:\n  ${problems.join('\n  ')}`);
}

function pack(stage: string, out: string, m: Manifest): PackedPackage {
  const json = run('npm', ['pack', stage, '--pack-destination', out, '--json', '--silent'], out);
  const [info] = JSON.parse(json.slice(json.indexOf('['))) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
  const tarball = join(out, info.filename);
  return {
    name: m.name,
    version: m.version,
    tarball,
    packedBytes: statSync(tarball).size,
    unpackedBytes: info.unpackedSize,
    files: info.entryCount,
    exports: Object.keys(m.exports ?? {}),
    bins: Object.keys(m.bin ?? {}),
  };
}

/** Compiles, stages and packs both packages into `out` (its `build/` folder is recreated). */
export function buildPackages(opts: { out?: string; log?: (line: string) => void } = {}): BuildResult {
  const out = resolve(REPO, opts.out ?? '.packages');
  const log = opts.log ?? (() => {});
  const build = join(out, 'build');
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });

  const tscOut = join(build, 'tsc');
  const started = Date.now();
  log('tsc -p tsconfig.packages.json');
  run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.packages.json'), '--outDir', tscOut], REPO);
  const compileMs = Date.now() - started;
  const roots = readdirSync(tscOut).sort();
  if (roots.join(',') !== 'codegen,conformance,generated' || readdirSync(join(tscOut, 'codegen')).join(',') !== 'runtime') {
    throw new PackageBuildError(`the compiled program reaches beyond generated/, codegen/runtime/ and conformance/src/ (found ${walk(tscOut).map((f) => relative(tscOut, f)).filter((f) => !/^(generated|codegen\/runtime|conformance\/src)\//.test(f)).slice(0, 5).join(', ')}): a package must not pull in server or dev code`);
  }

  // @makapix/contract: generated/ at the root, the runtime under runtime/
  const contractWs = readJson(join(REPO, 'generated/package.json'));
  const contract = join(build, 'contract');
  cpSync(join(tscOut, 'generated'), contract, { recursive: true });
  cpSync(join(tscOut, 'codegen/runtime'), join(contract, 'runtime'), { recursive: true });
  for (const f of ['README.md', 'CHANGELOG.md']) cpSync(join(REPO, 'generated', f), join(contract, f));
  const contractM = contractManifest(contractWs);
  writeJson(join(contract, 'package.json'), contractM);
  for (const [sub, t] of Object.entries(contractM.exports ?? {})) {
    for (const file of typeof t === 'string' ? [t] : Object.values(t)) {
      if (!existsSync(join(contract, file))) throw new PackageBuildError(`@makapix/contract exports["${sub}"] names ${file}, which the build did not produce`);
    }
  }
  checkImports(contract, contractM);

  // @makapix/conformance: the compiled suite under dist/, the case files beside it (loaded relative to dist/cases/load.js)
  const conformanceWs = readJson(join(REPO, 'conformance/package.json'));
  const conformance = join(build, 'conformance');
  cpSync(join(tscOut, 'conformance/src'), join(conformance, 'dist'), { recursive: true });
  cpSync(join(REPO, 'conformance/cases'), join(conformance, 'cases'), { recursive: true });
  cpSync(join(REPO, 'conformance/README.md'), join(conformance, 'README.md'));
  const conformanceM = conformanceManifest(conformanceWs, contractM.version);
  writeJson(join(conformance, 'package.json'), conformanceM);
  for (const file of Object.values(conformanceM.bin ?? {})) {
    const abs = join(conformance, file);
    if (!existsSync(abs)) throw new PackageBuildError(`@makapix/conformance bin ${file} was not produced (expected conformance/src/bin/<name>.ts)`);
    if (!readFileSync(abs, 'utf8').startsWith('#!/usr/bin/env node\n')) throw new PackageBuildError(`${file}: a bin must start with #!/usr/bin/env node`);
    chmodSync(abs, 0o755);
  }
  checkImports(conformance, conformanceM);

  log('npm pack');
  return { contract: pack(contract, out, contractM), conformance: pack(conformance, out, conformanceM), compileMs };
}

function kb(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outArg = process.argv.indexOf('--out');
  try {
    const r = buildPackages({ out: outArg >= 0 ? process.argv[outArg + 1] : undefined, log: (l) => console.error(l) });
    for (const p of [r.contract, r.conformance]) {
      console.log(`${relative(process.cwd(), p.tarball)}  ${p.name}@${p.version}  packed ${kb(p.packedBytes)}, unpacked ${kb(p.unpackedBytes)}, ${p.files} files`);
      if (p.bins.length) console.log(`  bins: ${p.bins.join(', ')}`);
      else console.log(`  exports: ${p.exports.join(' ')}`);
    }
    console.log(`compiled in ${r.compileMs} ms; install with: npm install ${relative(process.cwd(), r.contract.tarball)} ${relative(process.cwd(), r.conformance.tarball)}`);
  } catch (err) {
    console.error(err instanceof PackageBuildError ? `make packages: ${err.message}` : err);
    process.exit(1);
  }
}

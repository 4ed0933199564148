// The server as one JavaScript file for the chaos runs' child processes (and the fleet bench's
// server processes, server/bench/fleet.ts). Started through tsx, a
// server process spends most of its start transforming TypeScript (about 9 s on a busy 2-core
// machine), which would be measured as recovery time; a deployed server runs compiled code, so
// the runs use this bundle (esbuild; npm packages external, the repository's own workspaces such as
// @makapix/contract bundled from this checkout's folders, since in the checkout they are TypeScript;
// built once per process, about 1 s).
// import.meta.url is set to migrate.ts's own URL: the only module that reads it finds its
// migrations next to it (server/src/db/migrations/).
import { build, type Plugin } from 'esbuild';
import { mkdirSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** npm packages stay imports of the bundle; the workspaces (@makapix/*: TypeScript sources here) are bundled. */
const externalNpmPackages: Plugin = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./#]/ }, (args) => (args.path.startsWith('@makapix/') || args.path.startsWith('node:') ? undefined : { path: args.path, external: true }));
  },
};

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The workspaces (@makapix/*) from this checkout: node_modules/@makapix/<name> is a relative link
 * to the workspace's folder, and a worktree that shares another checkout's node_modules would
 * otherwise bundle that checkout's generated code and runtime instead of its own.
 */
const ownWorkspaces: Plugin = {
  name: 'own-workspaces',
  setup(b) {
    // [where node_modules leads, this checkout's folder] of each workspace link that leads elsewhere
    const moved: [string, string][] = [];
    const scope = join(REPO, 'node_modules', '@makapix');
    try {
      for (const name of readdirSync(scope)) {
        const link = join(scope, name);
        const own = resolve(dirname(link), readlinkSync(link));
        const used = realpathSync(link);
        if (own !== used) moved.push([used + sep, own + sep]);
      }
    } catch {
      // no such links: everything resolves the usual way
    }
    if (moved.length === 0) return;
    // the workspaces' own names and their package-internal imports (#runtime/v1 -> @makapix/runtime)
    b.onResolve({ filter: /^(@makapix\/|#)/ }, async (args) => {
      if (args.pluginData === 'own-workspaces') return undefined;
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'own-workspaces' });
      if (found.errors.length > 0) return { errors: found.errors };
      const m = moved.find(([used]) => found.path.startsWith(used));
      return { path: m ? m[1] + found.path.slice(m[0].length) : found.path, external: found.external, sideEffects: found.sideEffects };
    });
  },
};

/**
 * Writes the bundle and returns its path: under the repository's .data/ (ignored by git), since
 * its packages are resolved from where it lies (the repository's node_modules).
 */
export async function buildServerBundle(dir = join(REPO, '.data', 'chaos-build')): Promise<string> {
  mkdirSync(dir, { recursive: true });
  // one file per process (a test and `make chaos` may run at once), removed when it exits
  const outfile = join(dir, `server-${process.pid}.mjs`);
  process.once('exit', () => rmSync(outfile, { force: true }));
  const migrateUrl = pathToFileURL(join(REPO, 'server/src/db/migrate.ts')).href;
  await build({
    stdin: {
      contents: "import { main } from './server/src/main.ts';\nmain().catch((err) => { console.error(err instanceof Error ? err.message : err); process.exit(1); });\n",
      resolveDir: REPO,
      sourcefile: 'chaos-server-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [ownWorkspaces, externalNpmPackages],
    outfile,
    define: { 'import.meta.url': JSON.stringify(migrateUrl) },
    logLevel: 'error',
    absWorkingDir: REPO,
  });
  return outfile;
}

// The packages as a new user gets them: `make packages`' build packs @makapix/contract and
// @makapix/conformance, npm installs the two tarballs into an empty folder outside the repository
// (fetching only their declared dependencies, from the machine's npm cache when it has them), and
// there the README's typed client type-checks and lists the posts of a running stack, `npx
// makapix-conformance server` gives the checkout's result, and a validator imported from the package
// accepts a valid payload and refuses an invalid one.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages, type BuildResult } from '../../codegen/src/packages/build.js';
import { provisionPlayer, registerModerator, registerUser, startStack, TEST_PASSWORD, type Stack } from '../../server/test/support/stack.js';
import type { SuiteResult } from '../src/run/execute.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
/** Two moderator accounts (granted by the operator command), one per conformance run. */
let moderators: string[] = [];
let tmp: string;
let app: string;
let built: BuildResult;
let installMs: number;
let stack: Stack;

/** The environment of a user's shell: nothing of this test runner's loaders. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k === 'NODE_OPTIONS' || k.startsWith('VITEST') || k.startsWith('npm_')) delete env[k];
  return env;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out, err, ms: Date.now() - started }));
  });
}

function du(dir: string): number {
  const r = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]) * 1024;
}

/** The README's typed client: the ```ts block under the typed-client marker. */
function readmeClient(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /<!-- typed-client:[^>]*-->\n```ts\n([\s\S]*?)\n```/.exec(readme);
  if (!m) throw new Error('README.md has no ```ts block under <!-- typed-client: ... -->');
  return `${m[1]}\n`;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'makapix-packages-'));
  built = buildPackages({ out: join(tmp, 'packs') });
  app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'makapix-user', private: true, type: 'module' }, null, 2)}\n`);
  const [install, started] = await Promise.all([
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', built.contract.tarball, built.conformance.tarball], app),
    startStack(),
  ]);
  stack = started;
  moderators = [
    (await registerModerator(stack, `moda${randomBytes(4).toString('hex')}`)).email,
    (await registerModerator(stack, `modb${randomBytes(4).toString('hex')}`)).email,
  ];
  if (install.code !== 0) throw new Error(`npm install of the tarballs failed:\n${install.out}${install.err}`);
  installMs = install.ms;
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the packages installed outside the repository', () => {
  it('bring only their declared dependencies (no tsx, no server or dev tooling)', () => {
    const installed = readdirSync(join(app, 'node_modules'));
    expect(readdirSync(join(app, 'node_modules/@makapix')).sort()).toEqual(['conformance', 'contract']);
    for (const p of ['typebox', 'mqtt', 'yaml']) expect(installed).toContain(p);
    for (const p of ['tsx', 'fastify', 'postgres', 'typescript', 'vitest', 'ajv', 'sharp', 'pino']) expect(installed).not.toContain(p);
    const contract = JSON.parse(readFileSync(join(app, 'node_modules/@makapix/contract/package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };
    // the version codegen derived from the spec's info.version (generated/package.json)
    expect(contract.version).toBe((JSON.parse(readFileSync(join(root, 'generated/package.json'), 'utf8')) as { version: string }).version);
    expect(Object.keys(contract.exports)).toContain('./runtime');
    const sources = readdirSync(join(app, 'node_modules/@makapix'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(sources).toEqual([]);
    const sizes = [built.contract, built.conformance].map((p) => `${p.name}@${p.version}: packed ${p.packedBytes} B, unpacked ${p.unpackedBytes} B, installed ${du(join(app, 'node_modules', p.name))} B (${p.files} files)`);
    console.log(`${sizes.join('\n')}\nnode_modules of the user's folder: ${du(join(app, 'node_modules'))} B, ${installed.length} entries; compile ${built.compileMs} ms; npm install ${installMs} ms`);
  });

  it("the README's typed client type-checks against the package, and a wrong payload does not", async () => {
    writeFileSync(join(app, 'client.ts'), readmeClient());
    // a request missing player_key, and a field only an error answer has read from a success
    writeFileSync(join(app, 'wrong.ts'), [
      "import mqtt from 'mqtt';",
      "import { queryPostsRequest } from '@makapix/contract/asyncapi/operations';",
      "import { MessageRouter, Requester } from '@makapix/contract/runtime';",
      "const client = await mqtt.connectAsync('mqtt://localhost');",
      "const reply = await new Requester(client, new MessageRouter(client), 'k').request(queryPostsRequest, { request_id: 'r', request_type: 'query_posts', limit: 10 });",
      'if (reply.success) console.log(reply.error_code);',
      '',
    ].join('\n'));
    const options = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: ['node'], outDir: 'dist' };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['client.ts'] }));
    writeFileSync(join(app, 'tsconfig.wrong.json'), JSON.stringify({ compilerOptions: { ...options, noEmit: true }, files: ['wrong.ts'] }));
    const [good, wrong] = await Promise.all([run(process.execPath, [tsc, '-p', 'tsconfig.json'], app), run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], app)]);
    expect(good.out + good.err).toBe('');
    expect(good.code).toBe(0);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toContain("wrong.ts(5,");
    expect(wrong.out).toMatch(/player_key/);
    expect(wrong.out).toContain("wrong.ts(6,");
    expect(wrong.out).toMatch(/error_code/);
  }, 120_000);

  it('the typed client lists the posts of a running stack', async () => {
    const owner = await registerUser(stack.api);
    const title = `Packaged ${randomBytes(3).toString('hex')}`;
    const created = await stack.api.createPost({ body: { title, art_url: 'https://cdn.example.test/p.png', canvas: '8x8', width: 8, height: 8 } }, { token: owner.token });
    expect(created.status).toBe(201);
    const player = await provisionPlayer(stack.api, owner);
    writeFileSync(join(app, 'ca.pem'), player.ca_pem);
    writeFileSync(join(app, 'cert.pem'), player.cert_pem);
    writeFileSync(join(app, 'key.pem'), player.key_pem);
    const r = await run(process.execPath, ['dist/client.js', stack.services.urls.mqttMtls, player.player_key], app);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(` ${title} https://cdn.example.test/p.png`);
  }, 60_000);

  it('npx makapix-conformance server gives the same result as the checkout', async () => {
    const args = (moderator: string, json: string) => [
      'server', '--api', stack.server.url, '--broker', stack.services.urls.mqttMtls, '--ca', stack.services.caCert, '--moderator-email', moderator, '--moderator-password', TEST_PASSWORD,
      '--timeout-ms', '10000', '--features', 'moderator,mqtt,notifications,rest,protocol_1_1', '--report', `json:${json}`,
    ];
    const installed = await run('npx', ['--no', 'makapix-conformance', ...args(moderators[0], join(tmp, 'installed.json'))], app);
    const checkout = await run(process.execPath, [join(root, 'conformance/bin/makapix-conformance.mjs'), ...args(moderators[1], join(tmp, 'checkout.json'))], root);
    const read = (file: string) => JSON.parse(readFileSync(join(tmp, file), 'utf8')) as SuiteResult;
    const a = read('installed.json');
    const b = read('checkout.json');
    const outcome = (s: SuiteResult) => s.results.map((x) => `${x.name}: ${x.status}`).sort();
    expect(outcome(a), installed.out + installed.err).toEqual(outcome(b));
    expect(a.totals).toEqual(b.totals);
    expect(installed.code).toBe(checkout.code);
    expect(a.results.length).toBeGreaterThanOrEqual(60);
    console.log(`makapix-conformance server, installed: ${JSON.stringify(a.totals)} in ${installed.ms} ms; checkout: ${JSON.stringify(b.totals)} in ${checkout.ms} ms`);
  }, 300_000);

  it("a validator imported from the package accepts a valid payload and names what is wrong in an invalid one", async () => {
    const script = [
      "import { QueryPostsRequestValidator } from '@makapix/contract/asyncapi/channels';",
      "import { messageExamples } from '@makapix/contract/asyncapi/examples';",
      "const valid = { request_id: 'r-1', request_type: 'query_posts', player_key: '5f0c4d1e-8b7a-4c3d-9e2f-1a2b3c4d5e6f', limit: 10 };",
      "const invalid = { request_id: 'r-2', request_type: 'query_posts', limit: 51 };",
      'console.log(JSON.stringify({ valid: QueryPostsRequestValidator.check(valid), invalid: QueryPostsRequestValidator.check(invalid), why: QueryPostsRequestValidator.explain(invalid), examples: Object.keys(messageExamples).length }));',
    ].join('\n');
    const r = await run(process.execPath, ['--input-type=module', '-e', script], app);
    expect(r.err).toBe('');
    const got = JSON.parse(r.out) as { valid: boolean; invalid: boolean; why: string; examples: number };
    expect(got).toMatchObject({ valid: true, invalid: false });
    expect(got.why).toMatch(/player_key: is required/);
    expect(got.why).toMatch(/limit: must be <= 50/);
    expect(got.examples).toBeGreaterThan(0);
  }, 30_000);
});

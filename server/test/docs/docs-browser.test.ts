// The published docs in a real browser: the docs are built (as `make docs` does) into a temporary
// folder, the whole stack serves them (DOCS_DIR), and Debian's Chromium, driven by playwright-core,
// opens /docs and both reference pages. Every REST operation and every MQTT channel and operation
// of the spec (read from spec/, not listed here) must be rendered and visible in the page; the
// browser must log no console error and request nothing but the server's own URLs. A screenshot of
// each page is kept in .artifacts/docs/ (index.png, rest.png, mqtt.png).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildDocs } from '../../../codegen/src/docs/build.js';
import { handwrittenRoutes } from '@makapix/contract/openapi/routes';
import { startStack, type Stack } from '../support/stack.js';

/** The little of the DOM the checks read (the project compiles without the DOM library). */
interface El { offsetHeight: number; innerText: string; getAttribute(name: string): string | null; querySelector(sel: string): El | null }

const REPO = resolve(import.meta.dirname, '../../..');
const ARTIFACTS = join(REPO, '.artifacts/docs');
const CHROMIUM = '/usr/bin/chromium';

const openapi = parse(readFileSync(join(REPO, 'spec/openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, { operationId?: string }>> };
const asyncapi = parse(readFileSync(join(REPO, 'spec/asyncapi.yaml'), 'utf8')) as { channels: Record<string, { address: string }>; operations: Record<string, { action: string }> };
const restOps = Object.entries(openapi.paths).flatMap(([path, item]) =>
  Object.entries(item).filter(([, op]) => typeof op?.operationId === 'string').map(([method, op]) => ({ operationId: op.operationId!, method: method.toUpperCase(), path })));

let dir: string;
let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (make test does: server/devenv/ensure-system-packages.sh)`);
  dir = mkdtempSync(join(tmpdir(), 'makapix-docs-browser-'));
  await buildDocs(REPO, join(dir, 'site'));
  stack = await startStack({ env: { DOCS_DIR: join(dir, 'site') }, workers: false });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright gives the browser a new empty profile (--user-data-dir) of its own; as root, no sandbox
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens a URL of the server in a new page and records console errors and every request. */
async function open(path: string): Promise<{ page: Page; errors: string[]; requests: string[]; origin: string }> {
  const origin = new URL(stack.server.url).origin;
  // bypassCSP: the pages themselves must fetch nothing, not only be stopped by the server's CSP
  // (docs-documents.test.ts checks that header)
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  const response = await page.goto(origin + path, { waitUntil: 'load' });
  expect(response?.status(), path).toBe(200);
  return { page, errors, requests, origin };
}

function expectOnlyServer(requests: string[], origin: string): void {
  expect(requests.length).toBeGreaterThan(0);
  expect(requests.filter((u) => !u.startsWith(origin + '/'))).toEqual([]);
}

describe('the docs in Chromium', () => {
  it('GET /docs links both references and both documents; no console error, no request off the server', async () => {
    const { page, errors, requests, origin } = await open(handwrittenRoutes.getDocsIndex.url);
    for (const op of ['getRestDocs', 'getMqttDocs', 'getOpenApiDocument', 'getAsyncApiDocument'] as const) {
      await expect(page.locator(`main a[href="${handwrittenRoutes[op].url}"]`).first().isVisible(), op).resolves.toBe(true);
    }
    await page.screenshot({ path: join(ARTIFACTS, 'index.png') });
    // following a link stays on the server too
    await page.locator(`main a[href="${handwrittenRoutes.getMqttDocs.url}"]`).first().click();
    await page.waitForURL(`**${handwrittenRoutes.getMqttDocs.url}`);
    await page.close();
    expect(errors).toEqual([]);
    expectOnlyServer(requests, origin);
  });

  it(`the REST reference renders all ${restOps.length} operations of spec/openapi.yaml`, async () => {
    const { page, errors, requests, origin } = await open(handwrittenRoutes.getRestDocs.url);
    const rendered = await page.locator('section.operation').evaluateAll((els) => (els as unknown as El[]).map((e) => ({
      operationId: e.getAttribute('data-operation-id'),
      heading: e.querySelector('h3')?.innerText ?? '',
      visible: e.offsetHeight > 0,
    })));
    const missing: string[] = [];
    for (const op of restOps) {
      const r = rendered.find((x) => x.operationId === op.operationId);
      if (!r || !r.visible || !r.heading.includes(op.method) || !r.heading.includes(op.path)) missing.push(`${op.operationId} (${op.method} ${op.path})`);
      // the sidebar links to it
      if ((await page.locator(`nav a[href="#op-${op.operationId}"]`).count()) !== 1) missing.push(`${op.operationId}: no link in the sidebar`);
    }
    expect(missing).toEqual([]);
    expect(rendered.length).toBe(restOps.length);
    await page.screenshot({ path: join(ARTIFACTS, 'rest.png') });
    await page.close();
    expect(errors).toEqual([]);
    expectOnlyServer(requests, origin);
  });

  it('the MQTT reference renders every channel and operation of spec/asyncapi.yaml', async () => {
    const { page, errors, requests, origin } = await open(handwrittenRoutes.getMqttDocs.url);
    const channels = await page.locator('section.channel').evaluateAll((els) => (els as unknown as El[]).map((e) => ({
      id: e.getAttribute('data-channel'), text: e.innerText, visible: e.offsetHeight > 0,
    })));
    const operations = await page.locator('section.mqtt-operation').evaluateAll((els) => (els as unknown as El[]).map((e) => ({
      id: e.getAttribute('data-operation'), text: e.innerText, visible: e.offsetHeight > 0,
    })));
    const missing: string[] = [];
    for (const [id, ch] of Object.entries(asyncapi.channels)) {
      const c = channels.find((x) => x.id === id);
      if (!c || !c.visible || !c.text.includes(ch.address)) missing.push(`channel ${id} (${ch.address})`);
    }
    for (const [id, op] of Object.entries(asyncapi.operations)) {
      const o = operations.find((x) => x.id === id);
      if (!o || !o.visible || !o.text.includes(op.action)) missing.push(`operation ${id} (${op.action})`);
    }
    expect(missing).toEqual([]);
    expect(channels.length).toBe(Object.keys(asyncapi.channels).length);
    expect(operations.length).toBe(Object.keys(asyncapi.operations).length);
    await page.screenshot({ path: join(ARTIFACTS, 'mqtt.png') });
    await page.close();
    expect(errors).toEqual([]);
    expectOnlyServer(requests, origin);
  });

  it('the two documents open as JSON in the browser', async () => {
    for (const [op, key] of [['getOpenApiDocument', 'openapi'], ['getAsyncApiDocument', 'asyncapi']] as const) {
      const { page, requests, origin } = await open(handwrittenRoutes[op].url);
      const doc = JSON.parse(await page.locator('body').innerText()) as Record<string, unknown>;
      expect(typeof doc[key], op).toBe('string');
      await page.close();
      // (no console check here: for a JSON document the browser asks the server for /favicon.ico, a 404)
      expectOnlyServer(requests, origin);
    }
  });
});

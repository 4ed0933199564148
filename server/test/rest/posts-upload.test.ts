// createPost as a multipart upload and the vault behind it, against a real stack: every format
// (generated here), the fields computed from the file, the download through the HTTP server (bytes
// equal to the upload, path equal to the firmware's rule computed here from SHA-256), HEAD, ranges,
// ETags, 404s, every kind of refused file (nothing stored), deletion, 200 concurrent uploads, a
// failing insert and a crash leftover (nothing visible, the sweep removes it).
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@makapix/contract/openapi/client';
import { restExamples } from '@makapix/contract/openapi/examples';
import type { Post } from '@makapix/contract/openapi/schemas';
import { objectName, sweepOrphans } from '../../src/vault/index.js';
import type { ServerHandle } from '../../src/main.js';
import {
  makeBmp, makeGif, makeJpeg, makePng, makeWebp, pattern, truncated, withGifCanvas, withPngCanvas,
} from '../support/images.js';
import { registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { expectError, expectStatus } from './helpers.js';

const MAX_BYTES = 300_000;
const MAX_FRAMES = 16;

let stack: Stack;
let artist: TestUser;
let vaultDir: string;

beforeAll(async () => {
  stack = await startStack({ env: { VAULT_MAX_BYTES: String(MAX_BYTES), VAULT_MAX_FRAMES: String(MAX_FRAMES) } });
  artist = await registerUser(stack.api, uniqueHandle('artist'));
  vaultDir = stack.config.vault.dir;
});
afterAll(async () => stack?.stop());

const sql = () => stack.server.ctx.sql;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The firmware's rule, computed here: `{aa}/{bb}/{storage_key}.{ext}`. */
function firmwarePath(storageKey: string, ext: string): string {
  const d = createHash('sha256').update(Buffer.from(storageKey, 'utf8')).digest();
  const level = (i: number) => (d[i]! & 0x3f).toString(16).padStart(2, '0');
  return `${level(0)}/${level(1)}/${storageKey}.${ext}`;
}

/** Every file under the vault directory, relative to it. */
function vaultFiles(): string[] {
  try {
    return readdirSync(vaultDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(vaultDir, join(e.parentPath, e.name)))
      .sort();
  } catch {
    return [];
  }
}

async function rowCounts(title: string) {
  const [r] = await sql()<{ posts: number; objects: number }[]>`
    select (select count(*) from posts where title = ${title}) as posts,
           (select count(*) from vault_objects v join posts p using (storage_key) where p.title = ${title}) as objects`;
  return r!;
}

const file = (bytes: Uint8Array, name: string, type = 'application/octet-stream') => new File([bytes], name, { type });

async function upload(image: Blob | Uint8Array, fields: { title?: string; description?: string; hashtags?: string[] } = {}, server?: ServerHandle) {
  const api = server ? createClient(server.url) : stack.api;
  return api.createPost({ body: { title: fields.title ?? 'Upload', image, ...fields } }, { token: artist.token });
}

async function download(path: string, init: RequestInit = {}, base = stack.server.url) {
  const res = await fetch(`${base}${path}`, init);
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('createPost upload: each format', () => {
  const cases = [
    { name: 'still PNG', make: () => makePng(pattern(64, 64)), ext: 'png', type: 'image/png', w: 64, h: 64, frames: 1, alpha: false },
    { name: 'PNG with transparency', make: () => makePng(pattern(24, 16, { transparent: true })), ext: 'png', type: 'image/png', w: 24, h: 16, frames: 1, alpha: true },
    { name: 'animated GIF with transparency', make: () => makeGif(pattern(32, 32, { frames: 8, transparent: true })), ext: 'gif', type: 'image/gif', w: 32, h: 32, frames: 8, alpha: true },
    { name: 'animated WebP', make: () => makeWebp(pattern(48, 40, { frames: 6 })), ext: 'webp', type: 'image/webp', w: 48, h: 40, frames: 6, alpha: false },
    { name: '24-bit BMP', make: async () => makeBmp(pattern(20, 10), 24), ext: 'bmp', type: 'image/bmp', w: 20, h: 10, frames: 1, alpha: false },
    { name: '32-bit BMP with alpha', make: async () => makeBmp(pattern(8, 8, { transparent: true }), 32), ext: 'bmp', type: 'image/bmp', w: 8, h: 8, frames: 1, alpha: true },
  ];
  it.each(cases)('stores and serves a $name with the fields read from the file', async (c) => {
    const bytes = await c.make();
    const title = `Upload ${c.name}`;
    const post = expectStatus(await upload(file(bytes, `art.${c.ext}`, c.type), { title, description: 'made in a test', hashtags: ['#PixelArt', 'test_art', 'pixelart'] }), 201);
    expect(post).toMatchObject({
      title, native_format: c.ext, width: c.w, height: c.h, canvas: `${c.w}x${c.h}`, frame_count: c.frames, has_transparency: c.alpha,
      description: 'made in a test', hashtags: ['pixelart', 'test_art'], owner_handle: artist.handle, promoted_category: null,
    });
    // art_url: the vault base (the API's own /vault by default) + the firmware's path
    expect(post.art_url).toBe(`${stack.server.url}/vault/${firmwarePath(post.storage_key, c.ext)}`);
    expect(expectStatus(await stack.api.getPost({ params: { post_id: post.post_id } }), 200)).toEqual({ ...post, view_count: 0 });

    const [row] = await sql()<{ native_format: string; byte_size: number; sha256: string }[]>`
      select native_format, byte_size, encode(sha256, 'hex') as sha256 from vault_objects where storage_key = ${post.storage_key}`;
    expect(row).toEqual({ native_format: c.ext, byte_size: bytes.length, sha256: sha256(bytes) });
    expect(vaultFiles()).toContain(firmwarePath(post.storage_key, c.ext));

    const { res, bytes: got } = await download(new URL(post.art_url).pathname);
    expect(res.status).toBe(200);
    expect(got.equals(bytes)).toBe(true);
    expect(res.headers.get('content-type')).toBe(c.type);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('etag')).toBe(`"${sha256(bytes)}"`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
  });

  it('answers the spec example uploaded_png with its fields (a 64x64 PNG, hashtags normalised)', async () => {
    const ex = restExamples.createPost.responses[201].uploaded_png;
    const post = expectStatus(await upload(file(await makePng(pattern(64, 64)), 'sunset.png', 'image/png'),
      { title: ex.title, description: ex.description!, hashtags: ['#PixelArt', 'sunset'] }), 201);
    const { post_id, storage_key, owner_id, owner_handle, created_at, art_url, ...rest } = ex;
    void [post_id, storage_key, owner_id, owner_handle, created_at, art_url];
    expect(post).toMatchObject(rest);
  });

  it('serves at exactly the firmware path when VAULT_PUBLIC_URL is a root (a second instance)', async () => {
    const rooted = await stack.addServer({ VAULT_PUBLIC_URL: 'https://vault.example.test/' });
    const bytes = await makeGif(pattern(16, 16, { frames: 3 }));
    const post = expectStatus(await upload(file(bytes, 'loop.gif'), { title: 'Rooted' }, rooted), 201);
    const path = `/${firmwarePath(post.storage_key, 'gif')}`;
    expect(post.art_url).toBe(`https://vault.example.test${path}`);
    expect(new URL(post.art_url).pathname).toBe(path);
    const { res, bytes: got } = await download(path, {}, rooted.url); // the device: its vault host + the rule
    expect(res.status).toBe(200);
    expect(got.equals(bytes)).toBe(true);
    // the API routes still answer on that instance, and other three-segment paths are 404
    expect((await fetch(`${rooted.url}/healthz`)).status).toBe(200);
    expect((await download(`/u/${artist.sqid}/player`, {}, rooted.url)).res.status).toBe(401);
    expect((await download('/aa/bb/cc', {}, rooted.url)).res.status).toBe(404);
  });
});

describe('vault downloads: HEAD, ranges, ETags, 404', () => {
  let post: Post;
  let bytes: Buffer;
  let path: string;
  beforeAll(async () => {
    bytes = await makePng(pattern(40, 40, { seed: 9 }));
    post = expectStatus(await upload(file(bytes, 'ranges.png')), 201);
    path = new URL(post.art_url).pathname;
  });

  it('answers HEAD with the headers and no body', async () => {
    const { res, bytes: body } = await download(path, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(body.length).toBe(0);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('etag')).toBe(`"${sha256(bytes)}"`);
  });

  it('serves one byte range (206), a suffix range, and 416 past the end', async () => {
    let r = await download(path, { headers: { range: 'bytes=10-19' } });
    expect(r.res.status).toBe(206);
    expect(r.bytes.equals(bytes.subarray(10, 20))).toBe(true);
    expect(r.res.headers.get('content-range')).toBe(`bytes 10-19/${bytes.length}`);
    r = await download(path, { headers: { range: 'bytes=-7' } });
    expect(r.res.status).toBe(206);
    expect(r.bytes.equals(bytes.subarray(bytes.length - 7))).toBe(true);
    r = await download(path, { headers: { range: `bytes=${bytes.length}-` } });
    expect(r.res.status).toBe(416);
    expect(r.res.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    expect(JSON.parse(r.bytes.toString())).toEqual({ error_code: 'invalid_request', error: `Range: bytes=${bytes.length}- is outside the ${bytes.length}-byte file`, detail: `Range: bytes=${bytes.length}- is outside the ${bytes.length}-byte file` });
    r = await download(path, { headers: { range: 'bytes=0-1,4-5' } });
    expect(r.res.status).toBe(200);
    expect(r.bytes.equals(bytes)).toBe(true);
  });

  it('answers 304 to a matching If-None-Match, and ignores Range when If-Range does not match', async () => {
    const etag = `"${sha256(bytes)}"`;
    let r = await download(path, { headers: { 'if-none-match': etag } });
    expect(r.res.status).toBe(304);
    expect(r.bytes.length).toBe(0);
    expect(r.res.headers.get('etag')).toBe(etag);
    r = await download(path, { headers: { 'if-none-match': '"0000"' } });
    expect(r.res.status).toBe(200);
    r = await download(path, { headers: { range: 'bytes=0-3', 'if-range': '"stale"' } });
    expect(r.res.status).toBe(200);
    expect(r.bytes.equals(bytes)).toBe(true);
    r = await download(path, { headers: { range: 'bytes=0-3', 'if-range': etag } });
    expect(r.res.status).toBe(206);
  });

  it('answers 404 for anything but the exact path of a stored file', async () => {
    const key = post.storage_key;
    const [aa, bb] = firmwarePath(key, 'png').split('/');
    const other = firmwarePath(randomUUID(), 'png');
    const paths = [
      `/vault/${other}`, // unknown key
      `/vault/${aa}/${bb}/${key}.gif`, // wrong extension
      `/vault/${aa}/${bb}/${key}.PNG`,
      `/vault/${aa}/${bb}/${key.toUpperCase()}.png`,
      ...(/[a-f]/.test(aa! + bb!) ? [`/vault/${aa!.toUpperCase()}/${bb!.toUpperCase()}/${key}.png`] : []), // upper-case shard
      `/vault/${bb === '00' ? '01' : '00'}/${aa}/${key}.png`, // a shard that is not this key's
      `/vault/${aa}/${bb}/${key}.png.bak`,
      `/vault/${aa}/${bb}/..%2F..%2F..%2Fpackage.json`,
      `/vault/${aa}/${bb}/%2e%2e`,
      '/vault/../package.json',
      '/vault/',
      `/vault/${aa}/`,
      `/vault/${aa}/${bb}/`,
      `/vault/${aa}/${bb}`,
    ];
    for (const p of paths) {
      const { res, bytes: body } = await download(p);
      expect(res.status, p).toBe(404);
      expect(JSON.parse(body.toString()).error_code, p).toBe('not_found');
    }
    expect((await download(`/vault/${other}`, { method: 'HEAD' })).res.status).toBe(404);
    expect((await download(path)).res.status).toBe(200); // the right one still works
  });

  it("stops serving a deleted post's file and removes it from the store", async () => {
    const b = await makeWebp(pattern(12, 12, { seed: 4 }));
    const p = expectStatus(await upload(file(b, 'gone.webp'), { title: 'To delete' }), 201);
    const rel = firmwarePath(p.storage_key, 'webp');
    expect((await download(`/vault/${rel}`)).res.status).toBe(200);
    expect((await stack.api.deletePost({ params: { post_id: p.post_id } }, { token: artist.token })).status).toBe(204);
    expect((await download(`/vault/${rel}`)).res.status).toBe(404);
    expect(vaultFiles()).not.toContain(rel);
    const [n] = await sql()<{ n: number }[]>`select count(*) as n from vault_objects where storage_key = ${p.storage_key}`;
    expect(n!.n).toBe(0);
  });
});

describe('createPost upload: refused files leave nothing behind', () => {
  const refusals: { name: string; make: () => Promise<Blob>; message: string }[] = [
    { name: 'truncated PNG', make: async () => file(truncated(await makePng(pattern(64, 64))), 'cut.png'), message: 'image: the PNG file is truncated or corrupt' },
    { name: 'truncated animated GIF', make: async () => file(truncated(await makeGif(pattern(32, 32, { frames: 8 }))), 'cut.gif'), message: 'image: the GIF file is truncated or corrupt' },
    { name: 'truncated WebP', make: async () => file(truncated(await makeWebp(pattern(32, 32))), 'cut.webp'), message: 'image: the WebP file is truncated or corrupt' },
    { name: 'truncated BMP', make: async () => file(truncated(makeBmp(pattern(32, 32), 24)), 'cut.bmp'), message: 'image: the BMP file is truncated or corrupt' },
    { name: 'PNG named .gif with a GIF content type', make: async () => file(await makePng(pattern(8, 8)), 'cat.gif', 'image/gif'), message: "image: the file is PNG but its name 'cat.gif' says GIF" },
    { name: 'PNG declared as image/gif', make: async () => file(await makePng(pattern(8, 8)), 'cat', 'image/gif'), message: 'image: the file is PNG but its part is declared as image/gif' },
    { name: 'GIF named .png', make: async () => file(await makeGif(pattern(8, 8)), 'cat.png', 'image/png'), message: "image: the file is GIF but its name 'cat.png' says PNG" },
    { name: 'decompression bomb (16x16 PNG declaring 20000x20000)', make: async () => file(withPngCanvas(await makePng(pattern(16, 16)), 20000, 20000), 'bomb.png'), message: 'image: 20000x20000 pixels is more than the limit of 256x256' },
    { name: 'GIF declaring a 20000x20000 screen', make: async () => file(withGifCanvas(await makeGif(pattern(16, 16)), 20000, 20000), 'bomb.gif'), message: 'image: 20000x20000 pixels is more than the limit of 256x256' },
    { name: 'canvas over the limit', make: async () => file(await makePng(pattern(257, 8)), 'wide.png'), message: 'image: 257x8 pixels is more than the limit of 256x256' },
    { name: 'too many frames', make: async () => file(await makeGif(pattern(8, 8, { frames: MAX_FRAMES + 1 })), 'long.gif'), message: `image: ${MAX_FRAMES + 1} frames is more than the limit of ${MAX_FRAMES}` },
    { name: 'too many bytes', make: async () => file(Buffer.concat([await makePng(pattern(8, 8)), Buffer.alloc(MAX_BYTES)]), 'big.png'), message: `image: more than the limit of ${MAX_BYTES} bytes` },
    { name: 'JPEG', make: async () => file(await makeJpeg(pattern(16, 16)), 'photo.jpg', 'image/jpeg'), message: 'image: the file is JPEG; only PNG, GIF, WebP and BMP are accepted' },
    { name: 'text file', make: async () => file(Buffer.from('hello, I am not a picture\n'), 'notes.txt', 'text/plain'), message: 'image: the file is not an image in a known format; only PNG, GIF, WebP and BMP are accepted' },
  ];

  it.each(refusals)('$name: 400 invalid_request naming the problem, no post, no row, no file', async ({ name, make, message }) => {
    const before = vaultFiles();
    const title = `Refused ${name}`.slice(0, 200);
    const r = await upload(await make(), { title });
    expectError(r, 400, 'invalid_request', message);
    expect(await rowCounts(title)).toEqual({ posts: 0, objects: 0 });
    expect(vaultFiles()).toEqual(before);
  });

  it('refuses a body that fails the multipart schema: no image, image as text, a computed field, an unknown part, too many hashtags', async () => {
    const before = vaultFiles();
    const png = await makePng(pattern(8, 8));
    const send = async (parts: [string, string | Blob][]) => {
      const form = new FormData();
      for (const [k, v] of parts) form.append(k, v);
      const res = await fetch(`${stack.server.url}/post`, { method: 'POST', headers: { authorization: `Bearer ${artist.token}` }, body: form });
      return { status: res.status, body: await res.json() };
    };
    expectError(await send([['title', 'No image']]), 400, 'invalid_request', 'body/image: is required');
    expectError(await send([['title', 'Text image'], ['image', 'iVBORw0KGgo=']]), 400, 'invalid_request', 'body/image: must be a file part');
    expectError(await send([['title', 'Sized'], ['width', '8'], ['image', file(png, 'a.png')]]), 400, 'invalid_request', 'body/width: is not allowed (unknown field)');
    expectError(await send([['title', 'Extra'], ['image', file(png, 'a.png')], ['art_url', 'https://example.com/a.png']]), 400, 'invalid_request', /body\/art_url: is not allowed/);
    expectError(await send([['title', 'Tags'], ...Array.from({ length: 17 }, (_, i): [string, string] => ['hashtags', `t${i}`]), ['image', file(png, 'a.png')]]), 400, 'invalid_request', /body\/hashtags/);
    expectError(await send([['title', 'Bad tag'], ['hashtags', 'not ok'], ['image', file(png, 'a.png')]]), 400, 'invalid_request', /body\/hashtags\/0/);
    expectError(await send([['title', 'Two files'], ['image', file(png, 'a.png')], ['image', file(png, 'b.png')]]), 400, 'invalid_request');
    expect(vaultFiles()).toEqual(before);
  });

  it('accepts one hashtags part as a list of one, and a file sent without a name or type', async () => {
    const form = new FormData();
    form.append('title', 'One tag');
    form.append('hashtags', '#Solo');
    form.append('image', new Blob([await makePng(pattern(8, 8))]));
    const res = await fetch(`${stack.server.url}/post`, { method: 'POST', headers: { authorization: `Bearer ${artist.token}` }, body: form });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ hashtags: ['solo'], native_format: 'png', description: null });
  });

  it('refuses a multipart body on an operation that does not declare one, before reading it', async () => {
    const form = new FormData();
    form.append('handle', uniqueHandle('mp'));
    form.append('email', 'mp@example.test');
    form.append('password', 'correct horse battery');
    const res = await fetch(`${stack.server.url}/auth/register`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error_code: 'invalid_request', error: 'body: Unsupported Media Type: multipart/form-data (accepted: application/json)', detail: 'body: Unsupported Media Type: multipart/form-data (accepted: application/json)' });
  });

  it('needs a bearer token for an upload too', async () => {
    const r = await stack.api.createPost({ body: { title: 'Anonymous', image: file(await makePng(pattern(8, 8)), 'a.png') } });
    expectError(r, 401, 'authentication_failed');
  });
});

describe('createPost JSON form (existing clients)', () => {
  it('keeps working, with optional description and hashtags; native_format is null', async () => {
    const body = { ...restExamples.createPost.request.cool_pixel_art, description: 'hosted elsewhere', hashtags: ['#Retro', 'retro', 'CGA'] };
    const post = expectStatus(await stack.api.createPost({ body }, { token: artist.token }), 201);
    expect(post).toMatchObject({ art_url: body.art_url, native_format: null, description: 'hosted elsewhere', hashtags: ['retro', 'cga'] });
    const plain = expectStatus(await stack.api.createPost({ body: restExamples.createPost.request.cool_pixel_art }, { token: artist.token }), 201);
    expect(plain).toMatchObject({ native_format: null, description: null, hashtags: [] });
  });
});

describe('atomicity: no lost upload, no stray file, nothing visible after a failure', () => {
  it('stores 200 concurrent uploads: 200 posts, 200 rows, exactly their 200 files, no temporary file', async () => {
    const before = new Set(vaultFiles());
    const images = await Promise.all(Array.from({ length: 200 }, (_, i) => makePng(pattern(16, 16, { seed: 1000 + i }))));
    const results = await Promise.all(images.map((img, i) => upload(file(img, `c${i}.png`), { title: `Concurrent ${i}` })));
    const posts = results.map((r) => expectStatus(r, 201));
    expect(new Set(posts.map((p) => p.storage_key)).size).toBe(200);
    const added = vaultFiles().filter((f) => !before.has(f));
    expect(added.sort()).toEqual(posts.map((p) => firmwarePath(p.storage_key, 'png')).sort());
    expect(vaultFiles().some((f) => f.includes('.tmp-'))).toBe(false);
    const rows = await sql()<{ storage_key: string; sha256: string }[]>`
      select v.storage_key, encode(v.sha256, 'hex') as sha256 from vault_objects v join posts p using (storage_key)
      where p.title like 'Concurrent %'`;
    expect(rows).toHaveLength(200);
    const byKey = new Map(rows.map((r) => [r.storage_key, r.sha256]));
    posts.forEach((p, i) => expect(byKey.get(p.storage_key)).toBe(sha256(images[i]!)));
    // every file in the vault is recorded: a sweep with no grace period finds nothing to remove
    expect(await sweepOrphans(sql(), stack.server.ctx.vault.store, { graceSeconds: 0 })).toEqual({ orphans: 0, temporary: 0 });
    const spot = await download(new URL(posts[123]!.art_url).pathname);
    expect(spot.bytes.equals(images[123]!)).toBe(true);
  });

  it('removes the file again when the insert fails (a trigger makes the vault_objects insert fail)', async () => {
    const title = `Insert fails ${randomUUID()}`;
    await sql()`
      create or replace function test_fail_vault_insert() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from posts where storage_key = new.storage_key and title like 'Insert fails %') then
          raise exception 'injected failure of the vault_objects insert';
        end if;
        return new;
      end $$`;
    await sql()`create trigger test_fail_vault_insert before insert on vault_objects for each row execute function test_fail_vault_insert()`;
    try {
      const before = vaultFiles();
      const r = await upload(file(await makePng(pattern(16, 16, { seed: 77 })), 'fail.png'), { title });
      expectError(r, 500, 'internal_error');
      expect(await rowCounts(title)).toEqual({ posts: 0, objects: 0 });
      expect(vaultFiles()).toEqual(before);
    } finally {
      await sql()`drop trigger test_fail_vault_insert on vault_objects`;
      await sql()`drop function test_fail_vault_insert()`;
    }
    // and the next upload works again
    expectStatus(await upload(file(await makePng(pattern(16, 16, { seed: 78 })), 'ok.png'), { title: 'After the failure' }), 201);
  });

  it('never serves a file written without its row (crash before the commit); the sweep removes it after the grace period', async () => {
    const key = randomUUID();
    const name = objectName(key, 'png');
    const store = stack.server.ctx.vault.store;
    await store.put(name, await makePng(pattern(8, 8, { seed: 5 })), { contentType: 'image/png', sha256: '0'.repeat(64) });
    expect(vaultFiles()).toContain(name);
    expect((await download(`/vault/${name}`)).res.status).toBe(404);
    // within the grace period it is left alone (an upload may be about to commit its row)
    expect((await sweepOrphans(sql(), store)).orphans).toBe(0);
    expect(vaultFiles()).toContain(name);
    const swept = await sweepOrphans(sql(), store, { now: new Date(Date.now() + 3600_000) });
    expect(swept.orphans).toBe(1);
    expect(vaultFiles()).not.toContain(name);
    expect((await download(new URL((await rowsOfSomeUpload()).art_url).pathname)).res.status).toBe(200); // recorded files stay
  });
});

async function rowsOfSomeUpload(): Promise<{ art_url: string }> {
  const [row] = await sql()<{ art_url: string }[]>`
    select p.art_url from posts p join vault_objects v using (storage_key) where not p.deleted and p.art_url like ${`${stack.server.url}/vault/%`} limit 1`;
  return row!;
}

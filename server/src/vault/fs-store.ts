// The vault on the local filesystem (default: <DATA_DIR>/vault). A write goes to a temporary file
// in the object's own directory, is fsynced, renamed over the final name (atomic on POSIX: readers
// see the old state or the whole new file) and the directory is fsynced, so the rename survives a
// crash. A crash before the rename leaves only a `.tmp-` file, which list() reports for the sweep.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseObjectName } from './shard.js';
import type { ByteRange, PutOptions, StoredObject, VaultStore } from './store.js';

const TEMP_PREFIX = '.tmp-';
const LEVEL = /^[0-3][0-9a-f]$/;

export class FsVaultStore implements VaultStore {
  readonly kind = 'filesystem';
  constructor(readonly root: string) {}

  async put(name: string, bytes: Uint8Array, _opts: PutOptions): Promise<void> {
    const path = this.pathOf(name, false);
    const dir = join(path, '..');
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}-${name.split('/')[2]}`);
    const file = await open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } catch (err) {
      await file.close().catch(() => {});
      await unlink(temp).catch(() => {});
      throw err;
    }
    await file.close();
    try {
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
    await syncDirectory(dir);
  }

  async read(name: string, range?: ByteRange): Promise<Readable | null> {
    let file;
    try {
      file = await open(this.pathOf(name, false), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return file.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async delete(name: string): Promise<void> {
    await rm(this.pathOf(name, true), { force: true });
  }

  async *list(): AsyncIterable<StoredObject> {
    for (const level1 of await entries(this.root)) {
      if (!LEVEL.test(level1)) continue;
      for (const level2 of await entries(join(this.root, level1))) {
        if (!LEVEL.test(level2)) continue;
        for (const file of await entries(join(this.root, level1, level2))) {
          const name = `${level1}/${level2}/${file}`;
          try {
            const s = await stat(join(this.root, name));
            if (s.isFile()) yield { name, size: s.size, modifiedAt: s.mtime };
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed meanwhile
          }
        }
      }
    }
  }

  /** The file of an object name (or, with `leftovers`, of a temporary file list() reported); never outside the root. */
  private pathOf(name: string, leftovers: boolean): string {
    if (parseObjectName(name)) return join(this.root, name);
    const [l1, l2, file, ...rest] = name.split('/');
    if (leftovers && rest.length === 0 && LEVEL.test(l1 ?? '') && LEVEL.test(l2 ?? '') && /^\.tmp-[0-9a-f]{16}-[0-9a-f-]{36}\.(png|gif|webp|bmp)$/.test(file ?? '')) {
      return join(this.root, name);
    }
    throw new Error(`not a vault object name: ${JSON.stringify(name)}`);
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

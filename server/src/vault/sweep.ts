// The orphan sweep: removes what a crash can leave in the store — a file whose row was never
// committed (crash between writing the file and the insert), a file whose post was deleted when its
// removal failed, an interrupted write's temporary file. Only entries older than the grace period
// are considered, so an upload in progress (file written, transaction not committed yet) is never
// touched. Entries that are not the store's own (other names) are left alone.
import type { Sql } from '../db/index.js';
import { recordedFormats } from '../db/vault-objects.js';
import { parseObjectName } from './shard.js';
import type { StoredObject, VaultStore } from './store.js';

/** Files younger than this are never swept (an upload writes its file, then commits its row within seconds). */
export const ORPHAN_GRACE_SECONDS = 600;

const TEMP_FILE = /^[0-3][0-9a-f]\/[0-3][0-9a-f]\/\.tmp-/;
const BATCH = 500;

export interface SweepResult {
  /** Object files removed because no row records them. */
  orphans: number;
  /** Temporary files of interrupted writes removed. */
  temporary: number;
}

export async function sweepOrphans(sql: Sql, store: VaultStore, opts: { now?: Date; graceSeconds?: number } = {}): Promise<SweepResult> {
  const cutoff = (opts.now ?? new Date()).getTime() - (opts.graceSeconds ?? ORPHAN_GRACE_SECONDS) * 1000;
  const result: SweepResult = { orphans: 0, temporary: 0 };
  let batch: StoredObject[] = [];
  const flush = async () => {
    const addresses = batch.map((o) => ({ o, a: parseObjectName(o.name)! }));
    const recorded = await recordedFormats(sql, addresses.map((x) => x.a.storageKey));
    for (const { o, a } of addresses) {
      if (recorded.get(a.storageKey) === a.format) continue;
      await store.delete(o.name);
      result.orphans += 1;
    }
    batch = [];
  };
  for await (const entry of store.list()) {
    if (entry.modifiedAt.getTime() > cutoff) continue;
    if (TEMP_FILE.test(entry.name)) {
      await store.delete(entry.name);
      result.temporary += 1;
    } else if (parseObjectName(entry.name)) {
      batch.push(entry);
      if (batch.length >= BATCH) await flush();
    }
  }
  if (batch.length) await flush();
  return result;
}

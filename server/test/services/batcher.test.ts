// The Batcher: the first item runs at once, items arriving meanwhile go together in the next batch,
// each caller gets its own result, and a failed batch rejects exactly its own callers.
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/services/batcher.js';

describe('Batcher', () => {
  it('runs the first item alone, then everything that arrived meanwhile as one batch, results in order', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, string>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((i) => `r${i}`);
    });
    const first = b.add(1);
    const rest = [2, 3, 4].map((i) => b.add(i));
    release();
    expect(await Promise.all([first, ...rest])).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('splits at maxBatch and rejects only the callers of a failing batch', async () => {
    const b = new Batcher<number, number>(async (items) => {
      if (items.includes(3)) throw new Error('boom');
      return items.map((i) => i * 10);
    }, 2);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => b.add(i)));
    // batches: [1] alone, then [2, 3] (fails), then [4, 5]
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 10 });
    expect(results[4]).toEqual({ status: 'fulfilled', value: 50 });
  });

  it('rejects when the batch function returns the wrong number of results', async () => {
    const b = new Batcher<number, number>(async () => [1, 2]);
    await expect(b.add(1)).rejects.toThrow('batch returned 2 results for 1 items');
  });
});

// Summarizes V8 heap snapshots (.heapsnapshot, as the fleet bench's --heap-snapshots writes them):
// per class (an object's constructor; strings, arrays, code, closures and V8's own structures
// grouped), how many objects and how many bytes of their own; the largest objects by retained
// size (what would be freed with them: dominator tree over the strong edges) with the path that
// holds them; with two snapshots, what grew between them, per unit when --per N is given (e.g. the
// number of players that connected between the two).
//   npx tsx server/bench/heap-summary.ts BEFORE.heapsnapshot [AFTER.heapsnapshot] [--top 25] [--per 3000]
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Heap {
  count: number;
  cls: string[];
  /** Per node: its class, its own size, its retained size, its dominator. */
  classOf: Int32Array;
  self: Float64Array;
  retained: Float64Array;
  idom: Int32Array;
  /** The edge name by which each node's dominator-tree parent path was found first (for the path display). */
  via: string[];
  names: string[];
  /** Reachable nodes in postorder (a node's dominator comes after it). */
  post: Int32Array;
  total: number;
}

function load(path: string): Heap {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const NF = nf.length;
  const EF = ef.length;
  const [nType, nName, nSelf, nEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nf.indexOf(f)) as [number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f)) as [number, number, number];
  const count = s.nodes.length / NF;

  // classes
  const clsIndex = new Map<string, number>();
  const cls: string[] = [];
  const classOf = new Int32Array(count);
  const self = new Float64Array(count);
  const names: string[] = new Array<string>(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const type = nodeTypes[s.nodes[i * NF + nType]!]!;
    const name = s.strings[s.nodes[i * NF + nName]!]!;
    let c: string;
    if (type === 'object' || type === 'native') c = name.split(' ')[0] || `(${type})`;
    else if (type === 'string' || type === 'concatenated string' || type === 'sliced string') c = '(string)';
    else if (type === 'closure') c = '(closure)';
    else if (type === 'array') c = '(array)';
    else if (type === 'code') c = '(compiled code)';
    else if (type === 'hidden' || type === 'object shape' || type === 'synthetic') c = '(system)';
    else c = `(${type})`;
    let k = clsIndex.get(c);
    if (k === undefined) {
      k = cls.length;
      cls.push(c);
      clsIndex.set(c, k);
    }
    classOf[i] = k;
    self[i] = s.nodes[i * NF + nSelf]!;
    names[i] = type === 'string' ? '(string)' : name.slice(0, 60);
    total += self[i]!;
  }

  // edges as CSR (strong ones only), and predecessors
  const firstEdge = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i]! + s.nodes[i * NF + nEdges]!;
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const strong = (e: number) => {
    const t = s.edges[e * EF + eType];
    return t !== weak && t !== shortcut;
  };
  const target = (e: number) => s.edges[e * EF + eTo]! / NF;

  // depth-first postorder from the root (node 0)
  const order = new Int32Array(count).fill(-1); // postorder number
  const post: number[] = [];
  const stack: number[] = [0];
  const cursor = new Int32Array(count);
  const seen = new Uint8Array(count);
  seen[0] = 1;
  for (let i = 0; i < count; i++) cursor[i] = firstEdge[i]!;
  while (stack.length > 0) {
    const n = stack[stack.length - 1]!;
    if (cursor[n]! < firstEdge[n + 1]!) {
      const e = cursor[n]!;
      cursor[n]++;
      if (!strong(e)) continue;
      const t = target(e);
      if (!seen[t]) {
        seen[t] = 1;
        stack.push(t);
      }
    } else {
      stack.pop();
      order[n] = post.length;
      post.push(n);
    }
  }
  // predecessors (strong edges between reachable nodes)
  const predCount = new Int32Array(count + 1);
  for (let n = 0; n < count; n++) {
    if (!seen[n]) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) if (strong(e)) predCount[target(e) + 1]++;
  }
  for (let i = 0; i < count; i++) predCount[i + 1] += predCount[i]!;
  const preds = new Int32Array(predCount[count]!);
  const fill = predCount.slice(0, count);
  const via: string[] = new Array<string>(count).fill('');
  for (let n = 0; n < count; n++) {
    if (!seen[n]) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) {
      if (!strong(e)) continue;
      const t = target(e);
      preds[fill[t]++] = n;
      if (via[t] === '') {
        const nameOrIndex = s.edges[e * EF + eName]!;
        via[t] = edgeTypes[s.edges[e * EF + eType]!] === 'element' || edgeTypes[s.edges[e * EF + eType]!] === 'hidden' ? `[${nameOrIndex}]` : String(s.strings[nameOrIndex]);
      }
    }
  }

  // dominators (Cooper, Harvey, Kennedy: iterate in reverse postorder until stable)
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (order[a]! < order[b]!) a = idom[a]!;
      while (order[b]! < order[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let k = post.length - 2; k >= 0; k--) {
      const n = post[k]!;
      let d = -1;
      for (let p = predCount[n]!; p < predCount[n + 1]!; p++) {
        const q = preds[p]!;
        if (idom[q] === -1) continue;
        d = d === -1 ? q : intersect(q, d);
      }
      if (d !== -1 && idom[n] !== d) {
        idom[n] = d;
        changed = true;
      }
    }
  }
  const retained = Float64Array.from(self);
  for (const n of post) if (n !== 0 && idom[n]! >= 0) retained[idom[n]!] += retained[n]!;
  return { count, cls, classOf, self, retained, idom, via, names, total, post: Int32Array.from(post) };
}

interface ClassRow { count: number; bytes: number }

/** Classes that only hold others (containers, V8's own), walked past when looking for what owns an object. */
const GENERIC = new Set(['(string)', '(array)', '(system)', 'system', '(number)', '(compiled code)', 'Object', 'Array', 'Map', 'Set', '(object elements)', '(object properties)', 'Buffer', 'Uint8Array', 'ArrayBuffer', '(concatenated string)', '(sliced string)', '(closure)', '(native)', '(hidden)']);

/**
 * Own sizes summed by owner: the nearest dominator of a class not in GENERIC (so the strings and
 * arrays a Map inside a cache holds count for the cache). Nodes with no such owner count as "(no owner)".
 */
function byOwner(h: Heap, post: Int32Array): Map<string, ClassRow> {
  const owner = new Int32Array(h.count).fill(-1);
  const out = new Map<string, ClassRow>();
  for (let k = post.length - 1; k >= 0; k--) {
    const n = post[k]!;
    const c = h.cls[h.classOf[n]!]!;
    owner[n] = !GENERIC.has(c) && n !== 0 ? n : n === 0 || h.idom[n]! < 0 ? -1 : owner[h.idom[n]!]!;
    const o = owner[n]!;
    const name = o < 0 ? '(no owner)' : h.cls[h.classOf[o]!]!;
    const row = out.get(name) ?? { count: 0, bytes: 0 };
    row.count += o === n ? 1 : 0;
    row.bytes += h.self[n]!;
    out.set(name, row);
  }
  return out;
}

function byClass(h: Heap): Map<string, ClassRow> {
  const out = new Map<string, ClassRow>();
  for (let i = 0; i < h.count; i++) {
    const c = h.cls[h.classOf[i]!]!;
    const row = out.get(c) ?? { count: 0, bytes: 0 };
    row.count++;
    row.bytes += h.self[i]!;
    out.set(c, row);
  }
  return out;
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
const mbs = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

/** The chain of dominators from the root to node n, as class.edge steps (the last few). */
function holder(h: Heap, n: number): string {
  const chain: string[] = [];
  for (let x = n, steps = 0; x !== 0 && x >= 0 && steps < 6; x = h.idom[x]!, steps++) chain.push(`${h.cls[h.classOf[x]!]}${h.via[x] ? `(${h.via[x]})` : ''}`);
  return chain.reverse().join(' <- ');
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return fallback;
    const v = Number(args[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number (got ${JSON.stringify(args[i + 1])})`);
    args.splice(i, 2);
    return v;
  };
  const top = opt('top', 25);
  const per = opt('per', 1);
  if (args.length < 1 || args.length > 2) throw new Error('usage: npx tsx server/bench/heap-summary.ts BEFORE.heapsnapshot [AFTER.heapsnapshot] [--top 25] [--per N]');
  const heaps = args.map((p) => ({ path: p, heap: load(p) }));
  for (const { path, heap } of heaps) {
    console.log(`\n${path}: ${heap.count} objects, ${mbs(heap.total)}`);
    const rows = [...byClass(heap)].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
    console.log('  own size by class:');
    for (const [c, r] of rows) console.log(`    ${mbs(r.bytes).padStart(9)}  ${String(r.count).padStart(8)}  ${c}`);
    const owned = [...byOwner(heap, heap.post)].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
    console.log('  own sizes summed by owner (nearest dominator that is not a container, string, array or V8 structure; count: owners):');
    for (const [c, r] of owned) console.log(`    ${mbs(r.bytes).padStart(9)}  ${String(r.count).padStart(8)}  ${c}`);
    // the largest retainers, skipping the root's synthetic children and nodes held by an already listed one
    const idx = Array.from({ length: heap.count - 1 }, (_, i) => i + 1);
    idx.sort((a, b) => heap.retained[b]! - heap.retained[a]!);
    const shown: number[] = [];
    console.log('  largest retainers (retained size; path of dominators):');
    for (const i of idx) {
      if (shown.length >= top) break;
      if (heap.idom[i] === 0 || heap.retained[i]! < heap.total / 200) continue;
      let inside = false;
      for (let x = heap.idom[i]!; x > 0; x = heap.idom[x]!) if (shown.includes(x)) { inside = true; break; }
      if (inside) continue;
      shown.push(i);
      console.log(`    ${mbs(heap.retained[i]!).padStart(9)}  ${heap.cls[heap.classOf[i]!]} ${heap.names[i] !== heap.cls[heap.classOf[i]!] ? `"${heap.names[i]}" ` : ''}held by ${holder(heap, heap.idom[i]!)}`);
    }
  }
  if (heaps.length === 2) {
    growth('by class', byClass(heaps[0]!.heap), byClass(heaps[1]!.heap));
    growth('by owner', byOwner(heaps[0]!.heap, heaps[0]!.heap.post), byOwner(heaps[1]!.heap, heaps[1]!.heap.post));
  }
  function growth(what: string, a: Map<string, ClassRow>, b: Map<string, ClassRow>): void {
    const grown = [...b].map(([c, r]) => ({ c, count: r.count - (a.get(c)?.count ?? 0), bytes: r.bytes - (a.get(c)?.bytes ?? 0) }));
    grown.sort((x, y) => y.bytes - x.bytes);
    const totalGrowth = heaps[1]!.heap.total - heaps[0]!.heap.total;
    console.log(`\ngrowth ${what}: ${mbs(totalGrowth)}${per > 1 ? ` (${kb(totalGrowth / per)} per unit, ${per} units)` : ''}`);
    for (const g of grown.slice(0, top)) {
      console.log(`  ${mbs(g.bytes).padStart(9)}  ${String(g.count).padStart(8)}${per > 1 ? `  ${(g.bytes / per).toFixed(0).padStart(7)} B ${(g.count / per).toFixed(1).padStart(6)} objects per unit` : ''}  ${g.c}`);
    }
  }
}

main();

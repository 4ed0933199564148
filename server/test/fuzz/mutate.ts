// Schema-guided mutations with a fixed seed: from a valid example, make a value a parser, a validator
// or a database would choke on (a missing or extra field, a wrong type, a boundary number, an odd
// string), or raw bytes that are not JSON at all. Deterministic: the same seed gives the same cases.

/** A small, fast seeded PRNG (mulberry32): the same seed gives the same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const NUMBERS = [0, -1, 1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, -(2 ** 53), 1.5, 1e308, -1e308, 4096, 4097, 50, 51, 100001];
const STRINGS = [
  '', ' ', 'a'.repeat(10_000), '\u0000', 'x\u0007y', '\ud800', '\udfff', '😀'.repeat(50), '%ff', '%00', "'; drop table posts; --",
  '../../etc/passwd', '<script>alert(1)</script>', '{{saved}}', 'null', '0', '-1', '1e309', 'NaN', '#hash', 'A'.repeat(256),
  '7c9e6679-7425-40de-944b-e07fc1f90ae7', 'ZZZZZZ', '\u202e', 'e\u0301', '\n\r\t',
];

export class Mutator {
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Any JSON value, small. */
  anyValue(depth = 0): Json {
    switch (this.int(depth > 2 ? 4 : 7)) {
      case 0: return null;
      case 1: return this.rnd() < 0.5;
      case 2: return this.pick(NUMBERS);
      case 3: return this.pick(STRINGS);
      case 4: return Array.from({ length: this.int(4) }, () => this.anyValue(depth + 1));
      case 5: return Object.fromEntries(Array.from({ length: this.int(3) }, (_, i) => [`k${i}`, this.anyValue(depth + 1)]));
      default: return this.pick(NUMBERS) * -1;
    }
  }

  /** A value like `v` but changed in one place (recursively into objects and arrays). */
  mutate(v: Json, depth = 0): Json {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth < 3 && this.rnd() < 0.85) {
      const keys = Object.keys(v);
      const out: { [k: string]: Json } = { ...v };
      const op = this.int(5);
      if (op === 0 && keys.length) delete out[this.pick(keys)];
      else if (op === 1) out[this.pick(['extra', '__proto__', 'constructor', 'request_type', 'success', ''])] = this.anyValue();
      else if (keys.length) {
        const k = this.pick(keys);
        out[k] = this.mutate(v[k]!, depth + 1);
      }
      return out;
    }
    if (Array.isArray(v) && depth < 3 && this.rnd() < 0.6) {
      const op = this.int(3);
      if (op === 0) return [];
      if (op === 1) return Array.from({ length: 300 }, () => (v.length ? v[0]! : this.anyValue(2)));
      return v.map((x) => (this.rnd() < 0.5 ? this.mutate(x, depth + 1) : x));
    }
    if (typeof v === 'number') return this.rnd() < 0.7 ? this.pick(NUMBERS) : this.anyValue();
    if (typeof v === 'string') return this.rnd() < 0.7 ? this.pick(STRINGS) : this.anyValue();
    return this.anyValue();
  }

  /** Bytes that are rarely valid JSON, for the decoders. */
  garbage(): Buffer {
    switch (this.int(5)) {
      case 0: return Buffer.from([0xff, 0xfe, 0x00, 0x80]);
      case 1: return Buffer.from('{"request_type":');
      case 2: return Buffer.from(Array.from({ length: 64 }, () => this.int(256)));
      case 3: return Buffer.from('['.repeat(5000));
      default: return Buffer.from(JSON.stringify(this.anyValue()));
    }
  }
}

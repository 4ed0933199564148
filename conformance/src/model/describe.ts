// Short, exact renderings of values for mismatch lines.

export function describeValue(v: unknown, max = 120): string {
  if (v === undefined) return 'nothing (field absent)';
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

export function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const seg of pointer.split('/').slice(1)) {
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (node !== null && typeof node === 'object') node = (node as Record<string, unknown>)[key];
    else return undefined;
  }
  return node;
}

/** JSON pointers where two values differ (at most `limit`). */
export function diffPointers(a: unknown, b: unknown, limit = 5, base = ''): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, p: string) => {
    if (out.length >= limit) return;
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y)) {
      const keys = new Set([...Object.keys(x as object), ...Object.keys(y as object)]);
      for (const k of keys) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${p}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      return;
    }
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(p);
  };
  walk(a, b, base);
  return out;
}

/** A schema issue message ("must be <= 50", "is required") as the expected side of a mismatch. */
export function expectationOf(issueMessage: string): string {
  if (issueMessage === 'is required') return 'the field (it is required)';
  if (issueMessage.startsWith('is not allowed')) return 'no such field (the schema allows no unknown fields)';
  const be = /^must be (.*)$/.exec(issueMessage);
  if (be) return be[1];
  const must = /^must (.*)$/.exec(issueMessage);
  if (must) return `a value that must ${must[1]}`;
  return issueMessage;
}

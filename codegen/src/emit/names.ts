/** Naming helpers shared by the emitters. */
export const pascal = (s: string): string =>
  s.replace(/(^|[_\-\s.]+)([a-zA-Z0-9])/g, (_, __, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '');

export const camel = (s: string): string => {
  const p = pascal(s);
  return p.charAt(0).toLowerCase() + p.slice(1);
};

export const propKey = (k: string): string => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k));

/** A JSON value as a TypeScript literal, indented. */
export function literal(value: unknown, indent = ''): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, '\n' + indent);
}

export function docComment(text: string | undefined, indent = ''): string[] {
  if (!text) return [];
  const lines = text.trim().replace(/\*\//g, '* /').split('\n');
  if (lines.length === 1) return [`${indent}/** ${lines[0]} */`];
  return [`${indent}/**`, ...lines.map((l) => `${indent} * ${l}`.trimEnd()), `${indent} */`];
}

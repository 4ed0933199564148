// Case name patterns for --run and known-failing lists: `*` matches any characters (also `/`),
// `?` one character; a pattern without wildcards matches that name and every name below it.

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function matchesPattern(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return name === pattern || name.startsWith(pattern.endsWith('/') ? pattern : `${pattern}/`);
  return globToRegExp(pattern).test(name);
}

export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => matchesPattern(p, name));
}

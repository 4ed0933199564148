// MQTT topic filter matching (exact, `+`, `#`), with `$share/<group>/` prefixes stripped.

/** Removes a `$share/<group>/` prefix; other filters come back unchanged. */
export function stripShare(filter: string): string {
  if (!filter.startsWith('$share/')) return filter;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? '' : rest.slice(slash + 1);
}

/** True when `topic` (a concrete topic name) matches `filter` (which may be shared). */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const f = stripShare(filter).split('/');
  const t = topic.split('/');
  // MQTT 5 §4.7.2: topics starting with `$` are not matched by a leading wildcard.
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True when `filter` is a syntactically valid MQTT filter (after the share prefix). */
export function isValidFilter(filter: string): boolean {
  if (filter.startsWith('$share/')) {
    const rest = filter.slice('$share/'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || /[+#]/.test(rest.slice(0, slash))) return false;
  }
  const levels = stripShare(filter).split('/');
  if (levels.length === 1 && levels[0] === '') return false;
  return levels.every((level, i) => {
    if (level === '#') return i === levels.length - 1;
    if (level === '+') return true;
    return !/[+#\u0000]/.test(level);
  });
}

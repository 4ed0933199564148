/** A doc comment of `text` wrapped at about 100 columns, or nothing when there is no text. */
export function comment(indent: string, text: string | undefined, open: string, mid: string, close: string | null): string[] {
  if (!text) return [];
  const words = text.replace(/\s+/g, ' ').trim().replace(/\*\//g, '* /').split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && (indent + mid + cur + ' ' + w).length > 100) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  if (close === null) return lines.map((l) => indent + mid + l);
  if (lines.length === 1 && (indent + open + lines[0] + close).length <= 100) return [indent + open + lines[0] + close];
  return [indent + open.trimEnd(), ...lines.map((l) => indent + mid + l), indent + close.replace(/^ (?=\S)/, mid.startsWith(' ') ? ' ' : '')];
}

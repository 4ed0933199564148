// A new post's hashtags (HashtagInput -> Hashtag in spec/components/identifiers.yaml): stored
// lower-case, without the leading '#', each once, in the order first given.
export function normalizeHashtags(input: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const raw of input ?? []) {
    const tag = raw.replace(/^#/, '').toLowerCase();
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
}

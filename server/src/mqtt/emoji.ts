// Reaction emoji: trimmed, then 1..limits.maxEmojiCodePoints (20) Unicode code points made only of emoji.
//
// Length is counted in CODE POINTS (not UTF-16 units, not grapheme clusters), the same unit as
// PostgreSQL's char_length: 👍 is 1, ❤️ 2, 🇫🇷 2, 1️⃣ 3, 👍🏽 2, 👩‍💻 3. Grapheme clusters would let
// 20 long ZWJ families through (over the column's 64-character check).
//
// Accepted elements, one or more in a row:
//   - a pictograph (\p{Extended_Pictographic}) with optional VS16 (U+FE0F) and skin-tone
//     modifiers (\p{Emoji_Modifier}), and ZWJ (U+200D) sequences of such pictographs;
//   - a flag: a pair of regional indicators, or a tag sequence (🏴 + tag characters + cancel tag);
//   - a keycap: 0-9, # or * + optional VS16 + U+20E3.
// Everything else fails: letters, digits or #/* alone, whitespace inside, control characters,
// a lone modifier, joiner, variation selector or regional indicator.

import { limits } from '@makapix/contract/asyncapi/limits';

const PICTOGRAPH = String.raw`\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})*`;
const ZWJ_SEQUENCE = String.raw`${PICTOGRAPH}(?:\u200D${PICTOGRAPH})*`;
const FLAG = String.raw`\p{Regional_Indicator}\p{Regional_Indicator}`;
const TAG_SEQUENCE = String.raw`\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F}`;
const KEYCAP = String.raw`[0-9#*]\uFE0F?\u20E3`;
const EMOJI_ONLY = new RegExp(String.raw`^(?:${TAG_SEQUENCE}|${FLAG}|${KEYCAP}|${ZWJ_SEQUENCE})+$`, 'u');

export const MAX_EMOJI_CODE_POINTS = limits.maxEmojiCodePoints;

/** The trimmed emoji when it is acceptable, else null. */
export function normalizeEmoji(input: string): string | null {
  const emoji = input.trim();
  const length = [...emoji].length;
  if (length < 1 || length > MAX_EMOJI_CODE_POINTS) return null;
  return EMOJI_ONLY.test(emoji) ? emoji : null;
}

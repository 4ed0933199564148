// The emoji rule of submit_reaction / revoke_reaction (code points counted, emoji only).
import { describe, expect, it } from 'vitest';
import { MAX_EMOJI_CODE_POINTS, normalizeEmoji } from '../../src/mqtt/emoji.js';

describe('normalizeEmoji', () => {
  it.each([
    ['👍', '👍'], ['❤️', '❤️'], ['❤', '❤'], ['🇫🇷', '🇫🇷'], ['1️⃣', '1️⃣'], ['#️⃣', '#️⃣'], ['5⃣', '5⃣'],
    ['👩‍💻', '👩‍💻'], ['👍🏽', '👍🏽'], [' 👍🏽 ', '👍🏽'], ['\t🔥\n', '🔥'], ['🏳️‍🌈', '🏳️‍🌈'], ['❤️‍🔥', '❤️‍🔥'],
    ['🧑🏽‍💻', '🧑🏽‍💻'], ['👨‍👩‍👧‍👦', '👨‍👩‍👧‍👦'], ['🏴󠁧󠁢󠁥󠁮󠁧󠁿', '🏴󠁧󠁢󠁥󠁮󠁧󠁿'], ['©️', '©️'], ['🔥🔥', '🔥🔥'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeEmoji(input)).toBe(expected);
  });

  it.each([
    'lol', 'a', 'é', '42', '7', '#', '*', '', ' ', '\u3000', 'a👍', '👍a', '👍 👍', '\u0000', '\u0007', '\u200d', '\ufe0f',
    '🏽', '🇫', '👍\u200d', "'; drop table reactions; --", '<script>',
  ])('refuses %j', (input) => {
    expect(normalizeEmoji(input)).toBeNull();
  });

  it('counts code points: 20 pass, 21 fail (a ZWJ sequence counts each of its parts)', () => {
    expect(normalizeEmoji('🔥'.repeat(MAX_EMOJI_CODE_POINTS))).not.toBeNull();
    expect(normalizeEmoji('🔥'.repeat(MAX_EMOJI_CODE_POINTS + 1))).toBeNull();
    expect([...'👨‍👩‍👧‍👦'].length).toBe(7);
    expect(normalizeEmoji('👨‍👩‍👧‍👦'.repeat(3))).toBeNull(); // 21 code points
  });
});

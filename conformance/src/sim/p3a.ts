// The p3a firmware's rules (see /work/shared/protocol/FIRMWARE_P3A.md), as data and small helpers
// the simulator's `profile: 'p3a'` uses. Payloads are the spec's own p3a examples (generated code).
import { createHash } from 'node:crypto';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import type { PlayerCapabilities, PlayerState } from '@makapix/contract/asyncapi/schemas';

export type SimProfile = 'default' | 'p3a';

export const P3A_FIRMWARE_VERSION = '1.1.1';
export const P3A_DEVICE_MODEL = 'p3a';

/** What p3a publishes retained on `…/capabilities` after subscribing (the spec's `p3a` example). */
export function p3aCapabilities(): PlayerCapabilities {
  return structuredClone(messageExamples.PlayerCapabilities.p3a);
}

/** What p3a publishes retained on `…/state` at start (the spec's `p3a` example). */
export function p3aInitialState(): PlayerState {
  return structuredClone(messageExamples.PlayerState.p3a);
}

/** p3a drops any inbound message over this many bytes (its reassembly buffer is 128 KiB). */
export const P3A_MAX_INBOUND_BYTES = 131_071;

/** The firmware's timings, each overridable through SimPlayerOptions (small values in tests). */
export const P3A_TIMINGS = {
  /** Wait for an answer this long per attempt. */
  requestTimeoutMs: 10_000,
  /** Attempts in all (the first publish plus two re-publishes with the same id). */
  requestAttempts: 3,
  /** Pauses before the 2nd and the 3rd attempt. */
  retryDelaysMs: [1000, 2000] as readonly number[],
  heartbeatMs: 30_000,
  walkPageSize: 32,
  walkPageDelayMs: 350,
  walkMaxPosts: 2048,
  viewFirstMs: 5000,
  viewEveryMs: 30_000,
  credentialsPollMs: 3000,
} as const;

/** `2026-07-23T10:24:48Z`: what p3a puts in `timestamp` (no fraction); the epoch while its clock is unset. */
export function p3aTimestamp(now: Date | null = new Date()): string {
  return (now ?? new Date(0)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The vault shard the firmware computes from a storage key: `aa/bb`, level i = byte i of
 * SHA-256(storage_key text) AND 0x3f, as two lower-case hex digits.
 */
export function firmwareShard(storageKey: string): string {
  const d = createHash('sha256').update(storageKey, 'utf8').digest();
  const level = (i: number) => (d[i]! & 0x3f).toString(16).padStart(2, '0');
  return `${level(0)}/${level(1)}`;
}

/** `{vault base}/{shard}/{storage_key}.{ext}`: where the firmware downloads an artwork (never art_url). */
export function firmwareArtworkUrl(vaultBase: string, storageKey: string, shard: string, ext: string): string {
  return `${vaultBase.replace(/\/+$/, '')}/${shard}/${storageKey}.${ext}`;
}

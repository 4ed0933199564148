// Keeps a response under the firmware's inbound buffer (limits.maxPayloadBytes): items are taken in
// order while the serialized page (envelope, items and a cursor of the largest size) stays within the budget.
import { limits } from '@makapix/contract/asyncapi/limits';
import { MAX_CURSOR_LENGTH } from './cursor.js';

/** Room kept for the topic and the packet header (ours, not the protocol's). */
const PACKET_HEADROOM_BYTES = 1024;
/** Payload budget: the protocol's payload limit minus room for the topic and packet header. */
export const RESPONSE_BUDGET_BYTES = limits.maxPayloadBytes - PACKET_HEADROOM_BYTES;

export class PageFitter {
  private used: number;
  private count = 0;

  /** `emptyPage` is the response with an empty list and `next_cursor: null`; room for the longest cursor is kept. */
  constructor(emptyPage: Record<string, unknown>, private readonly budget = RESPONSE_BUDGET_BYTES) {
    this.used = Buffer.byteLength(JSON.stringify(emptyPage)) + MAX_CURSOR_LENGTH + 2;
  }

  /** Reserves room for `item`; false (and nothing reserved) when it does not fit. */
  add(item: unknown): boolean {
    return this.addBytes(Buffer.byteLength(JSON.stringify(item)));
  }

  /** `add` for an item whose serialized size (UTF-8 bytes) is known. */
  addBytes(itemBytes: number): boolean {
    const size = itemBytes + (this.count > 0 ? 1 : 0);
    if (this.used + size > this.budget) return false;
    this.used += size;
    this.count += 1;
    return true;
  }
}

// Public user ids: the Sqids encoding of users.id, used in REST paths /u/{sqid}/...
// Decoding is strict: only the canonical encoding of one positive integer is accepted, so every
// user has exactly one sqid (Sqids would otherwise decode many strings to the same number).
import Sqids from 'sqids';

export const SQID_MIN_LENGTH = 5;

const codec = new Sqids({ minLength: SQID_MIN_LENGTH });

/** The sqid of a user's integer id. */
export function encodeUserId(id: number): string {
  if (!Number.isSafeInteger(id) || id < 1) throw new RangeError(`user id must be a positive safe integer (got ${id})`);
  return codec.encode([id]);
}

/** The user id of a sqid, or null when `sqid` is not the canonical sqid of a positive integer. */
export function decodeUserSqid(sqid: string): number | null {
  if (typeof sqid !== 'string' || sqid.length < SQID_MIN_LENGTH || sqid.length > 32 || !/^[A-Za-z0-9]+$/.test(sqid)) return null;
  let numbers: number[];
  try {
    numbers = codec.decode(sqid);
  } catch {
    return null;
  }
  if (numbers.length !== 1) return null;
  const id = numbers[0]!;
  if (!Number.isSafeInteger(id) || id < 1) return null;
  return codec.encode([id]) === sqid ? id : null;
}

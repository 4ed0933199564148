// Request ids as the firmware makes them: 32 lower-case hex characters.
import { randomBytes } from 'node:crypto';

export function newRequestId(): string {
  return randomBytes(16).toString('hex');
}

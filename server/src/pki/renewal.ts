// Device certificates may be renewed only in the last 30 days of their validity (or once expired).
import { DAY_MS } from './x509.js';

export const RENEW_WINDOW_DAYS = 30;

/** The first moment renewal is allowed. */
export function renewalOpensAt(notAfter: Date, windowDays = RENEW_WINDOW_DAYS): Date {
  return new Date(notAfter.getTime() - windowDays * DAY_MS);
}

/** True from `windowDays` before `notAfter` on (an expired certificate can be renewed too). */
export function canRenew(notAfter: Date, now: Date = new Date(), windowDays = RENEW_WINDOW_DAYS): boolean {
  return now.getTime() >= renewalOpensAt(notAfter, windowDays).getTime();
}

// Rate limits on REST operations that could otherwise be used to guess secrets (passwords,
// registration codes) or to load the server (sign-ups, broker credentials): 429 with Retry-After.
import { HttpError } from '../../../codegen/runtime/index.js';
import type { AppContext } from '../context.js';

export async function throttle(ctx: AppContext, key: string, limit: number, what: string): Promise<void> {
  const r = await ctx.rateLimiter.hit([{ key, limit }]);
  if (!r.allowed) {
    const w = ctx.config.rateLimits.windowSeconds;
    throw new HttpError(429, 'rate_limit_exceeded', `Rate limit exceeded; retry in ${r.retryAfterSeconds} seconds (at most ${limit} ${what} per ${w === 60 ? 'minute' : `${w} s`})`, {
      'Retry-After': String(r.retryAfterSeconds),
    });
  }
}

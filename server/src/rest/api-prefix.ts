// The other bases of every REST operation (spec/openapi.yaml `servers`): the p3a firmware calls
// `/api/player/provision` where 1.0 clients call `/player/provision`, and the Makapix app makes its
// account calls under `/api/v1` (`/api/v1/auth/token`); all answer the same.
export const API_PREFIX = '/api';
export const API_V1_PREFIX = '/api/v1';
export const API_PREFIXES = [API_PREFIX, API_V1_PREFIX] as const;

/** A spec path as served: itself and under each prefix. */
export function servedPaths(path: string): string[] {
  return [path, ...API_PREFIXES.map((prefix) => `${prefix}${path}`)];
}

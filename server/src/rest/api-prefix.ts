// The second base of every REST operation (spec/openapi.yaml `servers`): the p3a firmware calls
// `/api/player/provision` where 1.0 clients call `/player/provision`; both answer the same.
export const API_PREFIX = '/api';

/** A spec path as served: itself and under API_PREFIX. */
export function servedPaths(path: string): [string, string] {
  return [path, `${API_PREFIX}${path}`];
}

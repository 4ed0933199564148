// Secrets that travel in a path: GET /player/{player_key}/credentials needs nothing but the key
// (it is the device's bearer secret), and every makapix/player/{player_key}/... topic carries it
// too. The templates come from the generated route table and channel list, so a new route or
// channel with a {player_key} level is covered without a change here.
import { channels } from '@makapix/contract/asyncapi/channels';
import { routes } from '@makapix/contract/openapi/routes';
import { servedPaths } from '../rest/api-prefix.js';

/** Path and topic parameters whose value alone grants access. */
export const SECRET_PARAMS: ReadonlySet<string> = new Set(['player_key']);

export const REDACTED = '<redacted>';

type Level = { literal: string } | { param: string; secret: boolean };

const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

function compile(template: string): Level[] {
  return template.split('/').map((level) => {
    const m = PARAM.exec(level);
    return m ? { param: m[1]!, secret: SECRET_PARAMS.has(m[1]!) } : { literal: level };
  });
}

/** Replaces the secret levels of `path` by REDACTED when it starts like one of the templates (more levels may follow). */
export class SecretLevelRedactor {
  private readonly patterns: Level[][];

  constructor(templates: Iterable<string>) {
    this.patterns = [...new Set(templates)].map(compile).filter((p) => p.some((l) => 'secret' in l && l.secret));
  }

  redact(path: string): string {
    const levels = path.split('/');
    // The router matches percent-decoded levels (`%63redentials` is `credentials`): so does this.
    const decoded = levels.map((level) => {
      try {
        return decodeURIComponent(level);
      } catch {
        return level;
      }
    });
    for (const pattern of this.patterns) {
      if (levels.length < pattern.length) continue;
      const matches = pattern.every((l, i) => ('literal' in l ? l.literal === decoded[i] : levels[i] !== ''));
      if (!matches) continue;
      pattern.forEach((l, i) => {
        if ('secret' in l && l.secret) levels[i] = REDACTED;
      });
      return levels.join('/');
    }
    return path;
  }
}

// every route is served at its path and under /api and /api/v1 (rest/api-prefix.ts)
const restPaths = new SecretLevelRedactor(Object.values(routes).flatMap((r) => servedPaths(r.url)));
const topics = new SecretLevelRedactor(Object.values(channels).map((c) => c.topic.address));

/** A request URL as it may be logged: `/player/<redacted>/credentials` (the query string is kept). */
export function redactUrl(url: string): string {
  const end = url.search(/[?#]/);
  return end < 0 ? restPaths.redact(url) : restPaths.redact(url.slice(0, end)) + url.slice(end);
}

/** An MQTT topic as it may be logged: `makapix/player/<redacted>/status`. */
export function redactTopic(topic: string): string {
  return topics.redact(topic);
}

// Topic templates: `makapix/player/{player_key}/request/{request_id}` formatted, parsed and
// turned into subscription filters, with every parameter checked on the way in and out.

export type ParamKind = 'string' | 'integer';

export interface ParamSpec {
  kind: ParamKind;
  /** Extra check of the (converted) value, e.g. a UUID test; false rejects it. */
  check?: (v: unknown) => boolean;
}

export type TopicParams = Record<string, string | number>;

export interface TopicTemplate<P extends TopicParams> {
  readonly address: string;
  readonly params: readonly (keyof P & string)[];
  /** The concrete topic; throws TopicParamError when a value is empty, contains `/`, `+`, `#`, or fails its kind/check. */
  format(params: P): string;
  /** The parameters of a concrete topic (integers converted), or null when it does not match or a value fails its check. */
  parse(topic: string): P | null;
  /** A subscription filter: `+` for each parameter not fixed. */
  filter(fixed?: Partial<P>): string;
  /** Like filter(), but trailing unfixed parameters collapse into one `#` (e.g. `.../response/#`). */
  filterRest(fixed?: Partial<P>): string;
  /** `$share/<group>/` + filter(fixed). */
  shared(group: string, fixed?: Partial<P>): string;
  matches(topic: string): boolean;
}

export class TopicParamError extends Error {
  override readonly name = 'TopicParamError';
  constructor(
    readonly address: string,
    readonly param: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`topic ${address}: parameter ${param} ${reason} (got ${describe(value)})`);
  }
}

function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}

type Segment = { literal: string } | { param: string };

const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const FORBIDDEN = /[/+#\u0000]/;

/** Checks a level name used as a `$share` group or a topic value: non-empty, no `/`, `+`, `#`, NUL. */
export function isSafeLevel(value: string): boolean {
  return value.length > 0 && !FORBIDDEN.test(value);
}

export function topicTemplate<P extends TopicParams>(
  address: string,
  kinds: { [K in keyof P]: ParamSpec },
): TopicTemplate<P> {
  const segments: Segment[] = address.split('/').map((level) => {
    const m = PARAM.exec(level);
    if (m) return { param: m[1] };
    if (/[{}+#\u0000]/.test(level)) throw new Error(`topic ${address}: level "${level}" must be a literal or exactly one {param}`);
    return { literal: level };
  });
  const params = segments.flatMap((s) => ('param' in s ? [s.param] : [])) as (keyof P & string)[];
  const specs = kinds as Record<string, ParamSpec>;
  if (new Set(params).size !== params.length) throw new Error(`topic ${address}: a parameter appears twice`);
  const declared = Object.keys(specs);
  const missing = params.filter((p) => !(p in specs));
  const extra = declared.filter((k) => !params.includes(k as keyof P & string));
  if (missing.length || extra.length) {
    throw new Error(`topic ${address}: parameter kinds do not match the address (missing: ${missing.join(', ') || '-'}; extra: ${extra.join(', ') || '-'})`);
  }

  const passesCheck = (spec: ParamSpec, value: unknown): boolean => {
    if (!spec.check) return true;
    try {
      return spec.check(value) === true;
    } catch {
      return false;
    }
  };

  const encode = (name: string, value: unknown): string => {
    const spec = specs[name];
    if (spec.kind === 'integer') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TopicParamError(address, name, value, 'must be a safe integer');
    } else {
      if (typeof value !== 'string') throw new TopicParamError(address, name, value, 'must be a string');
      if (value.length === 0) throw new TopicParamError(address, name, value, 'must not be empty');
      if (FORBIDDEN.test(value)) throw new TopicParamError(address, name, value, "must not contain '/', '+', '#' or NUL");
    }
    if (!passesCheck(spec, value)) throw new TopicParamError(address, name, value, 'fails its check');
    return String(value);
  };

  const decode = (name: string, level: string): string | number | undefined => {
    const spec = specs[name];
    if (!isSafeLevel(level)) return undefined;
    let value: string | number = level;
    if (spec.kind === 'integer') {
      if (!INTEGER.test(level)) return undefined;
      value = Number(level);
      if (!Number.isSafeInteger(value)) return undefined;
    }
    return passesCheck(spec, value) ? value : undefined;
  };

  const levels = (fixed: Partial<P> | undefined): string[] =>
    segments.map((s) => {
      if ('literal' in s) return s.literal;
      const value = fixed?.[s.param as keyof P];
      return value === undefined ? '+' : encode(s.param, value);
    });

  const template: TopicTemplate<P> = {
    address,
    params,
    format(values) {
      if (values === null || typeof values !== 'object') throw new TopicParamError(address, '(all)', values, 'must be given as an object');
      return segments.map((s) => ('literal' in s ? s.literal : encode(s.param, (values as Record<string, unknown>)[s.param]))).join('/');
    },
    parse(topic) {
      const parts = topic.split('/');
      if (parts.length !== segments.length) return null;
      const out: Record<string, string | number> = {};
      for (let i = 0; i < segments.length; i++) {
        const s = segments[i];
        if ('literal' in s) {
          if (parts[i] !== s.literal) return null;
          continue;
        }
        const value = decode(s.param, parts[i]);
        if (value === undefined) return null;
        out[s.param] = value;
      }
      return out as P;
    },
    filter(fixed) {
      return levels(fixed).join('/');
    },
    filterRest(fixed) {
      const out = levels(fixed);
      let end = out.length;
      while (end > 0 && out[end - 1] === '+' && 'param' in segments[end - 1]) end--;
      return end === out.length ? out.join('/') : [...out.slice(0, end), '#'].join('/');
    },
    shared(group, fixed) {
      if (typeof group !== 'string' || !isSafeLevel(group)) throw new TopicParamError(address, '$share group', group, "must be non-empty without '/', '+', '#' or NUL");
      return `$share/${group}/${levels(fixed).join('/')}`;
    },
    matches(topic) {
      return template.parse(topic) !== null;
    },
  };
  return template;
}

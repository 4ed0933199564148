// A parser of the Prometheus text exposition format (version 0.0.4), strict enough for tests: every
// line is a comment (# HELP / # TYPE) or a sample `name{label="value",...} value`, label values with
// the format's escapes (\\, \", \n). A line that is neither throws, naming it.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Family name -> counter, gauge, histogram, summary or untyped. */
  types: Map<string, string>;
  help: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // prom-client writes `Nan`; Prometheus reads floats with Go's ParseFloat, which ignores the case of NaN
  if (/^nan$/i.test(text)) return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`not a sample value: ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  return n;
}

function parseSample(line: string): Sample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    while (!rest.startsWith('}')) {
      const ln = LABEL_NAME.exec(rest);
      if (!ln || rest[ln[0].length] !== '=' || rest[ln[0].length + 1] !== '"') throw new Error(`bad label in ${JSON.stringify(line)}`);
      rest = rest.slice(ln[0].length + 2);
      let value = '';
      for (;;) {
        const c = rest[0];
        if (c === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
        rest = rest.slice(1);
        if (c === '"') break;
        if (c === '\\') {
          const e = rest[0];
          rest = rest.slice(1);
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`bad escape \\${e} in ${JSON.stringify(line)}`);
        } else {
          value += c;
        }
      }
      if (ln[0] in labels) throw new Error(`label ${ln[0]} twice in ${JSON.stringify(line)}`);
      labels[ln[0]] = value;
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error(`expected , or } in ${JSON.stringify(line)}`);
    }
    rest = rest.slice(1);
  }
  if (!rest.startsWith(' ')) throw new Error(`expected a space before the value in ${JSON.stringify(line)}`);
  const [valueText, timestamp, ...more] = rest.trim().split(/\s+/);
  if (more.length > 0 || (timestamp !== undefined && !/^-?[0-9]+$/.test(timestamp))) throw new Error(`trailing text in ${JSON.stringify(line)}`);
  return { name, labels, value: parseValue(valueText ?? '', line) };
}

export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map() };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (m) (m[1] === 'TYPE' ? out.types : out.help).set(m[2]!, m[3]!);
      continue;
    }
    out.samples.push(parseSample(line));
  }
  return out;
}

/** The samples named `name` whose labels include `labels`. */
export function samples(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of those samples (0 when there is none). */
export function total(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return samples(e, name, labels).reduce((sum, s) => sum + s.value, 0);
}

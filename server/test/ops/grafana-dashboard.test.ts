// The Grafana dashboard (server/ops/grafana-dashboard.json) is valid JSON of a dashboard, and its
// PromQL names only metrics the server exports (its own and Node's default ones, histogram series
// included), only labels those metrics have, and only known PromQL functions.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PromMetrics } from '../../src/metrics/index.js';

const FILE = new URL('../../ops/grafana-dashboard.json', import.meta.url);

interface Target { expr?: string; refId?: string; legendFormat?: string }
interface Panel { id?: number; type?: string; title?: string; gridPos?: { h: number; w: number; x: number; y: number }; targets?: Target[]; panels?: Panel[] }
interface Dashboard { title?: string; uid?: string; schemaVersion?: number; panels?: Panel[]; templating?: { list: { name: string; query?: unknown }[] } }

const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as Dashboard;

/** Every series name the server exports, with the labels of each (histograms: _bucket with le, _sum, _count). */
function exported(): Map<string, Set<string>> {
  const metrics = new PromMetrics({ dbPoolMax: 1 });
  const out = new Map<string, Set<string>>();
  for (const m of metrics.registry.getMetricsAsArray() as unknown as { name: string; type: string; labelNames?: string[] }[]) {
    const labels = new Set(m.labelNames ?? []);
    if (m.type === 'histogram') {
      out.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${m.name}_sum`, labels);
      out.set(`${m.name}_count`, labels);
    } else {
      out.set(m.name, labels);
    }
  }
  return out;
}

const FUNCTIONS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'vector', 'scalar', 'abs', 'clamp_min', 'clamp_max',
  'avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'label_replace', 'time', 'absent',
]);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['instance', 'job'];

interface Parsed { metrics: string[]; functions: string[]; labels: string[] }

/** A small PromQL reader: metric names, function names, and the labels named in matchers and by/without clauses. */
function parsePromQL(expr: string): Parsed {
  const labels: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""'); // strings
  rest = rest.replace(/\{([^}]*)\}/g, (_m, inner: string) => {
    for (const part of inner.split(',')) {
      const name = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/.exec(part);
      if (part.trim() !== '') {
        expect(name, `a label matcher in ${expr}`).not.toBeNull();
        labels.push(name![1]!);
      }
    }
    return ' ';
  });
  rest = rest.replace(/\b(by|without|on|ignoring)\s*\(([^)]*)\)/g, (_m, _kw: string, inner: string) => {
    for (const l of inner.split(',').map((s) => s.trim()).filter(Boolean)) labels.push(l);
    return ' ';
  });
  rest = rest.replace(/\[[^\]]*\]/g, ' '); // ranges, Grafana's $__rate_interval included
  const metrics: string[] = [];
  const functions: string[] = [];
  for (const m of rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = rest.slice(m.index! + word.length);
    if (/^\s*\(/.test(after)) functions.push(word);
    else if (!KEYWORDS.has(word)) metrics.push(word);
  }
  return { metrics, functions, labels };
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

describe('the Grafana dashboard', () => {
  const panels = allPanels(dashboard.panels ?? []);
  const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? '?', ...t })));
  const series = exported();

  it('is a dashboard: title, uid, schema version, panels with unique ids, grid positions and queries', () => {
    expect(dashboard.title).toBe('Makapix server');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(typeof dashboard.schemaVersion).toBe('number');
    expect(panels.length).toBeGreaterThan(10);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.type, p.title).toMatch(/^(row|timeseries|stat)$/);
      expect(p.gridPos, p.title).toEqual({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      expect(p.gridPos!.x + p.gridPos!.w, p.title).toBeLessThanOrEqual(24);
      if (p.type !== 'row') {
        expect(p.targets?.length, p.title).toBeGreaterThan(0);
        const refs = p.targets!.map((t) => t.refId);
        expect(new Set(refs).size, p.title).toBe(refs.length);
      }
    }
  });

  it('queries only metrics the server exports, with their labels, through known PromQL functions', () => {
    const used = new Set<string>();
    const queries = [
      ...targets.map((t) => ({ where: `${t.panel} ${t.refId}`, expr: t.expr ?? '' })),
      ...(dashboard.templating?.list ?? []).flatMap((v) => {
        const q = v.query as { query?: string } | string | undefined;
        const text = typeof q === 'string' ? q : q?.query;
        const m = text ? /^label_values\((\w+),\s*(\w+)\)$/.exec(text) : null;
        return m ? [{ where: `variable ${v.name}`, expr: `${m[1]}{${m[2]}=""}` }] : [];
      }),
    ];
    for (const { where, expr } of queries) {
      expect(expr, where).not.toBe('');
      const parsed = parsePromQL(expr);
      expect(parsed.metrics.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const f of parsed.functions) expect(FUNCTIONS.has(f), `${where}: unknown function ${f}`).toBe(true);
      const known = new Set(TARGET_LABELS);
      for (const m of parsed.metrics) {
        expect(series.has(m), `${where}: ${m} is not exported by the server`).toBe(true);
        for (const l of series.get(m) ?? []) known.add(l);
        used.add(m);
      }
      for (const l of parsed.labels) expect(known.has(l), `${where}: label ${l} is not a label of ${parsed.metrics.join(', ')}`).toBe(true);
    }
    // what the issue asks the dashboard to show
    for (const m of ['makapix_mqtt_requests_total', 'makapix_mqtt_request_duration_seconds_bucket', 'makapix_players_online', 'makapix_outbox_pending']) {
      expect(used.has(m), m).toBe(true);
    }
  });

  it('has panels for request rate and latency percentiles by type, errors by code, players online and outbox depth', () => {
    const exprOf = (title: string) => panels.find((p) => p.title === title)?.targets?.map((t) => t.expr).join(' ') ?? '';
    expect(exprOf('Request rate by type')).toMatch(/sum by \(request_type\) \(rate\(makapix_mqtt_requests_total/);
    for (const [title, q] of [['Latency p50 by type', '0.5'], ['Latency p90 by type', '0.9'], ['Latency p99 by type', '0.99']]) {
      expect(exprOf(title!), title).toContain(`histogram_quantile(${q}, sum by (request_type, le) (rate(makapix_mqtt_request_duration_seconds_bucket`);
    }
    expect(exprOf('Error answers by code')).toMatch(/sum by \(outcome\)/);
    expect(exprOf('Players online')).toContain('makapix_players_online');
    expect(exprOf('Outbox depth')).toContain('makapix_outbox_pending');
  });

  it('the PromQL reader finds what it must (a check of the check)', () => {
    expect(parsePromQL('histogram_quantile(0.99, sum by (request_type, le) (rate(x_bucket{instance=~"$i",a!="b"}[$__rate_interval])))'))
      .toEqual({ metrics: ['x_bucket'], functions: ['histogram_quantile', 'sum', 'rate'], labels: ['instance', 'a', 'request_type', 'le'] });
    expect(parsePromQL('count(up{job="x"} == 0) or vector(0)')).toEqual({ metrics: ['up'], functions: ['count', 'vector'], labels: ['job'] });
  });
});

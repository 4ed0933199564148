// Runs cases one after the other: --run selection, feature skips, per-case errors turned into
// results, known-failing entries applied, and the stale-entry check at the end.
import { CaseRecorder, SkipCase, StopCase, type CaseDef, type CaseResult } from '../model/case.js';
import { matchesAny } from './glob.js';
import { knownFailingFor, staleEntries, type KnownFailingEntry } from './known-failing.js';

export interface SuiteOptions {
  /** Features the target declares. */
  features: ReadonlySet<string>;
  /** --run patterns; empty runs every case. */
  run?: readonly string[];
  knownFailing?: readonly KnownFailingEntry[];
  /**
   * The most a case may take. A case still running then is failed with that finding and the run
   * goes on (a target that never answers some step cannot hang the run). Default: no limit.
   */
  caseBudgetMs?: number;
  /** Called after each case (the human report prints as the run goes). */
  onResult?: (r: CaseResult) => void;
}

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
  knownFailing: number;
}

export interface SuiteResult {
  mode: 'server' | 'player';
  target: string;
  features: string[];
  results: CaseResult[];
  /** Known-failing entries that must go (a failure of the run). */
  stale: string[];
  totals: Totals;
  durationMs: number;
}

export function totalsOf(results: readonly CaseResult[]): Totals {
  const t: Totals = { passed: 0, failed: 0, skipped: 0, knownFailing: 0 };
  for (const r of results) {
    if (r.status === 'passed') t.passed++;
    else if (r.status === 'failed') t.failed++;
    else if (r.status === 'skipped') t.skipped++;
    else t.knownFailing++;
  }
  return t;
}

export async function runCases<Ctx>(
  cases: readonly CaseDef<Ctx>[],
  ctx: Ctx,
  meta: { mode: 'server' | 'player'; target: string },
  opts: SuiteOptions,
): Promise<SuiteResult> {
  const started = Date.now();
  const selected = opts.run?.length ? cases.filter((c) => matchesAny(opts.run!, c.name)) : [...cases];
  const results: CaseResult[] = [];
  for (const c of selected) {
    const result = await runOne(c, ctx, opts);
    results.push(result);
    opts.onResult?.(result);
  }
  const stale = staleEntries(opts.knownFailing ?? [], cases.map((c) => c.name), results);
  return { ...meta, features: [...opts.features].sort(), results, stale, totals: totalsOf(results), durationMs: Date.now() - started };
}

async function runOne<Ctx>(c: CaseDef<Ctx>, ctx: Ctx, opts: SuiteOptions): Promise<CaseResult> {
  const base = { name: c.name, mismatches: [], reproduce: [] };
  const missing = c.features.filter((f) => !opts.features.has(f));
  if (missing.length) return { ...base, status: 'skipped', durationMs: 0, skipReason: `needs feature ${missing.join(', ')}` };
  const rec = new CaseRecorder();
  const t0 = Date.now();
  try {
    await withBudget(c.run(ctx, rec), opts.caseBudgetMs, rec);
  } catch (err) {
    if (err instanceof SkipCase) return { ...base, status: 'skipped', durationMs: Date.now() - t0, skipReason: err.message };
    if (!(err instanceof StopCase)) {
      rec.mismatch({ topic: '', pointer: '', expected: 'the case to run to its end', got: `error: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  rec.close();
  const durationMs = Date.now() - t0;
  const result: CaseResult = { name: c.name, status: rec.failed ? 'failed' : 'passed', durationMs, mismatches: [...rec.mismatches], reproduce: [...rec.reproduce] };
  if (result.status === 'failed') {
    const kf = knownFailingFor(opts.knownFailing ?? [], c.name);
    if (kf) return { ...result, status: 'known_failing', knownFailing: kf.comment };
  }
  return result;
}

/** Resolves when `run` settles or, with a budget, when the budget is spent (recording that). */
async function withBudget(run: Promise<void>, budgetMs: number | undefined, rec: CaseRecorder): Promise<void> {
  if (budgetMs === undefined) return run;
  let timer: NodeJS.Timeout | undefined;
  const spent = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      rec.mismatch({ topic: '', pointer: '', expected: `the case to finish within ${budgetMs} ms`, got: 'still waiting on a step that never completed' });
      resolve();
    }, budgetMs);
  });
  try {
    await Promise.race([run, spent]);
  } finally {
    clearTimeout(timer);
  }
}

// makapix-conformance: parse, load the case files and the known-failing list, run one suite,
// print the human report as it goes, write the JSON/JUnit files, return the exit code.
import { writeFileSync } from 'node:fs';
import { CaseFileError, loadCaseFiles, type LoadedCaseFile } from '../cases/load.js';
import { playerCases, runPlayerSuite } from '../player/suite.js';
import { formatCaseResult, formatHeader, formatTotals } from '../report/human.js';
import { formatJson } from '../report/json.js';
import { formatJunit } from '../report/junit.js';
import type { SuiteResult } from '../run/execute.js';
import { KnownFailingError, readKnownFailing, type KnownFailingEntry } from '../run/known-failing.js';
import { TargetError } from '../run/target-error.js';
import { runServerSuite, serverCases, type RunStart } from '../server/suite.js';
import { parseCli, USAGE, UsageError, type Common, type Parsed } from './args.js';

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const consoleIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export function exitCodeOf(s: SuiteResult): 0 | 1 {
  return s.totals.failed === 0 && s.stale.length === 0 ? 0 : 1;
}

export function writeReports(common: Common, s: SuiteResult, io: Io): void {
  for (const r of common.reports) {
    writeFileSync(r.file, r.kind === 'json' ? formatJson(s) : formatJunit(s));
    io.err(`wrote ${r.kind} report ${r.file}`);
  }
}

/** Runs the suite of a parsed command line; used by main() and by local.ts. */
export async function runParsed(p: Exclude<Parsed, { mode: 'help' }>, files: readonly LoadedCaseFile[], knownFailing: KnownFailingEntry[], io: Io): Promise<SuiteResult> {
  const log = p.common.verbose ? (line: string) => io.err(`  | ${line}`) : undefined;
  const onStart = (s: RunStart) => {
    io.out(formatHeader(s));
    for (const n of s.notes) io.out(`note: ${n}`);
  };
  const suite = { run: p.common.run, knownFailing, onResult: (r: Parameters<typeof formatCaseResult>[0]) => io.out(formatCaseResult(r)) };
  const s = p.mode === 'server'
    ? await runServerSuite({ ...p.server, log }, files, suite, onStart)
    : await runPlayerSuite({ ...p.player, log }, files, suite, onStart);
  io.out(formatTotals(s));
  writeReports(p.common, s, io);
  return s;
}

export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  let p: Parsed;
  try {
    p = parseCli(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (p.mode === 'help') {
    io.out(USAGE);
    return 0;
  }
  let files: LoadedCaseFile[];
  let knownFailing: KnownFailingEntry[] = [];
  try {
    files = loadCaseFiles();
    if (p.common.knownFailing) knownFailing = readKnownFailing(p.common.knownFailing);
  } catch (err) {
    if (err instanceof CaseFileError || err instanceof KnownFailingError) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (p.common.list) {
    const cases = p.mode === 'server' ? serverCases(files) : playerCases(files);
    for (const c of cases) io.out(`${c.name}${c.features.length ? `  [${c.features.join(', ')}]` : ''}  (${c.source})`);
    return 0;
  }
  try {
    return exitCodeOf(await runParsed(p, files, knownFailing, io));
  } catch (err) {
    if (err instanceof TargetError) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

// `make chaos`: every fault of scenarios.ts against a fresh system under a bounded load of
// firmware-like players; prints one table row per run. Goal: 0 lost, 0 answered twice
// differently, recovery under 5 s, nothing done by hand. Exits 1 when a run misses it.
// CHAOS_KEEP_DATA=1 keeps each run's folder (server logs under server-logs/).
//   npx tsx server/test/chaos/cli.ts [--players 8] [--rate 10] [--after-ms 15000] [--drain-ms 40000] [--only <fault,...>]
import { FAULTS, formatTable, runFault, type RunOptions, type RunResult } from './scenarios.js';

const USAGE = 'usage: npx tsx server/test/chaos/cli.ts [--players 8] [--rate 10] [--after-ms 15000] [--drain-ms 40000] [--session-expiry <s>] [--only <fault,...>]';

function parse(argv: string[]): { run: Omit<RunOptions, 'log'>; only: string[] | null } {
  const run: Omit<RunOptions, 'log'> = { players: 8, rate: 10, afterMs: 15_000, drainMs: 40_000 };
  let only: string[] | null = null;
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i]!, argv[i + 1]];
    if (value === undefined) throw new Error(`${name} needs a value\n${USAGE}`);
    const int = () => {
      if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new Error(`${name} must be a positive integer (got ${JSON.stringify(value)})\n${USAGE}`);
      return Number(value);
    };
    if (name === '--players') run.players = int();
    else if (name === '--rate') run.rate = int();
    else if (name === '--after-ms') run.afterMs = int();
    else if (name === '--drain-ms') run.drainMs = int();
    else if (name === '--session-expiry') run.sessionExpirySeconds = int();
    else if (name === '--only') {
      only = value.split(',');
      const unknown = only.filter((f) => !FAULTS.some((x) => x.name === f));
      if (unknown.length > 0) throw new Error(`unknown fault(s) ${unknown.join(', ')}; known: ${FAULTS.map((f) => f.name).join(', ')}`);
    } else throw new Error(`unknown option ${name}\n${USAGE}`);
  }
  return { run, only };
}

async function main(): Promise<void> {
  const { run, only } = parse(process.argv.slice(2));
  const quiet = { info: () => {}, warn: () => {}, error: (o: object, m: string) => console.error(`  ${m}`) };
  const rows: RunResult[] = [];
  console.log(`chaos: ${run.players} players, ${run.rate} requests/s in all, load kept ${run.afterMs} ms after the fault`);
  for (const f of FAULTS.filter((x) => only === null || only.includes(x.name))) {
    console.log(`- ${f.name}: ${f.what}`);
    rows.push(await runFault(f, { ...run, log: quiet }));
    console.log(formatTable(rows.slice(-1)).split('\n').slice(2).join('\n'));
  }
  console.log(`\n${formatTable(rows)}`);
  const missed = rows.filter((r) => r.lost > 0 || r.duplicatedDifferent > 0 || r.recoverSeconds === null || r.recoverSeconds >= 5);
  if (missed.length > 0) {
    console.log(`\nmissed the goal (0 lost, 0 answered twice differently, recovery < 5 s): ${missed.map((r) => r.fault).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});

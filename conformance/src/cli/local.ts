// `make conformance`: a fresh stack (Mosquitto, PostgreSQL, our server on free ports), then the
// server suite against our server (REST setup, a moderator granted by the operator command) and the player suite against
// the reference simulator (provisioned and registered through our REST API, 2 s heartbeat), each
// with its known-failing list under conformance/known-failing/ (empty in CI).
// Options: --timeout-ms N (default 10000), --run GLOB, --verbose, --report json:FILE|junit:FILE
// (written as FILE with .server/.player before the extension), --sim-profile default|p3a (the
// simulator's profile for the player suite; p3a: the real firmware's rules, known failures in
// known-failing/player-p3a.txt), --skip-server (only the player suite).
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { registerModerator, registerUser, startStack, TEST_PASSWORD, type Stack } from '../../../server/devenv/stack.js';
import { loadCaseFiles } from '../cases/load.js';
import { runPlayerSuite, P3A_PLAYER_FEATURES } from '../player/suite.js';
import { formatCaseResult, formatHeader, formatTotals } from '../report/human.js';
import { readKnownFailing } from '../run/known-failing.js';
import { TargetError } from '../run/target-error.js';
import type { SuiteResult } from '../run/execute.js';
import { runServerSuite, type RunStart } from '../server/suite.js';
import { SimPlayer } from '../sim/index.js';
import { consoleIo, exitCodeOf, writeReports, type Io } from './main.js';
import type { Common } from './args.js';

const SIM_HEARTBEAT_MS = 2000;

function reportsFor(common: Common, suite: 'server' | 'player'): Common {
  return { ...common, reports: common.reports.map((r) => ({ ...r, file: r.file.replace(/(\.[^./]+)?$/, `.${suite}$1`) })) };
}

export async function runLocal(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  const { values: v } = parseArgs({
    args: [...argv],
    options: {
      'timeout-ms': { type: 'string' }, run: { type: 'string', multiple: true }, verbose: { type: 'boolean' }, report: { type: 'string', multiple: true },
      'sim-profile': { type: 'string' }, 'skip-server': { type: 'boolean' },
    },
  });
  const simProfile = v['sim-profile'] ?? 'default';
  if (simProfile !== 'default' && simProfile !== 'p3a') {
    io.err(`error: --sim-profile must be default or p3a (got ${JSON.stringify(simProfile)})`);
    return 2;
  }
  const common: Common = {
    timeoutMs: Number(v['timeout-ms'] ?? 10_000), run: v.run ?? [], verbose: v.verbose === true, list: false,
    reports: (v.report ?? []).map((r) => ({ kind: r.startsWith('junit:') ? 'junit' : 'json', file: r.replace(/^(json|junit):/, '') })),
  };
  const files = loadCaseFiles();
  const knownDir = new URL('../../known-failing/', import.meta.url).pathname;
  const log = common.verbose ? (line: string) => io.err(`  | ${line}`) : undefined;
  const onStart = (s: RunStart) => {
    io.out(formatHeader(s));
    for (const n of s.notes) io.out(`note: ${n}`);
  };
  const onResult = (r: Parameters<typeof formatCaseResult>[0]) => io.out(formatCaseResult(r));
  io.out('starting Mosquitto, PostgreSQL and the server ...');
  let stack: Stack;
  let moderatorLogin: { email: string; password: string };
  try {
    stack = await startStack();
    // the moderator is an account the operator's command made one (make admin), as in production
    moderatorLogin = { email: (await registerModerator(stack, `mod${randomBytes(4).toString('hex')}`)).email, password: TEST_PASSWORD };
  } catch (err) {
    io.err(`error: cannot start the stack: ${(err as Error).message}`);
    return 2;
  }
  const results: SuiteResult[] = [];
  try {
    if (!v['skip-server']) {
      const server = await runServerSuite(
        { apiUrl: stack.server.url, brokerUrl: stack.services.urls.mqttMtls, caFile: stack.services.caCert, moderatorLogin, timeoutMs: common.timeoutMs, protocolVersion: 5, log },
        files, { run: common.run, knownFailing: readKnownFailing(`${knownDir}server.txt`), onResult }, onStart,
      );
      io.out(formatTotals(server));
      writeReports(reportsFor(common, 'server'), server, io);
      results.push(server);
      io.out('');
    }

    const owner = await registerUser(stack.api, `simowner${randomBytes(3).toString('hex')}`);
    const sim = new SimPlayer({ profile: simProfile, heartbeatMs: SIM_HEARTBEAT_MS, queryOnConnect: true, submitViews: true, log: log ? (level, line) => log(`sim ${level}: ${line}`) : undefined });
    const provisioned = await sim.provision({ apiUrl: stack.server.url });
    const credentials = sim.waitForCredentials({ pollMs: 200, timeoutMs: 20_000 });
    const reg = await stack.api.registerPlayer({ body: { registration_code: provisioned.registration_code, name: 'makapix-player-sim' } }, { token: owner.token });
    if (reg.status !== 201) throw new TargetError(`registering the simulator failed: HTTP ${reg.status} ${JSON.stringify(reg.body)}`);
    await credentials;
    let connecting: Promise<void> | undefined;
    const player = await runPlayerSuite(
      {
        brokerUrl: stack.services.urls.mqttInternal, username: stack.services.serverAccount.username, password: stack.services.serverAccount.password,
        playerKey: provisioned.player_key, timeoutMs: common.timeoutMs, heartbeatMs: SIM_HEARTBEAT_MS, toleranceMs: 1000, log,
        ...(simProfile === 'p3a' ? { features: [...P3A_PLAYER_FEATURES] } : {}),
      },
      files, { run: common.run, knownFailing: readKnownFailing(`${knownDir}${simProfile === 'p3a' ? 'player-p3a.txt' : 'player.txt'}`), onResult },
      (s) => {
        onStart(s);
        io.out(`note: the simulator runs with a ${SIM_HEARTBEAT_MS} ms heartbeat and the suite checks that period`);
        if (simProfile === 'p3a') io.out('note: the simulator runs with --profile p3a (the p3a firmware\'s rules)');
        connecting = sim.connect({ brokerUrl: stack.services.urls.mqttMtls });
      },
    );
    await connecting?.catch(() => undefined);
    await sim.disconnect({ graceful: false }).catch(() => undefined);
    io.out(formatTotals(player));
    writeReports(reportsFor(common, 'player'), player, io);
    results.push(player);
  } catch (err) {
    if (err instanceof TargetError) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    await stack.stop();
  }
  return results.some((r) => exitCodeOf(r) !== 0) ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runLocal(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  }, (err: unknown) => {
    console.error(err);
    process.exit(2);
  });
}

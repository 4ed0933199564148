// makapix-player-sim: run one or many simulated players until Ctrl-C (see SIM_USAGE).
// Registration codes and the "connected" line go to stdout; the log goes to stderr.
import { parseSimArgs, SIM_USAGE, type SimCliOptions } from './cli-args.js';
import { readCredentialFiles } from './credentials.js';
import { SimFleet, type SimFleetOptions } from './fleet.js';
import { consoleLog } from './log.js';
import { registerWithOwners } from './provisioning.js';

export interface SimCliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Where SIGINT/SIGTERM are listened for (default process). */
  signals?: NodeJS.EventEmitter;
}

/** Runs the CLI; resolves with the exit code once the players are stopped. */
export async function main(argv: readonly string[], io: SimCliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parseSimArgs(argv);
  if (parsed.help) {
    io.stdout.write(`${SIM_USAGE}\n`);
    return 0;
  }
  if ('error' in parsed) {
    io.stderr.write(`makapix-player-sim: ${parsed.error} (see --help)\n`);
    return 2;
  }
  const o = parsed.options;
  const log = consoleLog({ verbose: o.verbose, stream: io.stderr });
  let fleet: SimFleet;
  try {
    fleet = new SimFleet(fleetOptions(o, log));
  } catch (err) {
    io.stderr.write(`makapix-player-sim: ${(err as Error).message}\n`);
    return 2;
  }
  fleet.on('provisioned', (p, i) => {
    const who = o.count > 1 ? ` ${i + 1}/${o.count}` : '';
    const how = o.registerTokens.length ? 'registering it with the given owner token' : 'enter it as the owner (POST /player/register)';
    io.stdout.write(`Registration code for player${who}: ${p.registration_code} (player_key ${p.player_key}, expires ${p.registration_code_expires_at}); ${how}\n`);
  });
  fleet.on('failed', (err, i) => log('error', `player ${i + 1}: ${err.message}`));

  const signals = io.signals ?? process;
  let started = false;
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: string): void => {
      if (stopping) {
        log('warn', `${sig} again: exiting without waiting`);
        resolve(130);
        return;
      }
      stopping = true;
      log('info', `${sig}: disconnecting gracefully`);
      void fleet.stop({ graceful: true }).finally(() => resolve(started ? 0 : 130));
    };
    signals.on('SIGINT', onSignal);
    signals.on('SIGTERM', onSignal);
  });

  const outcome = await Promise.race([fleet.start(), stopped]);
  if (typeof outcome === 'number') return outcome;
  started = true;
  if (outcome.ready === 0) {
    io.stderr.write(`makapix-player-sim: no player came up (${outcome.failed.length} failed)\n`);
    await fleet.stop({ graceful: false });
    return 1;
  }
  const failed = outcome.failed.length ? ` (${outcome.failed.length} failed)` : '';
  const keys = o.count === 1 ? ` as player ${fleet.players[0].playerKey}` : '';
  io.stdout.write(`Connected: ${outcome.ready} player(s)${keys}${failed}; Ctrl-C to stop\n`);
  return stopped;
}

function fleetOptions(o: SimCliOptions, log: ReturnType<typeof consoleLog>): SimFleetOptions {
  return {
    count: o.count,
    credentials: o.files ? [readCredentialFiles({ ...o.files, broker: o.broker })] : undefined,
    provision: o.api
      ? {
          apiUrl: o.api,
          register: o.registerTokens.length ? registerWithOwners(o.api, o.registerTokens) : undefined,
          deviceModel: o.deviceModel,
          firmwareVersion: o.firmwareVersion,
          pollMs: o.pollMs,
          timeoutMs: o.registrationTimeoutMs,
        }
      : undefined,
    connect: { brokerUrl: o.broker, protocolVersion: o.protocolVersion, reconnectPeriodMs: o.reconnectMs },
    player: {
      profile: o.profile,
      vaultUrl: o.vault,
      firmwareVersion: o.firmwareVersion,
      heartbeatMs: o.heartbeatMs,
      queryOnConnect: o.queryPosts,
      submitViews: o.submitViews,
      log,
    },
  };
}

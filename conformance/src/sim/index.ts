// makapix-player-sim: the reference player. Everything MQTT and REST goes through generated code
// (generated/openapi/client.ts, generated/asyncapi/{channels,operations}.ts, codegen/runtime).
//
// SimPlayer (one device):
//   const p = new SimPlayer({ heartbeatMs?, firmwareVersion?, requestTimeoutMs? = 10000,
//                             requestRetries? = 3, queryOnConnect?, submitViews?, credentials?, log? });
//   const { registration_code, player_key } = await p.provision({ apiUrl, deviceModel?, firmwareVersion? });
//   await p.waitForCredentials({ pollMs? = 3000, timeoutMs? = 15 min });   // polls until the owner registered
//   await p.connect({ brokerUrl?, protocolVersion?: 5 | 4, reconnectPeriodMs? = 0, heartbeatMs? });
//     - mTLS with the issued certificate, client id `p3a-{player_key}`, keepalive 60;
//     - last will {player_key, status: "offline"} on its status topic;
//     - subscribes to `.../response/#` and `.../command` before publishing anything;
//     - sends a status at once, then every heartbeatMs (default 30000), from a shared scheduler.
//   Commands: show_artwork sets currentPostId; swap_next / swap_back move in the posts of the last
//   fetchPosts(); each sends a status at once. Invalid commands are logged, emitted, ignored.
//   Requests (envelope filled in; request_id optional; a timeout re-publishes the same request_id
//   `retries` times, each attempt waiting timeoutMs): requestQueryPosts(fields?, {timeoutMs?, retries?}),
//   fetchPosts(fields?) (query_posts + keep the list), requestSubmitView, requestSubmitReaction,
//   requestRevokeReaction, requestGetComments. Each resolves with the reply (success or error
//   response); rejects with RequestTimeoutError after the last attempt.
//   await p.sendStatus(status?)                      // an extra status now
//   await p.disconnect({ graceful? = true })         // graceful: offline status + DISCONNECT;
//                                                    // false: socket destroyed, the broker sends the will
//   p.playerKey, p.credentials, p.connected, p.currentPostId, p.postIds
//   Events: 'connect' {reconnect}, 'close', 'status' PlayerStatus, 'command' PlayerCommandMessage,
//   'invalid-command' InboundError, 'request' {request_type, request_id, attempt},
//   'response' {request_type, request_id, reply}.
//
// SimFleet (many players, one process, one heartbeat timer):
//   const f = new SimFleet({ count, credentials?: SimCredentials[], provision?: { apiUrl, register?:
//     registerWithOwners(apiUrl, tokens), pollMs?, timeoutMs? }, connect?, player?, concurrency? = 10,
//     staggerMs? = 20 });
//   const { ready, failed } = await f.start();  f.players;  await f.stop({ graceful? });
//   Events: 'provisioned' (ProvisionPlayerResponse, index), 'ready' (player, index), 'failed' (error, index).
//
// CLI: conformance/bin/makapix-player-sim.mjs (see SIM_USAGE in cli-args.ts).
export { SimPlayer, SIM_DEVICE_MODEL, SIM_FIRMWARE_VERSION, DEFAULT_QUERY } from './sim-player.js';
export type {
  QueryPostsChannel, RenewOutcome, RequestFields, RequestType, ShownArtwork, SimConnectOptions, SimPlayerEvents, SimPlayerOptions,
  SimRequestOptions, WalkOptions, WalkResult,
} from './sim-player.js';
export {
  firmwareArtworkUrl, firmwareShard, P3A_DEVICE_MODEL, P3A_FIRMWARE_VERSION, P3A_TIMINGS, p3aCapabilities, p3aInitialState, p3aTimestamp,
  type SimProfile,
} from './p3a.js';
export { SimFleet } from './fleet.js';
export type { SimFleetEvents, SimFleetOptions, SimFleetProvisioning, SimFleetResult } from './fleet.js';
export { brokerUrlOf, readCredentialFiles, PlayerCredentialsValidator, type SimCredentials } from './credentials.js';
export { provisionDevice, registerWithOwners, waitForCredentials, SimRestError, type Registrar } from './provisioning.js';
export { SharedScheduler, defaultScheduler, type ScheduledJob } from './scheduler.js';
export { ArtworkQueue } from './artwork-queue.js';
export { consoleLog, silentLog, type SimLog, type SimLogLevel } from './log.js';
export { newRequestId } from './request-id.js';
export { main as runSimCli } from './cli.js';

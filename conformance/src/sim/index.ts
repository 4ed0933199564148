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
// The p3a profile (the real firmware's rules, FIRMWARE_P3A.md; CLI --profile p3a [--vault URL]):
//   const p = new SimPlayer({ profile: 'p3a', apiUrl?, vaultUrl?, credentialsPollMs? = 3000,
//     retryDelaysMs? = [1000, 2000], walkPageDelayMs? = 350, walkMaxPosts? = 2048, views? = true,
//     viewFirstMs? = 5000, viewEveryMs? = 30000, viewRequestAck? = false, ... });
//   - REST under {apiUrl}/api; provisions as {device_model: p3a, firmware_version: 1.1.1}; keeps api_token;
//   - MQTT 3.1 (MQIsdp, level 3), username = player_key; subscribes command, response/#, view/ack
//     (QoS 1, in that order); publishes retained capabilities and state (the spec's p3a examples),
//     then status (timestamp without fraction, firmware_version 1.1.1);
//   - requests: request_type first, request_id and player_key last; 3 attempts, 1 s then 2 s apart;
//   - await p.walkChannel(channel, { user_sqid?, hashtag?, pageDelayMs?, maxPosts?, pageSize? = 32,
//     play? }) -> { posts, pages, complete, error? } (any error answer aborts); requestGetPost(fields);
//   - commands: show_artwork without storage_shard/native_format -> 'ignored-command'; with them
//     shown ('artwork', downloaded from {vaultUrl}/{shard}/{storage_key}.{ext} when vaultUrl is set)
//     and views start ('view', 'view-ack'); set_paused/set_brightness/set_rotation applied to the
//     state (republished retained, 'state') and acknowledged on command/ack ('command-ack');
//     play_channel walks and plays ('walk'); queryOnConnect walks and plays its channel;
//   - await p.renewCertificate({ reconnect? = true }) -> { outcome: renewed | not_due (400) | later
//     (429) | failed }; 401/403 -> token/rotate and one retry; reconnects with the new certificate.
//   - p.displayState; await p.sendView({ request_ack? }); await p.publishState().
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
  firmwareArtworkUrl, firmwareShard, P3A_DEVICE_MODEL, P3A_FIRMWARE_VERSION, P3A_MAX_INBOUND_BYTES, P3A_TIMINGS, p3aCapabilities, p3aInitialState, p3aTimestamp,
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

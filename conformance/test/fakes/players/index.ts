export type { BrokenPlayer } from './broken-player.js';
export { missingHeartbeat } from './missing-heartbeat.js';
export { ignoredCommand } from './ignored-command.js';
export { lateSubscriber } from './late-subscriber.js';
export { invalidRequest } from './invalid-request.js';
export { noWill } from './no-will.js';
export { wrongStatusKey } from './wrong-status-key.js';

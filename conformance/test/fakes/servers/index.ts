export type { BrokenServer } from './broken-server.js';
export { wrongTopic } from './wrong-topic.js';
export { wrongCorrelation } from './wrong-correlation.js';
export { invalidPayload } from './invalid-payload.js';
export { wrongErrorCode } from './wrong-error-code.js';
export { noAnswer } from './no-answer.js';
export { paginationGap } from './pagination-gap.js';
export { noReactionLimit } from './no-reaction-limit.js';
export { lenientCursor } from './lenient-cursor.js';

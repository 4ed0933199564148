export * from './client.js';
export * from './constraints.js';
export * from './migrate.js';
export * from './gauges.js';
export * as rateLimit from './rate-limit.js';
export * as idempotency from './idempotency.js';
export * as outbox from './outbox.js';

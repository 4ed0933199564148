export * from './secret-levels.js';
export * from './redacting-logger.js';
export * from './create-logger.js';

export * from './labels.js';
export * from './server-metrics.js';
export * from './listener.js';
export * from './http-metrics.js';

export * from './sqid.js';

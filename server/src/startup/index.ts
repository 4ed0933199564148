export * from './wait-for.js';
export * from './database.js';
export * from './broker.js';

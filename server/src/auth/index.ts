export * from './password.js';
export * from './registration-code.js';
export * from './token.js';
export * from './device-token.js';

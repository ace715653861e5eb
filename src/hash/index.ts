export * from './digest.js';
export * from './sha256.js';
export * from './sha256-pooled.js';
export * from './canonical-json.js';
export * from './xxh64.js';

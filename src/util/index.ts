export * from './result.js';
export * from './user-error.js';
export * from './fs.js';
export * from './native.js';
export * from './arrays.js';
export * from './bytewise.js';
export * from './read-regular.js';
export * from './mounts.js';

export * from './types.js';
export * from './build.js';
export * from './chainid.js';
export * from './load.js';
export * from './inspect.js';
export { parseReference, fullName, familiarName, familiarRepository, repositoryName, type Reference } from '../store/reference.js';

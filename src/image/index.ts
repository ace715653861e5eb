export * from './types.js';
export * from './build.js';
export { chainIds, chainId } from '../store/chainid.js';
export * from './load.js';
export * from './inspect.js';
export { parseReference, fullName, familiarName, familiarRepository, repositoryName, type Reference } from '../store/reference.js';
export * from './created.js';

export type { Access, RegistryHttp, RegistryRequest, Repository } from './types.js';
export { repositoryOf } from './types.js';

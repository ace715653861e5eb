export type { Access, RegistryHttp, RegistryRequest, Repository } from './types.js';
export { repositoryOf } from './types.js';
export { plainRegistryHttp } from './plain-http.js';
export { pullImage, shortId, type PullEvent, type PullOptions, type PullResult } from './pull.js';
export { pushImage, type PushResult } from './push.js';

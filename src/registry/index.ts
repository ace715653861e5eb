export type { Access, RegistryHttp, RegistryRequest, Repository } from './types.js';
export { repositoryOf } from './types.js';
export { createRegistryHttp, DEFAULT_CERTS_DIR, type RegistryClient, type RegistryClientOptions } from './client.js';
export { createCredentialStore, type CredentialStore, type Credentials } from './credentials.js';
export type { ProxyOptions } from './proxy.js';
export { pullImage, shortId, type PullEvent, type PullOptions, type PullResult } from './pull.js';
export { pushImage, type PushResult } from './push.js';
export { hasBlob, pushBlob, putManifest, uploadUrl, type UploadTarget } from './upload.js';
export { fetchBlobBytes, fetchManifestBytes, openBlobStream } from './fetch.js';

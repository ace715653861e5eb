export type { Access, RegistryHttp, RegistryRequest, Repository } from './types.js';
export { repositoryOf } from './types.js';
export { createRegistryHttp, DEFAULT_CERTS_DIR, type RegistryClient, type RegistryClientOptions } from './client.js';
export { createCredentialStore, type CredentialStore, type Credentials } from './credentials.js';
export type { ProxyOptions } from './proxy.js';

/**
 * `docker login` and `docker logout` as a library: credentials are checked against the registry
 * and kept in docker's own config file or credential helper (in `registry.configDir`), so docker
 * and wharf share them. `wharf login/logout` and the server's POST /auth call these.
 */
import { createCredentialStore, type RegistryClientOptions } from '../registry/index.js';
import { UserError } from '../util/index.js';
import { defaultRegistryOptions, makeRegistryClient } from './registry.js';

export interface LoginOptions {
  /** A registry host (`registry.example:5000`, `https://host/` also works); docker.io by default. */
  readonly server?: string;
  readonly username: string;
  readonly password: string;
  /** TLS, proxies, timeouts, and configDir, where the credentials are kept; ~/.docker by default. */
  readonly registry?: RegistryClientOptions;
  /** Keep the credentials once checked (what docker login does); false only checks them, as POST /auth. */
  readonly save?: boolean;
}

/** docker accepts `https://host/` and `host/`; the key is the bare domain. */
export function loginDomain(server: string): string {
  const d = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (!d || /[\s@]/.test(d)) throw new UserError('registry.bad-host', `invalid registry name ${JSON.stringify(server)}`, 'give a registry host, e.g. `wharf login registry.example:5000`');
  return d === 'index.docker.io' || d === 'registry-1.docker.io' ? 'docker.io' : d;
}

/** Checks the credentials against the registry (a failure throws), then keeps them unless save is false; returns the domain. */
export async function login(opts: LoginOptions): Promise<{ domain: string }> {
  const domain = loginDomain(opts.server ?? 'docker.io');
  const registry = opts.registry ?? defaultRegistryOptions();
  const creds = { username: opts.username, password: opts.password };
  const client = makeRegistryClient(registry);
  try {
    await client.checkLogin(domain, creds);
  } finally {
    await client.close();
  }
  if (opts.save !== false) await createCredentialStore(registry.configDir).store(domain, creds);
  return { domain };
}

/** Forgets the credentials kept for a registry; `found` says whether there were any. */
export async function logout(server: string, registry: Pick<RegistryClientOptions, 'configDir'> = defaultRegistryOptions()): Promise<{ domain: string; found: boolean }> {
  const domain = loginDomain(server);
  return { domain, found: await createCredentialStore(registry.configDir).erase(domain) };
}

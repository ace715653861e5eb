/**
 * The registry client's options from the environment and flags (only src/cli reads process.env):
 * DOCKER_CONFIG (else ~/.docker) for credentials, WHARF_CERTS_D (else /etc/docker/certs.d) for
 * per-registry TLS, `--insecure-registry` plus WHARF_INSECURE_REGISTRIES (comma-separated) for
 * hosts that may be reached over plain http, WHARF_REGISTRY_TIMEOUT (seconds), HTTPS_PROXY /
 * HTTP_PROXY / NO_PROXY.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ProxyOptions, RegistryClientOptions } from '../registry/index.js';
import type { CliContext } from './context.js';

export function dockerConfigDir(ctx: CliContext): string {
  return ctx.env.DOCKER_CONFIG ? resolve(ctx.cwd, ctx.env.DOCKER_CONFIG) : join(ctx.env.HOME ?? homedir(), '.docker');
}

export function registryOptions(ctx: CliContext, flags: { insecureRegistry?: string[] } = {}): RegistryClientOptions {
  const fromEnv = (ctx.env.WHARF_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const timeout = Number(ctx.env.WHARF_REGISTRY_TIMEOUT);
  return {
    configDir: dockerConfigDir(ctx),
    ...(ctx.env.WHARF_CERTS_D ? { certsDir: resolve(ctx.cwd, ctx.env.WHARF_CERTS_D) } : {}),
    insecure: [...fromEnv, ...(flags.insecureRegistry ?? [])],
    ...(timeout > 0 ? { timeoutMs: timeout * 1000 } : {}),
    proxy: proxyEnv(ctx.env),
  };
}

/** Go's spelling: upper case first, then lower case. */
function proxyEnv(env: NodeJS.ProcessEnv): ProxyOptions {
  const pick = (name: string) => env[name] || env[name.toLowerCase()] || undefined;
  const httpProxy = pick('HTTP_PROXY');
  const httpsProxy = pick('HTTPS_PROXY');
  const noProxy = pick('NO_PROXY');
  return { ...(httpProxy ? { httpProxy } : {}), ...(httpsProxy ? { httpsProxy } : {}), ...(noProxy ? { noProxy } : {}) };
}

/** commander collector for a repeatable `--insecure-registry HOST`. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

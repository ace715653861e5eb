/**
 * A minimal RegistryHttp for tests and for the CLI until the real client (client.ts: TLS, auth,
 * retries) is wired in: plain `http://DOMAIN/v2/PATH/...` with fetch, absolute URLs (upload
 * Locations) passed through, no auth. Only for registries on loopback.
 */
import { UserError } from '../util/index.js';
import type { RegistryHttp } from './types.js';

export function plainRegistryHttp(_opts: { insecure: true }): RegistryHttp {
  return {
    async send(repo, req) {
      if (!isLoopback(repo.domain)) {
        throw new UserError('registry.unsupported-host', `cannot pull from or push to ${repo.domain}: only registries on this host (127.0.0.1, localhost, [::1]) are reachable yet`, 'run a registry on 127.0.0.1, or `wharf import`/`wharf load` the image into the store');
      }
      const url = /^https?:\/\//.test(req.path) ? req.path : `http://${repo.domain}/v2/${repo.path}/${req.path}`;
      const body = req.body === undefined ? undefined : req.body instanceof Uint8Array ? req.body : await collect(req.body());
      try {
        return await fetch(url, { method: req.method, headers: req.headers ?? {}, ...(body ? { body } : {}), ...(req.signal ? { signal: req.signal } : {}), redirect: 'follow' });
      } catch (e) {
        if (req.signal?.aborted) throw e;
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new UserError('registry.unreachable', `cannot reach registry ${repo.domain}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, `check that a registry listens at http://${repo.domain}`);
      }
    },
  };
}

async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return Buffer.concat(parts);
}

/** 127.0.0.0/8, localhost, ::1, with or without a port. */
export function isLoopback(domain: string): boolean {
  const host = domain.startsWith('[') ? domain.slice(1, domain.indexOf(']')) : domain.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

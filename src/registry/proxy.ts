/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as Go's http.ProxyFromEnvironment reads them for dockerd:
 * the proxy for the URL's scheme, except for `localhost`, loopback IPs and NO_PROXY entries
 * (`*`, `host`, `host:port`, `.domain` or `domain` matching the domain and its subdomains). The
 * values come from the CLI; nothing here reads the environment.
 */
import { hostOf, isLoopback } from './endpoint.js';

export interface ProxyOptions {
  readonly httpProxy?: string;
  readonly httpsProxy?: string;
  readonly noProxy?: string;
}

function excluded(noProxy: string, host: string, port: string): boolean {
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const [eHost, ePort] = entry.startsWith('[') ? [hostOf(entry), entry.split(']:')[1]] : entry.split(':') as [string, string | undefined];
    if (ePort && ePort !== port) continue;
    const bare = eHost!.replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return true;
  }
  return false;
}

/** The proxy URL to use for `url`, or undefined to connect directly. */
export function proxyFor(opts: ProxyOptions | undefined, url: URL): string | undefined {
  if (!opts) return undefined;
  const proxy = url.protocol === 'https:' ? opts.httpsProxy ?? opts.httpProxy : opts.httpProxy;
  if (!proxy) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopback(host)) return undefined;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return opts.noProxy && excluded(opts.noProxy, host, port) ? undefined : proxy;
}

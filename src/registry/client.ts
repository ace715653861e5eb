/**
 * The registry client behind `RegistryHttp`: endpoint and scheme choice, TLS per host, auth
 * (anonymous, Basic, Bearer with a token cache), retries with backoff on 5xx/429 and dropped
 * connections, idle timeouts on every request, and errors that name the host and the fix.
 * Options come from the CLI (the only reader of process.env).
 */
import { Agent as HttpAgent } from 'node:http';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import { isUserError, UserError } from '../util/index.js';
import type { RegistryHttp, RegistryRequest, Repository } from './types.js';
import { baseUrl, endpointFor, type Endpoint } from './endpoint.js';
import { agentFor } from './tls.js';
import { proxyFor, type ProxyOptions } from './proxy.js';
import { createCredentialStore, type CredentialStore, type Credentials } from './credentials.js';
import { basicHeader, fetchToken, parseChallenge, TokenCache, type Challenge, type TokenFetch } from './auth.js';
import { isAbort, isTransient, networkError, speaksHttp } from './net-errors.js';
import { plainRequest } from './plain-http.js';

export interface RegistryClientOptions {
  /** docker's config directory ($DOCKER_CONFIG, else ~/.docker). */
  readonly configDir: string;
  /** docker's certs.d root; /etc/docker/certs.d by default. */
  readonly certsDir?: string;
  /** Domains (`host[:port]` or host) that may be reached over plain http. */
  readonly insecure?: readonly string[];
  /** Idle timeout for connecting, for headers and between body chunks. Default 30 s. */
  readonly timeoutMs?: number;
  /** Tries per request on 5xx/429 and dropped connections. Default 3. */
  readonly tries?: number;
  /** First backoff; doubled per try. Default 250 ms. */
  readonly backoffMs?: number;
  /** HTTPS_PROXY / HTTP_PROXY / NO_PROXY as the CLI read them. */
  readonly proxy?: ProxyOptions;
  /** Where credentials come from; docker's config.json in configDir by default. */
  readonly credentials?: CredentialStore;
  /** Hosts earlier runs found speaking plain http (the CLI keeps them in the store): tried over http first. */
  readonly plainHttpHosts?: PlainHttpHosts;
}

/**
 * A record, kept between runs, of the loopback / --insecure-registry hosts that turned out to
 * speak plain http, so a later run skips the https attempt (a TLS handshake refused, ~5 ms). Only a
 * hint: it is used only for hosts that may be reached over http at all, and forgotten when the
 * host does not answer over http.
 */
export interface PlainHttpHosts {
  has(hostPort: string): boolean;
  add(hostPort: string): void;
  delete(hostPort: string): void;
}

export interface RegistryClient extends RegistryHttp {
  /** Checks `creds` against DOMAIN's `/v2/` as `docker login` does; throws a UserError if refused. */
  checkLogin(domain: string, creds: Credentials): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_CERTS_DIR = '/etc/docker/certs.d';
const MAX_ERROR_BODY = 64 << 10;

type Init = { method: string; headers: Record<string, string>; body?: RegistryRequest['body'] | string; signal?: AbortSignal };

export function createRegistryHttp(options: RegistryClientOptions): RegistryClient {
  const certsDir = options.certsDir ?? DEFAULT_CERTS_DIR;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const tries = Math.max(1, options.tries ?? 3);
  const backoffMs = options.backoffMs ?? 250;
  const creds = options.credentials ?? createCredentialStore(options.configDir);
  const agents = new Map<string, Dispatcher>();
  const schemes = new Map<string, 'https' | 'http'>();
  const challenges = new Map<string, Challenge>();
  const tokens = new TokenCache();
  const credCache = new Map<string, Promise<Credentials | undefined>>();
  let plainAgent: HttpAgent | undefined;

  const agent = (url: URL, proxy: string | undefined): Dispatcher => {
    const key = `${url.host} ${proxy ?? ''}`;
    let a = agents.get(key);
    if (!a) agents.set(key, (a = agentFor({ certsDir, timeoutMs }, url.host, proxy)));
    return a;
  };
  const credentialsFor = (domain: string) => {
    let p = credCache.get(domain);
    if (!p) credCache.set(domain, (p = creds.get(domain)));
    return p;
  };

  /** One HTTP exchange with retries; `target` is a path under the endpoint or an absolute URL. */
  async function exchange(ep: Endpoint, target: string, init: Init): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      const hinted = !schemes.has(ep.hostPort) && ep.httpAllowed && options.plainHttpHosts?.has(ep.hostPort) === true;
      const scheme = schemes.get(ep.hostPort) ?? (hinted ? 'http' : 'https');
      const url = /^https?:\/\//.test(target) ? target : baseUrl(ep, scheme) + target;
      const parsed = new URL(url);
      const proxy = proxyFor(options.proxy, parsed);
      try {
        const plainBody = parsed.protocol === 'http:' && !proxy ? (typeof init.body === 'function' ? init.body() : init.body) : undefined;
        let res = parsed.protocol === 'http:' && !proxy
          ? await plainRequest(url, { method: init.method, headers: init.headers, ...(typeof plainBody === 'string' ? { body: Buffer.from(plainBody) } : plainBody !== undefined ? { body: plainBody } : {}), ...(init.signal ? { signal: init.signal } : {}) }, (plainAgent ??= new HttpAgent({ keepAlive: true })), timeoutMs)
          : undefined;
        if (hinted && res?.status === 400) {
          // An https server asked in plain http answers 400 ("client sent an HTTP request to an
          // HTTPS server"): the host moved to TLS since the hint was recorded.
          await res.body?.cancel().catch(() => undefined);
          forgetHint(ep);
          attempt--;
          continue;
        }
        if (hinted) schemes.set(ep.hostPort, 'http');
        if (res && res.status >= 300 && res.status < 400 && res.headers.get('location')) {
          await res.body?.cancel().catch(() => undefined);
          res = undefined;
        }
        // Opened here only when node:http did not send it (a one-shot stream cannot be opened twice).
        const body = res ? undefined : typeof init.body === 'function' ? init.body() : init.body;
        res ??= (await undiciFetch(url, {
          method: init.method,
          headers: init.headers,
          ...(body !== undefined ? { body: body as never, duplex: 'half' } : {}),
          ...(init.signal ? { signal: init.signal } : {}),
          dispatcher: agent(parsed, proxy),
          redirect: 'follow',
        })) as unknown as Response;
        if (scheme === 'http' && !/^https?:/.test(target) && !options.plainHttpHosts?.has(ep.hostPort)) options.plainHttpHosts?.add(ep.hostPort);
        if ((res.status >= 500 || res.status === 429) && attempt < tries) {
          await res.body?.cancel().catch(() => undefined);
          await sleep(backoffMs * 2 ** (attempt - 1), init.signal);
          continue;
        }
        return res;
      } catch (e) {
        if (isUserError(e)) throw e;
        if (init.signal?.aborted || (isAbort(e) && !init.signal)) throw e;
        if (hinted) {
          forgetHint(ep);
          attempt--;
          continue;
        }
        if (scheme === 'https' && ep.httpAllowed && !/^https?:/.test(target) && speaksHttp(e)) {
          schemes.set(ep.hostPort, 'http');
          attempt--;
          continue;
        }
        if (isTransient(e) && attempt < tries) {
          await sleep(backoffMs * 2 ** (attempt - 1), init.signal);
          continue;
        }
        throw networkError(ep.domain, url, e, certsDir, timeoutMs, proxy);
      }
    }
  }

  /** Drops a host's plain-http hint; the request is then tried as on a first run, https first. */
  function forgetHint(ep: Endpoint): void {
    options.plainHttpHosts?.delete(ep.hostPort);
    schemes.set(ep.hostPort, 'https');
  }

  const tokenFetch = (ep: Endpoint): TokenFetch => async (url, init) => {
    const res = await exchange(ep, url, { method: init.method, headers: init.headers, ...(init.body !== undefined ? { body: init.body } : {}) });
    return { status: res.status, text: await readCapped(res) };
  };

  /** The Authorization header for a challenge, or undefined when there is nothing to answer with. */
  async function answer(ep: Endpoint, ch: Challenge, scopes: readonly string[], c: Credentials | undefined): Promise<string | undefined> {
    if (ch.scheme === 'basic') return c?.username !== undefined ? basicHeader(c) : undefined;
    const key = scopes.join(' ');
    const cached = tokens.get(ep.domain, key);
    if (cached) return `Bearer ${cached}`;
    const t = await fetchToken(ep.domain, ch, scopes, c, tokenFetch(ep));
    tokens.set(ep.domain, key, t.token, t.expiresIn);
    return `Bearer ${t.token}`;
  }

  const authRequired = (domain: string) =>
    new UserError('registry.unauthorized', `authentication required for ${domain}: run \`wharf login ${domain}\``, `run \`wharf login ${domain}\` with an account that may access it`);

  async function send(repo: Repository, req: RegistryRequest): Promise<Response> {
    const ep = endpointFor(repo.domain, options.insecure ?? []);
    const target = /^https?:\/\//.test(req.path) || req.path.startsWith('/') ? req.path : `/v2/${repo.path}/${req.path}`;
    const scopes = [`repository:${repo.path}:${req.access === 'push' ? 'pull,push' : 'pull'}`, ...(req.alsoPull ?? []).map((r) => `repository:${r.path}:pull`)];
    const sameHost = !/^https?:\/\//.test(target) || new URL(target).host === ep.hostPort;
    const init = (authorization?: string): Init => ({
      method: req.method,
      headers: { ...(req.headers ?? {}), ...(authorization && sameHost ? { authorization } : {}) },
      ...(req.body !== undefined ? { body: req.body } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    });
    const known = challenges.get(ep.domain);
    const first = known ? await answer(ep, known, scopes, await credentialsFor(ep.domain)) : undefined;
    const res = await exchange(ep, target, init(first));
    if (res.status !== 401) return res;
    await res.body?.cancel().catch(() => undefined);
    const ch = parseChallenge(res.headers.get('www-authenticate'));
    if (!ch) throw authRequired(ep.domain);
    challenges.set(ep.domain, ch);
    const c = await credentialsFor(ep.domain);
    if (ch.scheme === 'bearer') tokens.drop(ep.domain, scopes.join(' '));
    const second = await answer(ep, ch, scopes, c);
    if (!second || second === first) throw authRequired(ep.domain);
    const again = await exchange(ep, target, init(second));
    if (again.status === 401) {
      await again.body?.cancel().catch(() => undefined);
      throw authRequired(ep.domain);
    }
    return again;
  }

  async function checkLogin(domain: string, c: Credentials): Promise<void> {
    const ep = endpointFor(domain, options.insecure ?? []);
    const res = await exchange(ep, '/v2/', { method: 'GET', headers: {} });
    await res.body?.cancel().catch(() => undefined);
    if (res.status !== 401) return;
    const ch = parseChallenge(res.headers.get('www-authenticate'));
    if (!ch) throw authRequired(domain);
    const refused = () => new UserError('registry.login-failed', `login to ${domain} failed: the registry refused the username or password`, 'check the username and password');
    let authorization = basicHeader(c);
    if (ch.scheme === 'bearer') {
      try {
        authorization = `Bearer ${(await fetchToken(domain, ch, [], c, tokenFetch(ep))).token}`;
      } catch (e) {
        throw isUserError(e) && e.code === 'registry.unauthorized' ? refused() : e;
      }
    }
    const again = await exchange(ep, '/v2/', { method: 'GET', headers: { authorization } });
    await again.body?.cancel().catch(() => undefined);
    if (again.status === 401 || again.status === 403) throw refused();
  }

  return {
    send,
    checkLogin,
    async close() {
      plainAgent?.destroy();
      await Promise.all([...agents.values()].map((a) => a.close()));
    },
  };
}

/** The body as text, stopping at MAX_ERROR_BODY bytes (a hostile server cannot fill memory). */
async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > MAX_ERROR_BODY) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    }, { once: true });
  });
}

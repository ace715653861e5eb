/**
 * The registry auth handshake: parse a `WWW-Authenticate` challenge, answer `Basic` with the
 * stored credentials, and for `Bearer` get a token from the realm (distribution's token spec: GET
 * with Basic credentials, or POST with `grant_type=refresh_token` when docker holds an identity
 * token), caching each token per (host, scope) until `expires_in` (60 s when absent).
 */
import { UserError } from '../util/index.js';
import type { Credentials } from './credentials.js';

export interface Challenge {
  readonly scheme: 'basic' | 'bearer';
  readonly params: Readonly<Record<string, string>>;
}

/** Fetches the token endpoint (through the client's transport: its agent, timeouts and error mapping). */
export type TokenFetch = (url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }) => Promise<{ status: number; text: string }>;

const DEFAULT_EXPIRES_S = 60;

/** The first Basic or Bearer challenge in a `WWW-Authenticate` header. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(Basic|Bearer)\b\s*(.*)$/is.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2]!;
  let p: RegExpExecArray | null;
  while ((p = re.exec(rest))) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    if (re.lastIndex >= rest.length) break;
  }
  return { scheme: m[1]!.toLowerCase() as 'basic' | 'bearer', params };
}

export const basicHeader = (c: Credentials): string => `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;

export class TokenCache {
  private readonly tokens = new Map<string, { token: string; until: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  get(host: string, scope: string): string | undefined {
    const t = this.tokens.get(`${host} ${scope}`);
    return t && t.until > this.now() ? t.token : undefined;
  }

  drop(host: string, scope: string): void {
    this.tokens.delete(`${host} ${scope}`);
  }

  set(host: string, scope: string, token: string, expiresInS: number): void {
    // A little early, so a token is not sent in its last second.
    this.tokens.set(`${host} ${scope}`, { token, until: this.now() + Math.max(1, expiresInS - 5) * 1000 });
  }
}

/** Asks the realm for a token covering `scopes` (none for a login check). */
export async function fetchToken(domain: string, ch: Challenge, scopes: readonly string[], creds: Credentials | undefined, fetchFn: TokenFetch): Promise<{ token: string; expiresIn: number }> {
  const realm = ch.params.realm;
  let url: URL;
  try {
    url = new URL(realm ?? '');
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new UserError('registry.auth', `${domain} asked for a token from an invalid realm ${JSON.stringify(realm ?? '')}`, `check the registry's token auth configuration`);
  }
  const service = ch.params.service;
  let res: { status: number; text: string };
  if (creds?.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'wharf' });
    if (service) form.set('service', service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    res = await fetchFn(url.toString(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  } else {
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    if (creds?.username) url.searchParams.set('account', creds.username);
    const headers: Record<string, string> = creds?.username !== undefined ? { authorization: basicHeader(creds) } : {};
    res = await fetchFn(url.toString(), { method: 'GET', headers });
  }
  if (res.status === 401 || res.status === 403) {
    throw new UserError('registry.unauthorized', `authentication required for ${domain}: the token server ${url.host} refused ${creds ? 'the credentials' : 'anonymous access'}`, `run \`wharf login ${domain}\``);
  }
  if (res.status !== 200) throw new UserError('registry.auth', `the token server ${url.host} for ${domain} answered ${res.status}`, 'try again later, or check the registry\'s token auth configuration');
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(res.text) as typeof body;
  } catch {
    body = {};
  }
  const token = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
  if (!token) throw new UserError('registry.auth', `the token server ${url.host} for ${domain} sent no token`, 'check the registry\'s token auth configuration');
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_EXPIRES_S;
  return { token, expiresIn };
}

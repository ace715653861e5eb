/**
 * What a failed connection means to the user: the host, and the likely fix. undici wraps the cause
 * (`TypeError: fetch failed` with `cause.code`); TLS errors carry OpenSSL's codes.
 */
import { UserError } from '../util/index.js';

export function causeCode(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c) return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return '';
}

const causeMessage = (e: unknown): string => {
  const c = (e as { cause?: { message?: string } }).cause;
  return c?.message ?? (e as Error).message ?? String(e);
};

/** The server answered a TLS hello with plain http: it speaks http on that port. */
export const speaksHttp = (e: unknown): boolean => /WRONG_VERSION_NUMBER|HTTP_REQUEST|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|record layer failure/i.test(`${causeCode(e)} ${causeMessage(e)}`);

const CERT_CODES = /CERT|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|SELF_SIGNED|ERR_TLS/;

/** Worth another try (the request can be sent again): a reset or a dropped connection. */
export const isTransient = (e: unknown): boolean => /ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED|ETIMEDOUT/.test(causeCode(e));

export function isAbort(e: unknown): boolean {
  const n = (e as { name?: string }).name;
  return n === 'AbortError' || n === 'TimeoutError';
}

/** A proxy URL without its user and password. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return 'the configured proxy';
  }
}

export function networkError(domain: string, url: string, e: unknown, certsDir: string, timeoutMs: number, proxy?: string): UserError {
  const code = causeCode(e);
  const host = domain;
  if (proxy && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(code)) {
    return new UserError('registry.proxy', `cannot reach the proxy ${redact(proxy)} (for ${host}): ${code === 'ECONNREFUSED' ? 'connection refused' : 'no such host'}`, `check HTTPS_PROXY / HTTP_PROXY, or add ${host} to NO_PROXY`);
  }
  // fetch refuses the WHATWG "bad ports" (1, 6000, 6665-6669, 10080, ...) before connecting.
  if (/bad port/i.test(causeMessage(e))) return new UserError('registry.bad-port', `cannot connect to ${host}: its port is on fetch's list of blocked ports`, 'run the registry on another port (5000 is usual)');
  if (code === 'ECONNREFUSED') return new UserError('registry.unreachable', `cannot connect to ${host} (${url}): connection refused`, `check that the registry runs and listens on ${host}`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new UserError('registry.unreachable', `cannot resolve ${host}: ${code === 'EAI_AGAIN' ? 'DNS lookup failed temporarily' : 'no such host'}`, 'check the registry name for typos and the DNS or /etc/hosts settings');
  if (/UND_ERR_(HEADERS|BODY|CONNECT)_TIMEOUT/.test(code) || code === 'ETIMEDOUT') return new UserError('registry.timeout', `${host} did not answer within ${Math.round(timeoutMs / 1000)} s (${url})`, 'check the network, or try again later');
  if (speaksHttp(e)) return new UserError('registry.tls', `${host} speaks plain http, not https (${url})`, `if that registry is meant to be used without TLS, pass --insecure-registry ${host}`);
  if (CERT_CODES.test(code)) {
    const unknownCa = /UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/.test(code);
    return new UserError(
      'registry.tls',
      `TLS with ${host} failed: ${causeMessage(e)} (${code})`,
      unknownCa ? `if ${host} uses a private CA, put its certificate in ${certsDir}/${host}/ca.crt` : `check ${host}'s certificate (name, dates), or its CA in ${certsDir}/${host}/ca.crt`,
    );
  }
  if (/ERR_SSL|SSL|TLS/i.test(`${code} ${causeMessage(e)}`)) return new UserError('registry.tls', `TLS with ${host} failed: ${causeMessage(e)}`, `check ${host}'s TLS setup, and client certificates in ${certsDir}/${host}/`);
  return new UserError('registry.unreachable', `request to ${host} failed (${url}): ${causeMessage(e)}${code ? ` (${code})` : ''}`, 'check the network and the registry, then try again');
}

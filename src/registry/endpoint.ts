/**
 * Where a registry domain is reached. docker.io's API lives on registry-1.docker.io; everything
 * else is `https://DOMAIN`. Plain http is allowed only where docker allows it: loopback hosts
 * (127.0.0.0/8, ::1, localhost) and hosts the user named as insecure. For those, as dockerd does,
 * https is tried first and http is used when the server turns out to speak plain http, so a local
 * registry with TLS still gets TLS and one without needs no flag.
 */
import { isIP } from 'node:net';

export interface Endpoint {
  /** The domain as in the reference (`docker.io`, `127.0.0.1:5000`): keys credentials and certs.d. */
  readonly domain: string;
  /** `HOST[:PORT]` that is actually dialled. */
  readonly hostPort: string;
  /** May fall back to plain http. */
  readonly httpAllowed: boolean;
}

export const DOCKER_HUB = 'docker.io';
/** The key docker itself writes docker.io credentials under in config.json. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** Splits `host:port`, `[::1]:5000` or `host` into the host alone. */
export function hostOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const colons = hostPort.split(':').length - 1;
  if (colons === 1) return hostPort.slice(0, hostPort.indexOf(':'));
  return hostPort;
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

export function endpointFor(domain: string, insecure: readonly string[]): Endpoint {
  const hostPort = domain === DOCKER_HUB || domain === 'index.docker.io' ? 'registry-1.docker.io' : domain;
  const httpAllowed = isLoopback(hostOf(hostPort)) || insecure.includes(domain) || insecure.includes(hostOf(domain));
  return { domain, hostPort, httpAllowed };
}

/** The base URL for a scheme: `https://registry-1.docker.io`. */
export const baseUrl = (ep: Endpoint, scheme: 'https' | 'http'): string => `${scheme}://${ep.hostPort}`;

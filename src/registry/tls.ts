/**
 * One undici Agent per registry host: docker's certs.d convention for TLS
 * (`<certs.d>/HOST[:PORT]/*.crt` are extra CAs beside the system ones, `NAME.cert` + `NAME.key` a
 * client certificate) and the idle timeouts every request gets (connect, headers, between body
 * chunks), which, unlike one deadline for the whole request, never cut a large blob short.
 */
import { readdirSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { readRegularFileSync } from '../util/index.js';

export interface TransportOptions {
  /** docker's certs.d root, normally /etc/docker/certs.d. */
  readonly certsDir: string;
  /** Connecting, and waiting for response headers or the next body chunk, each give up after this. */
  readonly timeoutMs: number;
}

const MAX_PEM = 1 << 20;

export interface HostTls {
  readonly ca?: string[];
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** What certs.d says about `hostPort` (nothing when the directory is absent). */
export function certsFor(certsDir: string, hostPort: string): HostTls {
  const dir = join(certsDir, hostPort.replace(/^\[|\]/g, ''));
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return {};
  }
  const read = (n: string) => readRegularFileSync(join(dir, n), { maxBytes: MAX_PEM, what: join(dir, n), followSymlink: true });
  const extra = names.filter((n) => n.endsWith('.crt')).map((n) => read(n).toString('utf8'));
  const certName = names.find((n) => n.endsWith('.cert'));
  const out: { ca?: string[]; cert?: Buffer; key?: Buffer } = {};
  if (extra.length) out.ca = [...rootCertificates, ...extra];
  if (certName) {
    const keyName = certName.replace(/\.cert$/, '.key');
    if (!names.includes(keyName)) return out;
    out.cert = read(certName);
    out.key = read(keyName);
  }
  return out;
}

/** The dispatcher for one host, through `proxy` (a CONNECT tunnel; certs.d applies inside it) when given. */
export function agentFor(opts: TransportOptions, hostPort: string, proxy?: string): Dispatcher {
  const tls = certsFor(opts.certsDir, hostPort);
  const timeouts = { headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs };
  if (proxy) return new ProxyAgent({ uri: proxy, requestTls: { timeout: opts.timeoutMs, ...tls }, ...timeouts });
  return new Agent({ connect: { timeout: opts.timeoutMs, ...tls }, ...timeouts });
}

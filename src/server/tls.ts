/**
 * TLS for `wharf serve` as dockerd does it: `--tls` (server certificate only) and `--tlsverify`
 * (clients must present a certificate signed by `--tlscacert`). The API runs builds as the server's
 * user, so a TCP address other than loopback is served only with `--tlsverify`: without client
 * certificates anyone who reaches the port could run code as that user.
 *
 * Contract: every mistake is a UserError naming the flag and the file (unreadable, not PEM, key not
 * matching the certificate), found before the server listens.
 */
import { readFile } from 'node:fs/promises';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { UserError } from '../api/index.js';

export interface ServeTlsOptions {
  /** Serve TLS without asking for client certificates (dockerd's `--tls`). */
  readonly tls?: boolean;
  /** Serve TLS and require a client certificate signed by `caCert` (dockerd's `--tlsverify`; implies tls). */
  readonly verify?: boolean;
  /** PEM file of the CA(s) client certificates must chain to. */
  readonly caCert?: string;
  /** PEM file of the server's certificate (chain). */
  readonly cert?: string;
  /** PEM file of the server's private key. */
  readonly key?: string;
}

/** What node's TLS server takes. */
export interface TlsServerSettings {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

/** Whether any TLS flag asks for TLS at all. */
export function wantsTls(o: ServeTlsOptions | undefined): boolean {
  return !!o && (!!o.tls || !!o.verify);
}

/** Checks the flag combination and reads the files; undefined when TLS is off. */
export async function loadTls(o: ServeTlsOptions | undefined, host: string): Promise<TlsServerSettings | undefined> {
  if (!o) return undefined;
  if (!wantsTls(o)) {
    const stray = o.caCert !== undefined ? '--tlscacert' : o.cert !== undefined ? '--tlscert' : o.key !== undefined ? '--tlskey' : undefined;
    if (stray) throw new UserError('serve.tls-flags', `${stray} was given without --tls or --tlsverify, so it would be ignored`, 'add --tlsverify (client certificates required) or --tls (server certificate only)');
    return undefined;
  }
  const mode = o.verify ? '--tlsverify' : '--tls';
  if (host.startsWith('unix://')) throw new UserError('serve.tls-flags', `${mode} applies to tcp:// hosts, not --host ${host}`, 'use --host tcp://HOST:PORT with TLS, or drop the TLS flags for a unix socket');
  if (o.cert === undefined) throw new UserError('serve.tls-flags', `${mode} needs --tlscert (the server's certificate, PEM)`, `e.g. ${mode} --tlscert server-cert.pem --tlskey server-key.pem`);
  if (o.key === undefined) throw new UserError('serve.tls-flags', `${mode} needs --tlskey (the server certificate's private key, PEM)`, `e.g. ${mode} --tlscert server-cert.pem --tlskey server-key.pem`);
  if (o.verify && o.caCert === undefined) throw new UserError('serve.tls-flags', '--tlsverify needs --tlscacert (the CA that signs client certificates)', 'e.g. --tlsverify --tlscacert ca.pem --tlscert server-cert.pem --tlskey server-key.pem');

  const certPem = await readPem('--tlscert', o.cert);
  const keyPem = await readPem('--tlskey', o.key);
  const certs = parseCerts('--tlscert', o.cert, certPem);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new UserError('serve.tls-file', `--tlskey ${o.key}: not a PEM private key (${(e as Error).message})`, 'give the server key file, e.g. made by `openssl genrsa -out server-key.pem 2048`');
  }
  if (!certs[0]!.checkPrivateKey(key)) throw new UserError('serve.tls-file', `--tlskey ${o.key} is not the key of the certificate in --tlscert ${o.cert}`, 'give the key the certificate was made for');
  let ca: Buffer | undefined;
  if (o.caCert !== undefined) {
    ca = await readPem('--tlscacert', o.caCert);
    parseCerts('--tlscacert', o.caCert, ca);
  }
  return { cert: certPem, key: keyPem, ...(ca ? { ca } : {}), requestCert: !!o.verify, rejectUnauthorized: !!o.verify };
}

async function readPem(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UserError('serve.tls-file', `${flag} ${file}: cannot read it (${code})`, 'check the path and its permissions');
  }
}

/** Every certificate in a PEM bundle; at least one, each one parseable. */
function parseCerts(flag: string, file: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UserError('serve.tls-file', `${flag} ${file}: no PEM certificate in it`, 'give a file with -----BEGIN CERTIFICATE----- blocks');
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new UserError('serve.tls-file', `${flag} ${file}: a certificate in it does not parse (${(e as Error).message})`, 'give a PEM certificate, e.g. made by `openssl x509`');
    }
  });
}

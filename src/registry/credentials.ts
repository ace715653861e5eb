/**
 * docker's credentials, shared with `docker login`: `$DOCKER_CONFIG/config.json` (`auths` with a
 * base64 `user:pass` `auth` or an `identitytoken`), or a credential helper named by
 * `credHelpers[HOST]` / `credsStore`, spoken to through `docker-credential-NAME get|store|erase`
 * (the server URL or a JSON record on stdin, JSON on stdout). A `<token>` username from a helper
 * means the secret is an identity token. docker.io is keyed `https://index.docker.io/v1/`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { atomicWriteFile, readRegularFile, UserError } from '../util/index.js';
import { DOCKER_HUB, DOCKER_HUB_AUTH_KEY } from './endpoint.js';

export interface Credentials {
  readonly username?: string;
  readonly password?: string;
  /** An OAuth2 refresh token for the Bearer flow (docker's `identitytoken`). */
  readonly identityToken?: string;
}

export interface CredentialStore {
  get(domain: string): Promise<Credentials | undefined>;
  store(domain: string, creds: Credentials): Promise<void>;
  /** True if there was an entry. */
  erase(domain: string): Promise<boolean>;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; [k: string]: unknown }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [k: string]: unknown;
}

const MAX_CONFIG = 4 << 20;
const HELPER_TIMEOUT_MS = 30_000;

export const authKey = (domain: string): string => (domain === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : domain);

export function createCredentialStore(configDir: string): CredentialStore {
  const path = join(configDir, 'config.json');

  async function load(): Promise<ConfigFile> {
    let raw: Buffer;
    try {
      raw = await readRegularFile(path, { maxBytes: MAX_CONFIG, what: path, followSymlink: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    try {
      const v = JSON.parse(raw.toString('utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as ConfigFile;
    } catch {
      // fall through
    }
    throw new UserError('registry.config-invalid', `${path} is not a JSON object`, `fix or remove ${path} (docker's client configuration)`);
  }

  const save = (cfg: ConfigFile) => atomicWriteFile(path, JSON.stringify(cfg, null, '\t') + '\n', 0o600);
  const helperOf = (cfg: ConfigFile, domain: string): string | undefined => cfg.credHelpers?.[authKey(domain)] ?? cfg.credHelpers?.[domain] ?? cfg.credsStore;

  return {
    async get(domain) {
      const cfg = await load();
      const helper = helperOf(cfg, domain);
      if (helper) {
        const out = await runHelper(helper, 'get', authKey(domain));
        if (out === undefined) return undefined;
        const r = parseHelperJson(helper, out);
        if (r.Username === '<token>') return { identityToken: r.Secret ?? '' };
        return { username: r.Username ?? '', password: r.Secret ?? '' };
      }
      const entry = cfg.auths?.[authKey(domain)] ?? cfg.auths?.[domain] ?? (domain === DOCKER_HUB ? cfg.auths?.['index.docker.io'] : undefined);
      if (!entry) return undefined;
      if (typeof entry.identitytoken === 'string' && entry.identitytoken) return { identityToken: entry.identitytoken };
      if (typeof entry.auth !== 'string' || !entry.auth) return undefined;
      const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = plain.indexOf(':');
      if (colon < 0) throw new UserError('registry.config-invalid', `${path}: the auth for ${domain} is not base64 of USER:PASSWORD`, `run \`wharf login ${domain}\` again`);
      return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
    },
    async store(domain, creds) {
      const cfg = await load();
      const helper = helperOf(cfg, domain);
      if (helper) {
        const secret = creds.identityToken ?? creds.password ?? '';
        const user = creds.identityToken ? '<token>' : creds.username ?? '';
        await runHelper(helper, 'store', JSON.stringify({ ServerURL: authKey(domain), Username: user, Secret: secret }));
        return;
      }
      const auths = { ...(cfg.auths ?? {}) };
      auths[authKey(domain)] = creds.identityToken
        ? { auth: '', identitytoken: creds.identityToken }
        : { auth: Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64') };
      await save({ ...cfg, auths });
    },
    async erase(domain) {
      const cfg = await load();
      const helper = helperOf(cfg, domain);
      if (helper) {
        const found = (await runHelper(helper, 'get', authKey(domain))) !== undefined;
        if (found) await runHelper(helper, 'erase', authKey(domain));
        return found;
      }
      const auths = { ...(cfg.auths ?? {}) };
      const keys = [authKey(domain), domain].filter((k) => k in auths);
      if (!keys.length) return false;
      for (const k of keys) delete auths[k];
      await save({ ...cfg, auths });
      return true;
    },
  };
}

function parseHelperJson(helper: string, out: string): { Username?: string; Secret?: string } {
  try {
    const v = JSON.parse(out) as { Username?: unknown; Secret?: unknown };
    return { ...(typeof v.Username === 'string' ? { Username: v.Username } : {}), ...(typeof v.Secret === 'string' ? { Secret: v.Secret } : {}) };
  } catch {
    throw new UserError('registry.cred-helper', `docker-credential-${helper} get printed something that is not JSON`, `check the credential helper docker-credential-${helper}`);
  }
}

/** Runs `docker-credential-NAME ACTION`; undefined when the helper says the credentials are not found. */
function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<string | undefined> {
  const bin = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
      reject(new UserError('registry.cred-helper', `credential helper name ${JSON.stringify(helper)} is invalid`, 'fix credsStore / credHelpers in docker\'s config.json'));
      return;
    }
    const child = spawn(bin, [action], { stdio: ['pipe', 'pipe', 'pipe'], timeout: HELPER_TIMEOUT_MS });
    const out: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_CONFIG) child.kill('SIGKILL');
      else out.push(b);
    });
    child.stderr.resume();
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new UserError('registry.cred-helper', `cannot run ${bin}: ${e.code === 'ENOENT' ? 'not found in PATH' : e.message}`, `install ${bin}, or remove it from credsStore / credHelpers in docker's config.json`));
    });
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      if (code === 0) resolve(text);
      else if (action !== 'store' && /credentials not found/i.test(text)) resolve(undefined);
      else reject(new UserError('registry.cred-helper', `${bin} ${action} failed${text ? `: ${text.slice(0, 200)}` : ''}`, `check the credential helper ${bin}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

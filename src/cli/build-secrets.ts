import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { err, ok, type Result } from '../util/index.js';

/**
 * `wharf build --secret` and `--ssh`, with buildx's syntax. The CLI reads the values (files and
 * environment variables) here and hands the engine only the results.
 *
 *   --secret id=ID,src=PATH | id=ID,env=VAR | id=ID (env var ID if set, else file ID) [,type=file|env]
 *   --ssh default | ID | ID=SOCKET   (default and bare ids use SSH_AUTH_SOCK)
 */

const SECRET_FIX = 'write --secret id=ID,src=FILE or --secret id=ID,env=VARIABLE';

/** Secret values by id. An env secret whose variable is unset is left out (a mount skips it, or fails if required). */
export async function readSecretFlags(specs: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Result<Map<string, Uint8Array>, string>> {
  const out = new Map<string, Uint8Array>();
  for (const spec of specs) {
    const bad = (why: string) => err(`--secret ${spec}: ${why}; ${SECRET_FIX}`);
    let id: string | undefined;
    let type: string | undefined;
    let src: string | undefined;
    let envName: string | undefined;
    for (const field of spec.split(',')) {
      const eq = field.indexOf('=');
      const key = field.slice(0, eq).toLowerCase();
      const value = field.slice(eq + 1);
      if (eq <= 0 || value === '') return bad(`'${field}' is not key=value`);
      if (key === 'id') id = value;
      else if (key === 'type' && (value === 'file' || value === 'env')) type = value;
      else if (key === 'src' || key === 'source') src = value;
      else if (key === 'env') envName = value;
      else return bad(key === 'type' ? `type must be file or env` : `unknown key '${key}'`);
    }
    if (!id) return bad('give the id');
    // buildx: `type=env,src=VAR` names the variable; neither src nor env: the variable ID, else the file ID.
    if (type === 'env' && envName === undefined) [envName, src] = [src ?? id, undefined];
    if (src !== undefined && envName !== undefined) return bad('give src or env, not both');
    if (src === undefined && envName === undefined) {
      if (env[id] !== undefined) envName = id;
      else src = id;
    }
    if (envName !== undefined) {
      const value = env[envName];
      if (value !== undefined) out.set(id, Buffer.from(value));
      continue;
    }
    const path = resolve(cwd, src!);
    try {
      if (!(await stat(path)).isFile()) return bad(`${src} is not a file`);
      out.set(id, await readFile(path));
    } catch (e) {
      return bad(`cannot read ${src} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  return ok(out);
}

/** Agent sockets by ssh id. Key files are refused: only running agents are forwarded. */
export async function readSshFlags(specs: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Result<Map<string, string>, string>> {
  const out = new Map<string, string>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const id = eq < 0 ? spec : spec.slice(0, eq);
    const given = eq < 0 ? undefined : spec.slice(eq + 1);
    if (!/^[\w.-]+$/.test(id)) return err(`--ssh ${spec}: write --ssh default, --ssh ID or --ssh ID=/path/to/agent.sock`);
    if (given?.includes(',')) return err(`--ssh ${spec}: key files are not supported, only ssh-agent sockets; load the keys with ssh-add and pass --ssh ${id}`);
    const path = given ? resolve(cwd, given) : env['SSH_AUTH_SOCK'];
    if (!path) return err(`--ssh ${spec}: SSH_AUTH_SOCK is not set; start an agent (eval $(ssh-agent); ssh-add) or pass --ssh ${id}=/path/to/agent.sock`);
    const st = await stat(path).catch(() => undefined);
    if (!st) return err(`--ssh ${spec}: ${path} does not exist; pass the socket of a running ssh-agent`);
    if (!st.isSocket()) {
      return err(`--ssh ${spec}: ${path} is not a socket; key files are not supported, only ssh-agent sockets (load the key with ssh-add and pass --ssh ${id})`);
    }
    out.set(id, path);
  }
  return ok(out);
}

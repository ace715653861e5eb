import { chmod, chown, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Mount } from '../../instructions/index.js';
import { UserError } from '../../util/index.js';
import type { MountAddition } from './types.js';
import type { BuildDeps } from '../state.js';

/**
 * `RUN --mount=type=ssh`: the agent socket `--ssh ID=SOCKET` named, forwarded into the container
 * at the target (default `/run/buildkit/ssh_agent.<n>`). Like BuildKit we give the container a
 * socket of our own (owned uid/gid, mode default 0600) that relays to the agent, so the user's
 * socket is never re-permissioned. The first ssh mount of a RUN also sets SSH_AUTH_SOCK, unless
 * the RUN's environment already has one.
 */
export async function withSshAgent<T>(deps: BuildDeps, label: string, m: Mount, first: boolean, body: (add: MountAddition) => Promise<T>): Promise<T> {
  const id = m.id!;
  const agent = deps.sshAgents?.get(id);
  if (agent === undefined) {
    if (!m.required) return body({});
    throw new UserError(
      'build.ssh-missing',
      `${label}: the ssh agent "${id}" is required (RUN --mount=type=ssh,id=${id},required) but the build was not given it`,
      id === 'default' ? 'pass --ssh default (uses SSH_AUTH_SOCK) or --ssh default=/path/to/agent.sock' : `pass --ssh ${id}=/path/to/agent.sock`,
    );
  }
  const dir = await deps.store.tempDir('ssh');
  const socket = join(dir, 'agent.sock');
  const relay = await relaySocket(socket, agent);
  try {
    await chown(socket, m.uid ?? 0, m.gid ?? 0);
    await chmod(socket, m.mode ?? 0o600);
    const target = m.target!;
    return await body({ spec: { type: 'bind', source: socket, destination: target, readonly: false }, ...(first ? { defaultEnv: [`SSH_AUTH_SOCK=${target}`] } : {}) });
  } finally {
    await relay.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A unix socket at `path` whose every connection is piped to one to `agent`. */
async function relaySocket(path: string, agent: string): Promise<{ close(): Promise<void> }> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(agent);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => (s === client ? upstream : client).destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, () => resolve()));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

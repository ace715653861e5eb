/**
 * Spare `default` networks, made ready before a RUN asks for one, as BuildKit's network namespace
 * pool does: opening one (network.ts) costs two processes and 10–30 ms, which were on the critical
 * path of every RUN.
 *
 *   const pool = createNetworkPool(() => openSlirpNetwork(opts))
 *   const net = await pool.take()      a ready spare, or one opened now; the next spare starts
 *   ... the RUN uses net, then net.close()
 *   await pool.close()                 the spares are closed; resolves once their processes are gone
 *
 * Each namespace serves exactly one RUN: steps stay isolated from each other (no connection,
 * socket, route or neighbour entry survives into the next step), so a used one is closed, never
 * returned. Nothing is prepared before the first take: a build with no RUN on the `default`
 * network (all cached, `--network none`) starts no process for it.
 *
 * One spare by default: a chain of RUNs (the common shape) takes one at a time, and each spare a
 * build does not use is a slirp4netns started and killed for nothing. RUNs of parallel stages that
 * find the spare taken open their own, as without a pool.
 */
import type { NetworkNamespace } from './network.js';

export interface NetworkPool {
  /** A network namespace for one RUN (the caller closes it); starts preparing the next spare. */
  take(): Promise<NetworkNamespace>;
  /**
   * Closes the spares, ready or still being prepared, and stops making new ones (a later take
   * opens its own); resolves once their processes are gone. Never rejects; safe to call twice.
   */
  close(): Promise<void>;
}

export function createNetworkPool(open: () => Promise<NetworkNamespace>, spares = 1): NetworkPool {
  // Each is caught: a spare that failed to open is dropped, and its take opens one itself (which
  // reports the failure, should it happen again).
  const ready: Promise<NetworkNamespace | undefined>[] = [];
  let closed: Promise<void> | undefined;
  const refill = () => {
    while (!closed && ready.length < spares) ready.push(open().catch(() => undefined));
  };
  return {
    async take() {
      const spare = await ready.shift();
      try {
        return spare ?? (await open());
      } finally {
        // After the taken one is ready, so a spare does not compete with it for the CPU; and on a
        // later turn of the event loop: an open starts synchronously (the namespace, the spawn of
        // slirp4netns: a few ms), which would otherwise come before the RUN goes on.
        setImmediate(refill);
      }
    },
    close() {
      return (closed ??= Promise.all(ready.splice(0).map((p) => p.then((n) => n?.close()))).then(() => undefined));
    },
  };
}

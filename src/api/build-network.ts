// `wharf build --network` and `--add-host`, parsed into what the engine takes.
import { isIP } from 'node:net';
import type { NetworkMode } from '../runtime/index.js';
import { err, ok, type Result } from '../util/index.js';

export interface BuildNetwork {
  /** For RUN steps without `RUN --network=` (and those with `--network=default`). */
  readonly network: NetworkMode;
  /** /etc/hosts lines (`ip\tname`) of every RUN. */
  readonly extraHosts: readonly string[];
}

/** `bridge` is docker's name for its default network; here it is the same as `default`. */
export function parseBuildNetwork(network: string, addHosts: readonly string[]): Result<BuildNetwork, string> {
  const mode = network === 'bridge' ? 'default' : network;
  if (mode !== 'default' && mode !== 'none' && mode !== 'host') {
    return err(`--network ${network}: use default (its own network with outbound access, the default; bridge is the same), none (loopback only) or host`);
  }
  const extraHosts: string[] = [];
  for (const h of addHosts) {
    // NAME:IP (docker) or NAME=IP (buildx); an IPv6 address has colons of its own.
    const m = /^([^:=\s]+)[:=](.+)$/.exec(h);
    const ip = m?.[2]?.replace(/^\[(.*)\]$/, '$1');
    if (!m || !ip || !isIP(ip)) return err(`--add-host ${h}: write --add-host NAME:IP, e.g. --add-host db:10.0.0.5`);
    extraHosts.push(`${ip}\t${m[1]}`);
  }
  return ok({ network: mode, extraHosts });
}

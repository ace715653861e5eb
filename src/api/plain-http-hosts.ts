// The registry client's record of hosts that speak plain http (PlainHttpHosts), kept in the store's
// cache dir: one `host:port` a line. A hint only (the client checks it against the rules for plain
// http and drops what fails), so a missing, unreadable or odd file just means no hint. It belongs to
// the store, so the library's pull, push and build keep it whoever calls them (CLI, server, a program).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlainHttpHosts, RegistryClientOptions } from '../registry/index.js';
import { defaultRegistryOptions } from './registry.js';

const MAX_BYTES = 64 << 10;

export function plainHttpHostsIn(root: string): PlainHttpHosts {
  const file = join(root, 'cache', 'registry-plain-http');
  let hosts: Set<string> | undefined;
  const load = (): Set<string> => {
    if (hosts) return hosts;
    let text = '';
    try {
      const b = readFileSync(file);
      if (b.length <= MAX_BYTES) text = b.toString('utf8');
    } catch {
      // no record yet
    }
    return (hosts = new Set(text.split('\n').map((l) => l.trim()).filter((l) => /^[\w.\-[\]:]+$/.test(l))));
  };
  const save = () => {
    try {
      mkdirSync(join(root, 'cache'), { recursive: true });
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, [...load()].map((h) => `${h}\n`).join(''));
      renameSync(tmp, file); // concurrent writers: the last whole file wins
    } catch {
      // a read-only store keeps no hint
    }
  };
  return {
    has: (h) => load().has(h),
    add(h) {
      load().add(h);
      save();
    },
    delete(h) {
      if (load().delete(h)) save();
    },
  };
}

/** The caller's registry options with the store's plain-http record, unless the caller gave its own. */
export function withStoreRegistry(registry: RegistryClientOptions | undefined, root: string): RegistryClientOptions {
  if (!registry) return { ...defaultRegistryOptions(), plainHttpHosts: plainHttpHostsIn(root) };
  return registry.plainHttpHosts ? registry : { ...registry, plainHttpHosts: plainHttpHostsIn(root) };
}

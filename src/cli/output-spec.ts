/**
 * `wharf build -o`: docker's --output syntax. `type=oci|docker|tar,dest=PATH` (dest `-` is stdout),
 * `type=local,dest=DIR`, `type=image,name=NAME[,push=true]` and `type=registry,name=NAME` (an image
 * with push=true) as buildx spells them. A value without `=` is a directory (`-o out` is
 * `type=local,dest=out`), and `-o -` is `type=tar,dest=-`. A key the type does not take is an error,
 * never ignored.
 */
export type FileOutputType = 'oci' | 'docker' | 'tar' | 'local';
export type Output = { type: FileOutputType; dest: string } | { type: 'image'; names: string[]; push: boolean };

const KEYS: Record<string, readonly string[]> = {
  oci: ['type', 'dest'],
  docker: ['type', 'dest'],
  tar: ['type', 'dest'],
  local: ['type', 'dest'],
  image: ['type', 'name', 'push'],
  registry: ['type', 'name', 'push'],
};

export function parseOutput(spec: string): Output | { error: string } {
  if (spec === '-') return { type: 'tar', dest: '-' };
  if (!spec.includes('=')) return { type: 'local', dest: spec };
  const kv = new Map<string, string>();
  for (const p of spec.split(',')) {
    const eq = p.indexOf('=');
    if (eq <= 0) return { error: `${JSON.stringify(p)} is not KEY=VALUE` };
    kv.set(p.slice(0, eq), p.slice(eq + 1));
  }
  const type = kv.get('type');
  if (type === undefined || !(type in KEYS)) return { error: 'type must be oci, docker, tar, local, image or registry' };
  const unknown = [...kv.keys()].filter((k) => !KEYS[type]!.includes(k));
  if (unknown.length) return { error: `type=${type} takes no ${unknown.map((k) => `${k}=`).join(', ')} (its keys: ${KEYS[type]!.join(', ')})` };
  if (type === 'image' || type === 'registry') {
    const push = type === 'registry' || kv.get('push') === 'true';
    if (kv.has('push') && !['true', 'false'].includes(kv.get('push')!)) return { error: 'push must be true or false' };
    const name = kv.get('name');
    return { type: 'image', names: name ? [name] : [], push };
  }
  const dest = kv.get('dest');
  if (!dest) return { error: 'give dest=PATH' };
  if (dest === '-' && type === 'local') return { error: 'type=local writes a directory; for stdout use type=tar,dest=-' };
  return { type: type as FileOutputType, dest };
}

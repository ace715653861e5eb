/**
 * Hostile archives for the archive-* tests, built byte by byte here: docker archives
 * (manifest.json) and OCI archives/layouts, with layers, members and documents any test can break.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { sha256Of } from '../../src/hash/index.js';
import { encodeHeader, endOfArchive, paddingFor } from '../../src/layer/index.js';
import type { EntryType } from '../../src/layer/tar-header.js';
import { wharfBin } from '../helpers/paths.js';

export interface Member {
  readonly path: string;
  readonly type?: EntryType;
  readonly content?: string | Buffer;
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
}

/** A tar of exactly these entries, in order. */
export function tarOf(members: readonly Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const type = m.type ?? 'file';
    const data = Buffer.from(m.content ?? '');
    parts.push(encodeHeader({
      path: m.path, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: data.length, mtime: 1_600_000_000,
      ...(m.linkname !== undefined ? { linkname: m.linkname } : {}),
      ...(m.devmajor !== undefined ? { devmajor: m.devmajor, devminor: m.devminor ?? 0 } : {}),
    }));
    if (type === 'file') parts.push(data, paddingFor(data.length));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

/** A header whose size field says `size` whatever its type (encodeHeader writes 0 for non-files). */
export function withSizeField(header: Buffer, size: number): Buffer {
  const h = Buffer.from(header);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

export const LAYER = tarOf([{ path: 'etc', type: 'dir' }, { path: 'etc/hello', content: 'real layer\n' }]);
export const OTHER_LAYER = tarOf([{ path: 'etc', type: 'dir' }, { path: 'etc/hello', content: 'EVIL layer\n' }]);
export const diffIdOf = (tar: Buffer): string => sha256Of(tar);
const hex = (d: string) => d.slice('sha256:'.length);

export function configFor(diffIds: readonly string[]): Buffer {
  return Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
}

export interface ImageParts {
  /** Layer tars (plain), stored as they are. */
  readonly layers: readonly Buffer[];
  /** diff_ids the config claims (default: the real ones). */
  readonly diffIds?: readonly string[];
  readonly config?: Buffer;
  readonly tag?: string;
}

/** Docker archive members: manifest.json, cfg.json, l<i>.tar. */
export function dockerMembers(p: ImageParts, over: { manifest?: unknown; extra?: readonly Member[]; omit?: readonly string[] } = {}): Member[] {
  const config = p.config ?? configFor(p.diffIds ?? p.layers.map(diffIdOf));
  const manifest = over.manifest ?? [{ Config: 'cfg.json', RepoTags: [p.tag ?? 'hostile:1'], Layers: p.layers.map((_, i) => `l${i}.tar`) }];
  const base: Member[] = [
    { path: 'manifest.json', content: typeof manifest === 'string' ? manifest : JSON.stringify(manifest) },
    { path: 'cfg.json', content: config },
    ...p.layers.map((l, i) => ({ path: `l${i}.tar`, content: l })),
  ];
  // The test's own member replaces the default of that name (not a second tar entry of it).
  const extra = over.extra ?? [];
  const drop = new Set([...(over.omit ?? []), ...extra.map((m) => m.path)]);
  return [...base.filter((m) => !drop.has(m.path)), ...extra];
}

/** OCI layout members (gzip layers): oci-layout, index.json, blobs/sha256/*. */
export function ociMembers(p: ImageParts, over: { index?: unknown; extra?: readonly Member[]; omitBlobs?: boolean } = {}): Member[] {
  const blobs = new Map<string, Buffer>();
  const put = (b: Buffer) => {
    const d = sha256Of(b);
    blobs.set(d, b);
    return d;
  };
  const layerDescs = p.layers.map((l) => {
    const gz = gzipSync(l);
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: put(gz), size: gz.length };
  });
  const config = p.config ?? configFor(p.diffIds ?? p.layers.map(diffIdOf));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(config), size: config.length },
    layers: layerDescs,
  }));
  const md = put(manifest);
  const index = over.index ?? {
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': p.tag ?? 'hostile:1', 'io.containerd.image.name': `docker.io/library/${p.tag ?? 'hostile:1'}` } }],
  };
  return [
    { path: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { path: 'index.json', content: typeof index === 'string' ? index : JSON.stringify(index) },
    { path: 'blobs', type: 'dir' },
    { path: 'blobs/sha256', type: 'dir' },
    ...(over.omitBlobs ? [] : [...blobs].map(([d, b]) => ({ path: `blobs/sha256/${hex(d)}`, content: b }))),
    ...(over.extra ?? []),
  ];
}

/** Writes members as a directory tree (an OCI layout dir), regular files and dirs only. */
export async function writeTree(dir: string, members: readonly Member[]): Promise<void> {
  for (const m of members) {
    const p = join(dir, m.path);
    if (m.type === 'dir') await mkdir(p, { recursive: true });
    else {
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, m.content ?? '');
    }
  }
}

export function cli(root: string) {
  return (args: string[], timeout = 60_000) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8', timeout });
}

type Run = ReturnType<ReturnType<typeof cli>>;

/** A clean refusal: exit 1, the message, no stack trace. */
export function assertRefused(r: Run, message: RegExp): void {
  assert.equal(r.status, 1, `expected exit 1, got ${r.status} (signal ${r.signal}); stderr: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'stack trace on stderr');
  assert.doesNotMatch(r.stderr, /internal error/);
}

/** The store gained no tag and fsck finds it consistent. */
export function assertStoreUnchanged(wharf: ReturnType<typeof cli>, tagsBefore: string): void {
  assert.equal(wharf(['images']).stdout, tagsBefore, 'the store gained a tag');
  const f = wharf(['fsck']);
  assert.equal(f.status, 0, `fsck: ${f.stdout}${f.stderr}`);
}

import { gzipSync } from 'node:zlib';
import { sha256Of } from '../../src/hash/index.js';
import type { BlobStore, Store } from '../../src/store/index.js';
import {
  parseImageName,
  addEmptyHistory,
  addLayer,
  commitImage,
  imageTimestamp,
  scratchImage,
  updateContainerConfig,
  type CommittedImage,
} from '../../src/image/index.js';
import { MEDIA_TYPE_LAYER_GZIP } from '../../src/image/types.js';

export interface TarFile {
  readonly path: string;
  readonly content?: string;
  /** Directories end without content and get type '5'. */
  readonly dir?: boolean;
  readonly mode?: number;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** A minimal ustar archive (short names only), enough for test layers. */
export function tinyTar(files: readonly TarFile[], mtime = 0): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const body = Buffer.from(f.content ?? '');
    const h = Buffer.alloc(512);
    h.write(f.path + (f.dir && !f.path.endsWith('/') ? '/' : ''), 0, 100, 'utf8');
    h.write(octal(f.mode ?? (f.dir ? 0o755 : 0o644), 8), 100);
    h.write(octal(0, 8), 108);
    h.write(octal(0, 8), 116);
    h.write(octal(f.dir ? 0 : body.length, 12), 124);
    h.write(octal(mtime, 12), 136);
    h.write('        ', 148);
    h.write(f.dir ? '5' : '0', 156);
    h.write('ustar\0' + '00', 257, 'binary');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(octal(sum, 7) + ' ', 148);
    blocks.push(h);
    if (!f.dir && body.length) blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export const TINY_FILES: readonly TarFile[] = [
  { path: 'etc', dir: true },
  { path: 'etc/hostname', content: 'tiny\n' },
  { path: 'hello.txt', content: 'hello from wharf\n' },
];

/** Writes a one-layer image (plus one metadata step) to the store (through `blobs`, e.g. a lease) and tags it `name`. */
export async function writeTinyImage(store: Store, name: string, opts: { files?: readonly TarFile[]; epoch?: number; label?: string; blobs?: BlobStore } = {}): Promise<CommittedImage> {
  const tar = tinyTar(opts.files ?? TINY_FILES, opts.epoch ?? 0);
  const gz = gzipSync(tar);
  const blobs = opts.blobs ?? store;
  const blob = await blobs.putBytes(gz);
  let draft = scratchImage({ architecture: 'amd64', os: 'linux' });
  const created = imageTimestamp(opts.epoch ?? 1_700_000_000);
  draft = addLayer(draft, { descriptor: { mediaType: MEDIA_TYPE_LAYER_GZIP, ...blob }, diffId: sha256Of(tar) }, { created, created_by: 'ADD rootfs.tar /' });
  draft = updateContainerConfig(draft, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], Labels: { test: opts.label ?? 'tiny' } });
  draft = addEmptyHistory(draft, { created, created_by: 'CMD ["/bin/sh"]' });
  const img = await commitImage(blobs, draft, { created });
  await store.setTag(parseImageName(name), img.manifestDescriptor);
  return img;
}

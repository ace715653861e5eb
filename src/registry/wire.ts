/**
 * What push remembers between runs, beside the blobs (`<root>/wire/`), so a second push does less:
 *
 * - `compressed/<hex>.<kind>`: the descriptor of the gzip or zstd copy made for the wire of the
 *   uncompressed layer `<hex>`. A second push of it sends (or HEADs) that copy without compressing
 *   again. The copy is kept by GC while a tagged image uses the uncompressed layer.
 * - `origins/<hex>`: the repositories (per registry domain) a blob was last pulled from or pushed
 *   to, so a push to another repository on that registry can ask for a cross-repository mount.
 * - `uploads/<hex>.<repo key>`: the Location of a chunked upload of blob `<hex>` to one repository
 *   after its last accepted PATCH, so a rerun of an interrupted push asks the registry how far it
 *   got and sends only the rest. Removed when the upload completes.
 *
 * Both are accelerators, like cache records: written to a temp file under `<root>/tmp/` (swept when
 * its writer died) and renamed into place without fsync; a lost, torn or stale record reads as
 * absent and only costs the work it would have saved.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256, sha256FromHex, sha256Hex, sha256Of, type Sha256 } from '../hash/index.js';
import { walk, type BlobStore, type Descriptor, type GcHook } from '../store/index.js';
import type { Repository } from './types.js';
import { randomHex } from '../util/index.js';

export type WireCompression = 'gzip' | 'zstd';

export interface WireRecords {
  /** The compressed copy of `source`, when a record names one the store still has (right size). */
  compressed(source: Sha256, kind: WireCompression): Promise<Descriptor | undefined>;
  recordCompressed(source: Sha256, kind: WireCompression, copy: Descriptor): Promise<void>;
  /** Repository paths on `domain` known to hold `digest`, latest first. */
  origins(digest: Sha256, domain: string): Promise<string[]>;
  recordOrigin(digest: Sha256, repo: Repository): Promise<void>;
  /** The Location of an unfinished chunked upload of `digest` to `repo`, if one was recorded. */
  uploadSession(digest: Sha256, repo: Repository): Promise<string | undefined>;
  /** Records (or, with undefined, forgets) where that upload stands. */
  recordUploadSession(digest: Sha256, repo: Repository, location: string | undefined): Promise<void>;
  /** Keeps compressed copies of layers tagged images use; drops records of blobs GC removed. */
  gcHook(): GcHook;
}

/** Repositories remembered per domain for one blob. */
const MAX_ORIGINS = 4;

export function openWireRecords(root: string, blobs: BlobStore): WireRecords {
  const dir = join(root, 'wire');
  const compressedPath = (source: Sha256, kind: WireCompression) => join(dir, 'compressed', `${sha256Hex(source)}.${kind}`);
  const originPath = (d: Sha256) => join(dir, 'origins', sha256Hex(d));
  const uploadPath = (d: Sha256, repo: Repository) => join(dir, 'uploads', `${sha256Hex(d)}.${sha256Hex(sha256Of(`${repo.domain}/${repo.path}`)).slice(0, 16)}`);

  async function put(path: string, text: string): Promise<void> {
    const tmp = join(root, 'tmp', `${process.pid}.wire.${randomHex(6)}`);
    try {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(tmp, text);
      await rename(tmp, path);
    } catch {
      // An accelerator: failing to remember costs a recompression or an upload, nothing more.
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
  // A missing, torn or unreadable record is simply absent.
  const readJson = (path: string): Promise<unknown> => readFile(path, 'utf8').then((t) => JSON.parse(t) as unknown).catch(() => undefined);

  async function compressedRecords(): Promise<{ source: Sha256; copy: Descriptor; file: string }[]> {
    const names = await readdir(join(dir, 'compressed')).catch(() => [] as string[]);
    const out: { source: Sha256; copy: Descriptor; file: string }[] = [];
    for (const name of names) {
      const file = join(dir, 'compressed', name);
      const hex = name.split('.')[0]!;
      const copy = asDescriptor(await readJson(file));
      if (!copy || !isSha256(`sha256:${hex}`)) {
        await rm(file, { force: true });
        continue;
      }
      out.push({ source: sha256FromHex(hex), copy, file });
    }
    return out;
  }

  return {
    async compressed(source, kind) {
      const copy = asDescriptor(await readJson(compressedPath(source, kind)));
      if (!copy) return undefined;
      return (await blobs.stat(copy.digest)) === copy.size ? copy : undefined;
    },
    recordCompressed: (source, kind, copy) => put(compressedPath(source, kind), JSON.stringify({ mediaType: copy.mediaType, digest: copy.digest, size: copy.size })),
    async origins(digest, domain) {
      const rec = (await readJson(originPath(digest))) as Record<string, unknown> | undefined;
      const list = rec && typeof rec === 'object' ? rec[domain] : undefined;
      return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string') : [];
    },
    async recordOrigin(digest, repo) {
      const read = await readJson(originPath(digest));
      const rec = (read && typeof read === 'object' && !Array.isArray(read) ? read : {}) as Record<string, unknown>;
      const had = Array.isArray(rec[repo.domain]) ? (rec[repo.domain] as unknown[]).filter((p) => typeof p === 'string' && p !== repo.path) : [];
      if (had[0] === repo.path) return;
      rec[repo.domain] = [repo.path, ...had].slice(0, MAX_ORIGINS);
      await put(originPath(digest), JSON.stringify(rec));
    },
    async uploadSession(digest, repo) {
      const rec = (await readJson(uploadPath(digest, repo))) as { location?: unknown } | undefined;
      return typeof rec?.location === 'string' ? rec.location : undefined;
    },
    async recordUploadSession(digest, repo, location) {
      if (location === undefined) await rm(uploadPath(digest, repo), { force: true }).catch(() => undefined);
      else await put(uploadPath(digest, repo), JSON.stringify({ location }));
    },
    gcHook: () => ({
      name: 'wire',
      async roots() {
        const records = await compressedRecords();
        if (!records.length) return [];
        // The layers tagged images use: their compressed copies stay, the others go.
        const index = (await readJson(join(root, 'index.json'))) as { manifests?: Descriptor[] } | undefined;
        const tagged = await walk(index?.manifests ?? [], (d) => blobs.readJSON(d.digest, d.size));
        return records.filter((r) => tagged.blobs.has(r.source)).map((r) => r.copy);
      },
      async collect(live) {
        for (const r of await compressedRecords()) if (!live.has(r.copy.digest) || !live.has(r.source)) await rm(r.file, { force: true });
        for (const name of await readdir(join(dir, 'uploads')).catch(() => [] as string[])) {
          const hex = name.split('.')[0]!;
          if (!isSha256(`sha256:${hex}`) || !live.has(sha256FromHex(hex))) await rm(join(dir, 'uploads', name), { force: true });
        }
        for (const hex of await readdir(join(dir, 'origins')).catch(() => [] as string[])) {
          if (!isSha256(`sha256:${hex}`) || !live.has(sha256FromHex(hex))) await rm(join(dir, 'origins', hex), { force: true });
        }
        return 0;
      },
    }),
  };
}

function asDescriptor(v: unknown): Descriptor | undefined {
  const d = v as Partial<Descriptor> | undefined;
  if (!d || typeof d !== 'object' || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !isSha256(d.digest) || typeof d.size !== 'number') return undefined;
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/** The hook pull calls when it has stored a blob from `repo`: later pushes there may mount it. */
export function recordPulledBlob(blobs: BlobStore, digest: Sha256, repo: Repository): Promise<void> {
  return openWireRecords(blobs.root, blobs).recordOrigin(digest, repo);
}

/**
 * A minimal BlobStore for layer tests (the real one lives in the store module): blobs are files
 * named by digest under a temp dir; reads are not verified here because the tests check digests
 * themselves.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Sha256Stream, sha256Hex, sha256Of, type Sha256 } from '../../src/hash/index.js';
import type { BlobStore, BlobWriter } from '../../src/store/index.js';

export function testBlobStore(root: string): BlobStore {
  const blobDir = join(root, 'blobs', 'sha256');
  const path = (d: Sha256) => join(blobDir, sha256Hex(d));
  const store: BlobStore = {
    root,
    async has(d) {
      return (await store.stat(d)) !== undefined;
    },
    async stat(d) {
      return stat(path(d)).then((s) => s.size, () => undefined);
    },
    async putBytes(data) {
      const digest = sha256Of(data);
      await mkdir(blobDir, { recursive: true });
      await writeFile(path(digest), data);
      return { digest, size: Buffer.byteLength(data) };
    },
    async putStream(src: Readable) {
      const w = await store.writer();
      for await (const c of src) await w.write(c as Buffer);
      return w.commit();
    },
    async writer(): Promise<BlobWriter> {
      await mkdir(join(root, 'tmp'), { recursive: true });
      const tmp = join(root, 'tmp', `blob-${process.hrtime.bigint()}`);
      const fh = await open(tmp, 'w');
      const hash = new Sha256Stream();
      let done = false;
      return {
        async write(chunk) {
          hash.update(chunk);
          await fh.write(chunk);
        },
        async commit(expected) {
          done = true;
          await fh.close();
          const digest = hash.digest();
          if (expected && expected !== digest) throw new Error(`digest mismatch ${digest}`);
          await mkdir(blobDir, { recursive: true });
          await rename(tmp, path(digest));
          return { digest, size: hash.size };
        },
        async abort() {
          if (done) return;
          done = true;
          await fh.close();
          await rm(tmp, { force: true });
        },
      };
    },
    openRead: (d) => createReadStream(path(d)),
    readBytes: (d) => readFile(path(d)),
    async readJSON<T>(d: Sha256) {
      return JSON.parse((await readFile(path(d))).toString()) as T;
    },
    path,
    async tempDir(prefix) {
      await mkdir(join(root, 'tmp'), { recursive: true });
      return mkdtemp(join(root, 'tmp', prefix));
    },
  };
  return store;
}

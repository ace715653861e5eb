/**
 * A tag cannot carry a digest: `-t name:1@sha256:…` used to be taken with the digest silently
 * dropped. Every command that names an image to tag (build -t, tag's target, load -t, import's
 * name) refuses it, naming the flag, before any work and with nothing tagged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBin } from '../helpers/paths.js';
import { writeTar } from '../fuzz/tar.js';
import { rootfsEntries } from '../fuzz/archive-gen.js';

let dir: string;
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const wharf = (...args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', join(dir, 'store'), ...args], { encoding: 'utf8' });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-front-names-'));
  await writeFile(join(dir, 'rootfs.tar'), writeTar(rootfsEntries()));
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY rootfs.tar /\n');
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function refusedWithDigest(r: ReturnType<typeof wharf>, flag: string, name: string): void {
  assert.equal(r.status, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|^\s+at /m);
  assert.equal(r.stderr.split('\n')[0], `error: ${flag} ${name}: a tag cannot include a digest`);
  assert.match(r.stderr, /^hint: drop the @sha256:abababababab… part, e\.g\. /m);
}

test('build -t, load -t, import and tag refuse a name with a digest, and tag nothing', () => {
  for (const name of [`app:1@${DIGEST}`, `app@${DIGEST}`, `localhost:5000/ns/app:1@${DIGEST}`]) {
    refusedWithDigest(wharf('build', '-t', 'ok:1', '-t', name, dir), '-t', name);
    refusedWithDigest(wharf('import', join(dir, 'rootfs.tar'), name), 'wharf import FILE', name);
    refusedWithDigest(wharf('load', '-i', join(dir, 'rootfs.tar'), '-t', name), '-t', name);
  }
  assert.equal(wharf('images').stdout.includes('app'), false);
  // tag: the source exists, the target has a digest.
  assert.equal(wharf('import', join(dir, 'rootfs.tar'), 'src:1').status, 0);
  refusedWithDigest(wharf('tag', 'src:1', `dst:2@${DIGEST}`), 'wharf tag SOURCE', `dst:2@${DIGEST}`);
  const images = wharf('images').stdout;
  assert.match(images, /\bsrc\b/);
  assert.doesNotMatch(images, /\bdst\b|\bok\b/);
  // Names without a digest still work.
  assert.equal(wharf('tag', 'src:1', 'dst:2').status, 0);
});

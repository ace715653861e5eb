import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryHttp, openWireRecords, pushImage, type RegistryClient } from '../../src/registry/index.js';
import type { RegistryHttp, RegistryRequest, Repository } from '../../src/registry/types.js';
import { openStore, parseReference } from '../../src/store/index.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// A chunked push interrupted after some PATCHes resumes, on the next run, where the real
// docker-registry says its upload stands (GET on the saved Location → Range), not from byte 0.
let dir: string;
let reg: TestRegistry;
let root: string;
let client: RegistryClient;
const MiB = 1 << 20;
const reference = (s: string) => {
  const r = parseReference(s);
  assert.ok(r.ok);
  return r.value;
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-push-resume-'));
  reg = await startRegistry();
  root = join(dir, 'store');
  const ctx = await writeContext(dir, 'ctx', { Dockerfile: 'FROM scratch\nCOPY big /big\n' });
  await writeFile(join(ctx, 'big'), randomBytes(3 * MiB + 12345));
  const r = spawnSync(process.execPath, [wharfBin, '--root', root, 'build', '-q', '--compression', 'gzip', '-t', `${reg.host}/team/resume:1`, ctx], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  client = createRegistryHttp({ configDir: join(dir, 'docker-config') });
});
after(async () => {
  await client?.close();
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The real client, with PATCHes counted, and refused (as a dropped connection would end them) after `allow`. */
function patches(allow = Infinity): { http: RegistryHttp; ranges: string[]; bytes: () => number } {
  const ranges: string[] = [];
  let bytes = 0;
  return {
    ranges,
    bytes: () => bytes,
    http: {
      async send(repo: Repository, req: RegistryRequest) {
        if (req.method === 'PATCH') {
          if (ranges.length >= allow) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          ranges.push(req.headers?.['Content-Range'] ?? '');
          bytes += (req.body as Uint8Array).length;
        }
        return client.send(repo, req);
      },
    },
  };
}

test('an interrupted chunked push resumes at the registry\'s Range on the rerun, and the image is whole', async () => {
  const store = await openStore(root);
  const ref = reference(`${reg.host}/team/resume:1`);
  const first = patches(2);
  await assert.rejects(pushImage(first.http, store, ref, { chunkSize: MiB }), /hang up|ECONNRESET|127\.0\.0\.1/);
  assert.deepEqual(first.ranges, [`0-${MiB - 1}`, `${MiB}-${2 * MiB - 1}`]);
  assert.equal((await readdir(join(root, 'wire', 'uploads'))).length, 1, 'the session is remembered');

  const second = patches();
  const r = await pushImage(second.http, store, ref, { chunkSize: MiB });
  // The layer continues at 2 MiB: what the registry already had is not sent again.
  assert.equal(second.ranges[0], `${2 * MiB}-${3 * MiB - 1}`, second.ranges.join(' '));
  const layer = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/resume:1`], { encoding: 'utf8' })) as { layers: { size: number }[] };
  assert.equal(second.bytes(), layer.layers[0]!.size - 2 * MiB);
  const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/resume:1`], { encoding: 'utf8' })) as { Digest: string };
  assert.equal(inspected.Digest, r.digest);
  assert.deepEqual(await readdir(join(root, 'wire', 'uploads')), [], 'forgotten once the upload is complete');
  // The registry serves the whole layer: a fresh store pulls it (digest and diff_id checked).
  const pulled = spawnSync(process.execPath, [wharfBin, '--root', join(dir, 'other'), 'pull', '-q', `${reg.host}/team/resume:1`], { encoding: 'utf8' });
  assert.equal(pulled.status, 0, pulled.stderr);
});

test('a recorded session the registry does not know is dropped and the blob is sent whole', async () => {
  const store = await openStore(root);
  const name = `${reg.host}/team/stale:1`;
  assert.equal(spawnSync(process.execPath, [wharfBin, '--root', root, 'tag', `${reg.host}/team/resume:1`, name]).status, 0);
  // No mount from team/resume (where the first test pushed it): this push must upload.
  await rm(join(root, 'wire', 'origins'), { recursive: true, force: true });
  const manifest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/resume:1`], { encoding: 'utf8' })) as { layers: { digest: string; size: number }[] };
  const layer = manifest.layers[0]!;
  const repo = { domain: reg.host, path: 'team/stale' };
  await openWireRecords(root, store).recordUploadSession(layer.digest as never, repo, `/v2/team/stale/blobs/uploads/00000000-0000-4000-8000-000000000000?_state=bogus`);
  const run = patches();
  await pushImage(run.http, store, reference(name), { chunkSize: MiB });
  assert.equal(run.ranges[0], `0-${MiB - 1}`, run.ranges.join(' '));
  assert.equal(run.bytes(), layer.size);
  assert.deepEqual(await readdir(join(root, 'wire', 'uploads')), []);
  assert.equal(spawnSync(process.execPath, [wharfBin, '--root', join(dir, 'other2'), 'pull', '-q', name]).status, 0);
});

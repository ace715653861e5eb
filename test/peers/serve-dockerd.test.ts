// The docker 20.10 CLI (classic protocol) building the same Dockerfile against a real dockerd and
// against `wharf serve`: the images must have the same config and the same file tree (mtimes and
// the classic builder's runtime stubs aside). Both results are read back with `docker save` and
// loaded into one wharf store, so the same code walks both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageTree } from '../helpers/image-tree.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { wharfBuildEnv, type WharfBuildEnv } from '../helpers/wharf-build.js';
import { openStore } from '../../src/store/index.js';
import { loadImage, type ContainerConfig } from '../../src/image/index.js';
import { startServe, type ServeChild } from '../server/helpers.js';

const suite = {} as { dir: string; env: WharfBuildEnv; cmp: WharfBuildEnv };
let dockerd: PrivateDockerd;
let server: ServeChild;

before(async () => {
  suite.dir = await mkdtemp(join(tmpdir(), 'wharf-serve-peer-'));
  suite.env = wharfBuildEnv(suite.dir);
  suite.env.importBusybox();
  server = await startServe(suite.dir, suite.env.root);
  dockerd = await startDockerd();
  // One base for both: wharf's import, saved and loaded into dockerd.
  const base = join(suite.dir, 'base.tar');
  assert.equal(suite.env.wharf(['save', '-o', base, 'busybox:test']).status, 0);
  assert.equal(dockerd.docker(['load', '-i', base]).status, 0);
  await mkdir(join(suite.dir, 'cmp'));
  suite.cmp = wharfBuildEnv(join(suite.dir, 'cmp'));
});
after(async () => {
  await server?.stop();
  await dockerd?.stop();
  if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
});

const tree = async (root: string, name: string) => imageTree(await openStore(root), name, join(suite.dir, 'trees', name.replace(/[/:]/g, '_')));

const FIELDS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal'] as const;
const pick = (c: ContainerConfig | undefined) => Object.fromEntries(FIELDS.map((f) => [f, c?.[f] ?? null]).filter(([, v]) => v !== null && !(Array.isArray(v) && v.length === 0)));

test('docker build through wharf serve and through dockerd: the same config and file tree', async () => {
  const ctx = await suite.env.context('peer-ctx', {
    Dockerfile: [
      'FROM busybox:test',
      'ARG V=1',
      'ENV APP=/app MODE=test',
      'WORKDIR /app',
      'COPY src/ ./src/',
      'COPY run.sh /usr/local/bin/run.sh',
      'RUN chmod 0755 /usr/local/bin/run.sh && mkdir -p /data && echo "v=$V" > /data/version && ln -s /data/version /app/version',
      'LABEL org.example.v=$V',
      'EXPOSE 8080/tcp',
      'USER 1000:1000',
      'STOPSIGNAL SIGINT',
      'ENTRYPOINT ["/usr/local/bin/run.sh"]',
      'CMD ["serve"]',
      '',
    ].join('\n'),
    'src/a.txt': 'a\n',
    'src/sub/b.txt': 'b\n',
    'run.sh': '#!/bin/sh\necho "$@"\n',
  });
  const args = ['build', '--network', 'none', '--build-arg', 'V=2', '-t', 'peer:1', ctx];
  const w = server.docker(args);
  assert.equal(w.status, 0, w.stderr);
  const d = dockerd.docker(args, { DOCKER_BUILDKIT: '0' });
  assert.equal(d.status, 0, d.stderr);
  // Both read back the way a user would: docker save from each daemon.
  const ws = join(suite.dir, 'w.tar');
  const ds = join(suite.dir, 'd.tar');
  assert.equal(server.docker(['save', '-o', ws, 'peer:1']).status, 0);
  assert.equal(dockerd.docker(['save', '-o', ds, 'peer:1']).status, 0);
  // Both archives name peer:1: each is loaded, then tagged apart.
  assert.equal(suite.cmp.wharf(['load', '-i', ws]).status, 0);
  assert.equal(suite.cmp.wharf(['tag', 'peer:1', 'peer/w:1']).status, 0);
  assert.equal(suite.cmp.wharf(['load', '-i', ds]).status, 0);
  assert.equal(suite.cmp.wharf(['tag', 'peer:1', 'peer/d:1']).status, 0);
  const store = await openStore(suite.cmp.root);
  const [wi, di] = [await loadImage(store, 'peer/w:1'), await loadImage(store, 'peer/d:1')];
  assert.deepEqual(pick(wi.config.config), pick(di.config.config), 'config');
  const [wt, dt] = [await tree(suite.cmp.root, 'peer/w:1'), await tree(suite.cmp.root, 'peer/d:1')];
  const diffs: string[] = [];
  for (const p of new Set([...wt.keys(), ...dt.keys()])) {
    const a = JSON.stringify(wt.get(p));
    const b = JSON.stringify(dt.get(p));
    if (a !== b) diffs.push(`${p}: wharf ${a} docker ${b}`);
  }
  assert.deepEqual(diffs, [], 'file trees differ');
  assert.ok(wt.has('/data/version') && wt.get('/app/version')?.link === '/data/version');
});

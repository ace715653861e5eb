import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dockerPeerSuite } from '../helpers/dockerd.js';
import { wharfBin } from '../helpers/paths.js';

// docker 20.10 reads what `wharf save` writes, and wharf reads what `docker save` writes
// (docker 20.10 still writes the old `<id>/layer.tar` form). The image ID survives both ways.
const suite = dockerPeerSuite('wharf-peer-archive-');
const wharf = (root: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', join(suite.dir, root), ...args], { encoding: 'utf8' });

test('docker load reads wharf save, wharf load reads docker save, and the image ID is kept', () => {
  const imported = wharf('a', ['import', join(suite.dir, 'rootfs.tar'), 'peer/busybox:1']);
  assert.equal(imported.status, 0, imported.stderr);
  const id = imported.stdout.trim();
  assert.equal(wharf('a', ['save', '-o', join(suite.dir, 'w.tar'), 'peer/busybox:1']).status, 0);

  const loaded = suite.dockerd.docker(['load', '-i', join(suite.dir, 'w.tar')]);
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.equal(suite.dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', 'peer/busybox:1']).stdout.trim(), id);
  const ran = suite.dockerd.docker(['run', '--rm', '--network', 'none', 'peer/busybox:1', 'sh', '-c', 'echo ok from docker']);
  assert.equal(ran.stdout.trim(), 'ok from docker', ran.stderr);

  assert.equal(suite.dockerd.docker(['save', '-o', join(suite.dir, 'd.tar'), 'peer/busybox:1']).status, 0);
  const back = wharf('b', ['load', '-i', join(suite.dir, 'd.tar')]);
  assert.equal(back.status, 0, back.stderr);
  assert.match(back.stdout, /Loaded image: peer\/busybox:1/);
  const ids = JSON.parse(wharf('b', ['inspect', 'peer/busybox:1']).stdout) as { Id: string }[];
  assert.equal(ids[0]!.Id, id);
  assert.equal(wharf('b', ['fsck']).status, 0);
});

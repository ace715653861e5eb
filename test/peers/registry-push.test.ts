import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// What wharf pushes, docker 20.10 pulls and runs: the default (layers stored uncompressed, sent
// gzip, Docker schema2) and --format oci, with the digest docker reports equal to wharf's.
let dir: string;
let reg: TestRegistry;
let dockerd: PrivateDockerd;
let root: string;
const wharf = (args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-peer-push-'));
  root = join(dir, 'store');
  importBusyboxBase(dir, root);
  reg = await startRegistry();
  dockerd = await startDockerd();
});
after(async () => {
  await dockerd?.stop();
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

for (const format of ['docker', 'oci'] as const) {
  test(`docker pulls and runs what wharf push --format ${format} sent`, async () => {
    const ctx = await writeContext(dir, `ctx-${format}`, { Dockerfile: `FROM busybox:test\nRUN echo from-wharf-${format} > /msg\nCMD ["cat", "/msg"]\n` });
    const name = `${reg.host}/peer/app:${format}`;
    assert.equal(wharf(['build', '--progress', 'plain', '-t', name, ctx]).status, 0);
    const p = wharf(['push', '--format', format, name]);
    assert.equal(p.status, 0, p.stderr);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(p.stdout)![1];
    const pull = dockerd.docker(['pull', name]);
    assert.equal(pull.status, 0, pull.stderr);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    const run = dockerd.docker(['run', '--rm', '--network', 'none', name]);
    assert.equal(run.stdout, `from-wharf-${format}\n`, run.stderr);
    const [id] = JSON.parse(wharf(['inspect', name]).stdout) as { Id: string }[];
    assert.equal(dockerd.docker(['image', 'inspect', '-f', '{{.Id}}', name]).stdout.trim(), id!.Id, 'the same config, so the same image ID');
  });
}

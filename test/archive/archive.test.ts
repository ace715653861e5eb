import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile, chmod, lstat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { wharfBin } from '../helpers/paths.js';

// End-to-end through the real CLI and real clients: wharf import → save → skopeo / umoci, and
// archives written by skopeo → wharf load. skopeo and umoci come from ensure-host-packages.sh.
let dir: string;
const root = () => join(dir, 'store');

function wharf(args: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [wharfBin, '--root', root(), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A tiny rootfs with a file, a directory, a symlink, an executable and a non-root owner. */
async function makeRootfs(at: string): Promise<void> {
  await mkdir(join(at, 'etc'), { recursive: true });
  await mkdir(join(at, 'srv', 'data'), { recursive: true });
  await writeFile(join(at, 'etc', 'hostname'), 'wharf\n');
  await writeFile(join(at, 'srv', 'data', 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(at, 'srv', 'data', 'run.sh'), 0o755);
  await symlink('data/run.sh', join(at, 'srv', 'run'));
  execFileSync('chown', ['1234:4321', join(at, 'srv', 'data')]);
}

async function listing(at: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(at, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(at, p));
    const kind = st.isSymbolicLink() ? `link:${await readlink(join(at, p))}` : st.isDirectory() ? 'dir' : `file:${(await readFile(join(at, p))).toString('base64')}`;
    out.push(`${p} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${kind}`);
    if (st.isDirectory()) out.push(...(await listing(at, p)));
  }
  return out;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-archive-'));
  await makeRootfs(join(dir, 'rootfs'));
  execFileSync('tar', ['-C', join(dir, 'rootfs'), '--numeric-owner', '-czf', join(dir, 'rootfs.tar.gz'), '.']);
});
after(() => rm(dir, { recursive: true, force: true }));

test('wharf import makes a one-layer image that umoci unpacks to the same tree', async () => {
  const r = wharf(['import', join(dir, 'rootfs.tar.gz'), 'base:1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const bundle = join(dir, 'bundle');
  execFileSync('umoci', ['unpack', '--image', `${root()}:base:1`, bundle], { stdio: 'pipe' });
  assert.deepEqual(await listing(join(bundle, 'rootfs')), await listing(join(dir, 'rootfs')));
  const hist = wharf(['history', 'base:1']);
  assert.match(hist.stdout, /Imported from rootfs\.tar\.gz/);
});

test('import with SOURCE_DATE_EPOCH gives the same image ID every time', () => {
  const a = wharf(['import', join(dir, 'rootfs.tar.gz'), 'repro:a'], { SOURCE_DATE_EPOCH: '1700000000' });
  const b = wharf(['import', join(dir, 'rootfs.tar.gz'), 'repro:b'], { SOURCE_DATE_EPOCH: '1700000000' });
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
});

test('wharf save writes an archive skopeo reads as oci-archive and as docker-archive', () => {
  const out = join(dir, 'saved.tar');
  const r = wharf(['save', '-o', out, 'base:1']);
  assert.equal(r.status, 0, r.stderr);
  const names = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).split('\n');
  for (const n of ['oci-layout', 'index.json', 'manifest.json', 'repositories']) assert.ok(names.includes(n), `${n} in archive`);
  const oci = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${out}`], { encoding: 'utf8' })) as { Layers: string[] };
  const docker = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${out}`], { encoding: 'utf8' })) as { Layers: string[] };
  assert.equal(oci.Layers.length, 1);
  assert.equal(docker.Layers.length, 1);
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', out, 'manifest.json'], { encoding: 'utf8' })) as { RepoTags: string[] }[];
  assert.deepEqual(manifest.map((m) => m.RepoTags), [['base:1']]);
  execFileSync('skopeo', ['copy', '-q', `oci-archive:${out}`, `oci:${join(dir, 'copied')}:base:1`]);
});

test('wharf load reads its own archive, skopeo docker archives and skopeo OCI layouts', () => {
  const other = join(dir, 'store2');
  const load = (args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', other, 'load', ...args], { encoding: 'utf8' });
  const images = () => spawnSync(process.execPath, [wharfBin, '--root', other, 'images', '--format', 'json'], { encoding: 'utf8' }).stdout;
  const id = JSON.parse(wharf(['images', '--format', 'json']).stdout.split('\n').find((l) => l.includes('"base"'))!).ID as string;

  assert.equal(load(['-i', join(dir, 'saved.tar')]).status, 0);
  execFileSync('skopeo', ['copy', '-q', `oci-archive:${join(dir, 'saved.tar')}`, `docker-archive:${join(dir, 'd.tar')}:ns/from-docker:2`]);
  const fromDocker = load(['-i', join(dir, 'd.tar')]);
  assert.equal(fromDocker.status, 0, fromDocker.stderr);
  assert.match(fromDocker.stdout, /Loaded image: ns\/from-docker:2/);
  const fromLayout = load(['-i', join(dir, 'copied')]);
  assert.equal(fromLayout.status, 0, fromLayout.stderr);

  const rows = images().trim().split('\n').map((l) => JSON.parse(l) as { Repository: string; Tag: string; ID: string });
  assert.deepEqual(rows.map((r) => `${r.Repository}:${r.Tag}`).sort(), ['base:1', 'ns/from-docker:2']);
  // The same config bytes come back, so the image ID survives every round trip.
  for (const r of rows) assert.equal(r.ID, id);
  const fsck = spawnSync(process.execPath, [wharfBin, '--root', other, 'fsck'], { encoding: 'utf8' });
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
});

test('wharf load refuses an archive that tries to escape, and writes nothing outside', async () => {
  const evil = join(dir, 'evil');
  await mkdir(evil);
  const sentinel = join(dir, 'outside.txt');
  execFileSync('python3', ['-c', `
import tarfile, io
t = tarfile.open(${JSON.stringify(join(evil, 'evil.tar'))}, 'w')
i = tarfile.TarInfo('../outside.txt'); data = b'pwned'; i.size = len(data)
t.addfile(i, io.BytesIO(data)); t.close()
`]);
  const r = wharf(['load', '-i', join(evil, 'evil.tar')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: .*\.\.\/outside\.txt/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  await assert.rejects(readFile(sentinel));
});

test('bad input to import, save and load gets a clear error and exit code', () => {
  const missing = wharf(['import', join(dir, 'nope.tar'), 'x:1']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.tar: no such file/);
  // Without -o the archive goes to stdout (a pipe here; test/cli/pipes checks a terminal is refused).
  const noOut = wharf(['save', 'base:1']);
  assert.equal(noOut.status, 0);
  assert.match(noOut.stdout, /manifest\.json/);
  const badName = wharf(['import', join(dir, 'rootfs.tar.gz'), 'Bad Name']);
  assert.equal(badName.status, 1);
  const unknown = wharf(['save', '-o', join(dir, 'x.tar'), 'missing:1']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /image missing:1 not found/);
});

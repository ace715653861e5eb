import { test, before, after } from 'node:test';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { wharfBin } from '../helpers/paths.js';
import { openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';
import { encodeHeader } from '../../src/layer/index.js';

// `wharf build` input and output: context `-`, ADD <url>, unnamed archives, reproducible IDs.
let dir: string;
let root: string;
let server: Server;
let base: string;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Async, so the in-process HTTP server can answer while the build runs. */
function wharf(args: string[], opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wharfBin, '--root', root, ...args], { env: { ...process.env, SOURCE_DATE_EPOCH: '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Builds with --iidfile; returns the image ID (or the failed run). */
async function build(args: string[], opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<Run & { id?: string }> {
  const iid = join(dir, `iid-${Math.random().toString(36).slice(2)}`);
  const r = await wharf(['build', '--progress', 'plain', '--iidfile', iid, ...args], opts);
  return r.status === 0 ? { ...r, id: await readFile(iid, 'utf8') } : r;
}

const context = (name: string, files: Record<string, string>) => writeContext(dir, name, files);

const storeTmp = async () => (await readdir(join(root, 'tmp')).catch(() => [] as string[])).filter((n) => n.includes('stdin-context'));

// What the test server serves: path → [status, body, headers].
const routes = new Map<string, { status: number; body: Buffer | string; headers?: Record<string, string> }>();
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-buildio-'));
  root = join(dir, 'store');
  importBusyboxBase(dir, root);
  server = createServer((req, res) => {
    const route = routes.get(req.url ?? '');
    if (!route) {
      res.writeHead(404).end('nope');
      return;
    }
    res.writeHead(route.status, route.headers ?? {}).end(route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('context -: a tar on stdin (plain, gzip, bzip2, xz, zstd) is the context, -f picks a file inside it', async () => {
  const ctx = await context('tarctx', {
    Dockerfile: 'FROM busybox:test\nCOPY . /ctx/\n',
    'alt/Dockerfile.alt': 'FROM busybox:test\nCOPY a.txt /alt-a\n',
    'a.txt': 'A\n',
    'sub/b.txt': 'B\n',
  });
  execFileSync('ln', ['-s', '/etc/shadow', join(ctx, 'evil')]);
  execFileSync('tar', ['-C', ctx, '-cf', join(dir, 'ctx.tar'), '.']);
  const plain = await readFile(join(dir, 'ctx.tar'));
  const statCaches = async () => (await readdir(join(root, 'context')).catch(() => [] as string[])).length;
  const cachesBefore = await statCaches();
  let firstId: string | undefined;
  for (const [tool, args] of [['cat', []], ['gzip', ['-c']], ['bzip2', ['-c']], ['xz', ['-c']], ['zstd', ['-q', '-c']]] as const) {
    const input = tool === 'cat' ? plain : execFileSync(tool, [...args], { input: plain });
    const out = join(dir, `tarctx-${tool}`);
    const r = await build(['-o', `type=local,dest=${out}`, '-'], { input });
    assert.equal(r.status, 0, `${tool}: ${r.stderr}`);
    assert.equal(await readFile(join(out, 'ctx', 'sub', 'b.txt'), 'utf8'), 'B\n');
    assert.equal(await readlink(join(out, 'ctx', 'evil')), '/etc/shadow', 'a symlink in the context stays a symlink');
    // Same content whatever the compression, and the temp dir is new each time: all cached.
    firstId ??= r.id;
    assert.equal(r.id, firstId, tool);
  }
  assert.deepEqual(await storeTmp(), [], 'the unpacked context is removed');
  // Untagged: nothing names the project, so no kept dir and no stat cache (hashed whole each time).
  assert.ok((await statCaches()) <= cachesBefore + 1, 'no stat cache per build of a streamed context');
  assert.deepEqual((await readdir(join(root, 'context', 'streams')).catch(() => [] as string[])).filter((n) => !n.endsWith('.lock')), []);

  const alt = await build(['-f', 'alt/Dockerfile.alt', '-o', `type=local,dest=${join(dir, 'alt-out')}`, '-'], { input: plain });
  assert.equal(alt.status, 0, alt.stderr);
  assert.equal(await readFile(join(dir, 'alt-out', 'alt-a'), 'utf8'), 'A\n');
  const missing = await build(['-f', 'nope', '-'], { input: plain });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read nope in the context read from stdin/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(await storeTmp(), []);
});

test('context -: an escaping tar is refused and leaves nothing; a bare Dockerfile builds with an empty context', async () => {
  const evil = join(dir, 'evil-src');
  await mkdir(evil);
  await writeFile(join(evil, 'Dockerfile'), 'FROM busybox:test\n');
  // GNU tar keeps `..` with -P; the applier must refuse it.
  execFileSync('tar', ['-C', evil, '-P', '-cf', join(dir, 'evil.tar'), 'Dockerfile', '--transform', 's,^Dockerfile,../../escaped,']);
  const r = await build(['-'], { input: await readFile(join(dir, 'evil.tar')) });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refusing layer entry "\.\.\/\.\.\/escaped"/);
  assert.deepEqual(await storeTmp(), []);
  assert.equal(await lstat(join(root, 'escaped')).catch(() => undefined), undefined);

  const bare = await build(['-t', 'bare:1', '-'], { input: 'FROM busybox:test\nENV FROM_STDIN=1\n' });
  assert.equal(bare.status, 0, bare.stderr);
  const img = await loadImage(await openStore(root), 'bare:1');
  assert.ok(img.config.config?.Env?.includes('FROM_STDIN=1'));
  const needsFile = await build(['-'], { input: 'FROM busybox:test\nCOPY x /x\n' });
  assert.equal(needsFile.status, 1);
  assert.match(needsFile.stderr, /"x" not found in the build context/);
  const twice = await build(['-f', '-', '-'], { input: 'FROM busybox:test\n' });
  assert.equal(twice.status, 1);
  assert.match(twice.stderr, /cannot both come from stdin/);
  assert.deepEqual(await storeTmp(), []);
});

test('context -: Ctrl-C while the tar streams in removes the temp dir', async () => {
  const streams = async () => (await readdir(join(root, 'context', 'streams')).catch(() => [] as string[])).filter((n) => !n.endsWith('.lock'));
  const dirsBefore = (await streams()).length;
  const child = spawn(process.execPath, [wharfBin, '--root', root, 'build', '--progress', 'plain', '-t', 'ctrlc:1', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // The start of a tar whose one file is far longer than what is sent.
  child.stdin.write(encodeHeader({ path: 'big', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 100 << 20, mtime: 0 }));
  child.stdin.write(Buffer.alloc(64 * 1024));
  // Wait until the context's dir exists (kept per tags in context/streams), then interrupt with stdin still open.
  for (let i = 0; i < 100 && (await streams()).length === dirsBefore; i++) await new Promise((r) => setTimeout(r, 50));
  if ((await streams()).length !== dirsBefore + 1) child.kill('SIGKILL');
  assert.equal((await streams()).length, dirsBefore + 1, 'the stdin context is being unpacked');
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.kill('SIGINT');
  const status = await closed;
  assert.equal(status, 130);
  assert.match(stderr, /build interrupted/);
  assert.deepEqual(await storeTmp(), []);
  assert.equal((await streams()).length, dirsBefore, 'the half-unpacked dir is gone');
  assert.equal((await readdir(join(root, 'context', 'streams'))).filter((n) => n.endsWith('.lock')).length, 0, 'and its lock');

  // `-f -` waiting on stdin: Ctrl-C still ends the build.
  const ctx = await context('ctrlc', { 'a.txt': 'a' });
  const waiting = spawn(process.execPath, [wharfBin, '--root', root, 'build', '-f', '-', ctx], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err2 = '';
  waiting.stderr.on('data', (c: Buffer) => (err2 += c.toString()));
  const closed2 = new Promise<number | null>((resolve) => waiting.on('close', resolve));
  await new Promise((r) => setTimeout(r, 1000));
  waiting.kill('SIGINT');
  assert.equal(await closed2, 130, 'as a shell reports a process SIGINT stopped');
  assert.match(err2, /build interrupted/);
});

test('ADD <url>: mode 0600, Last-Modified mtime, not extracted, dest rules, redirects, checksum and cache by content', async () => {
  const archive = execFileSync('gzip', ['-c'], { input: execFileSync('tar', ['-C', join(dir, 'rootfs'), '-cf', '-', 'etc/passwd']) });
  routes.set('/files/hello.txt', { status: 200, body: 'hello v1\n', headers: { 'last-modified': LAST_MODIFIED } });
  routes.set('/files/pkg.tar.gz', { status: 200, body: archive });
  routes.set('/go', { status: 302, body: '', headers: { location: '/files/hello.txt' } });
  const sum = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const df = (checksum: string) => `FROM busybox:test
ADD ${checksum} ${base}/files/hello.txt /dl/
ADD ${base}/files/pkg.tar.gz /dl/
ADD ${base}/go /renamed.txt
ADD --chmod=644 ${base}/files/hello.txt /dl/mode644/
`;
  const ctx = await context('addurl', { Dockerfile: df(`--checksum=${sum('hello v1\n')}`) });
  const out = join(dir, 'addurl-out');
  const first = await build(['-t', 'addurl:1', '-o', `type=local,dest=${out}`, ctx]);
  assert.equal(first.status, 0, first.stderr);
  const hello = await stat(join(out, 'dl', 'hello.txt'));
  assert.equal(await readFile(join(out, 'dl', 'hello.txt'), 'utf8'), 'hello v1\n');
  assert.equal(hello.mode & 0o7777, 0o600);
  assert.equal(hello.mtime.getTime(), Date.parse(LAST_MODIFIED));
  assert.deepEqual(await readFile(join(out, 'dl', 'pkg.tar.gz')), archive, 'a fetched archive is not extracted');
  assert.equal(await readFile(join(out, 'renamed.txt'), 'utf8'), 'hello v1\n', 'a redirect is followed; dest without / is the file');
  assert.equal((await stat(join(out, 'dl', 'mode644', 'hello.txt'))).mode & 0o7777, 0o644);

  const again = await build(['-t', 'addurl:1', ctx]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.id, first.id, 'unchanged remote content hits the cache');

  routes.set('/files/hello.txt', { status: 200, body: 'hello v2\n', headers: { 'last-modified': LAST_MODIFIED } });
  // --checksum is the key: the step hits without fetching, so only a run sees the mismatch.
  const mismatch = await build(['--no-cache', ctx]);
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stderr, new RegExp(`${base}/files/hello.txt: checksum mismatch: expected ${sum('hello v1\n')}, got ${sum('hello v2\n')}`));
  assert.doesNotMatch(mismatch.stderr, /\n\s+at /);

  await writeFile(join(ctx, 'Dockerfile'), df(''));
  const changed = await build(['-t', 'addurl:2', '-o', `type=local,dest=${join(dir, 'addurl-out2')}`, ctx]);
  assert.equal(changed.status, 0, changed.stderr);
  assert.notEqual(changed.id, first.id, 'changed remote content misses');
  assert.equal(await readFile(join(dir, 'addurl-out2', 'dl', 'hello.txt'), 'utf8'), 'hello v2\n');
});

test('ADD --checksum <url>: a cached step needs no fetch (the server may be gone)', async () => {
  routes.set('/pinned.txt', { status: 200, body: 'pinned\n' });
  const digest = `sha256:${createHash('sha256').update('pinned\n').digest('hex')}`;
  const ctx = await context('pinned', { Dockerfile: `FROM busybox:test\nADD --checksum=${digest} ${base}/pinned.txt /p\n` });
  const first = await build([ctx]);
  assert.equal(first.status, 0, first.stderr);
  routes.delete('/pinned.txt');
  const again = await build([ctx]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.id, first.id);
  const rerun = await build(['--no-cache', ctx]);
  assert.equal(rerun.status, 1);
  assert.match(rerun.stderr, new RegExp(`${base}/pinned.txt: HTTP 404`));
});

test('ADD <url> errors: HTTP 404, connection refused, --checksum on a local source', async () => {
  const ctx = await context('addurl-err', { Dockerfile: `FROM busybox:test\nADD ${base}/missing.txt /x\n`, 'local.txt': 'l' });
  const notFound = await build([ctx]);
  assert.equal(notFound.status, 1);
  assert.match(notFound.stderr, new RegExp(`${base}/missing.txt: HTTP 404`));
  assert.doesNotMatch(notFound.stderr, /\n\s+at /);

  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  await writeFile(join(ctx, 'Dockerfile'), `FROM busybox:test\nADD http://127.0.0.1:${port}/f /x\n`);
  const refused = await build([ctx]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, new RegExp(`http://127.0.0.1:${port}/f: .*ECONNREFUSED`));
  assert.doesNotMatch(refused.stderr, /\n\s+at /);

  await writeFile(join(ctx, 'Dockerfile'), `FROM busybox:test\nADD --checksum=sha256:${'0'.repeat(64)} local.txt /x\n`);
  const local = await build([ctx]);
  assert.equal(local.status, 1);
  assert.match(local.stderr, /checksum can't be specified for non-HTTP\(S\) sources/);
});

test('--output type=oci|docker without -t writes an unnamed archive that skopeo and wharf load read', async () => {
  const ctx = await context('unnamed', { Dockerfile: 'FROM busybox:test\nCOPY f /f\n', f: 'unnamed\n' });
  const archive = join(dir, 'unnamed.tar');
  const r = await build(['-o', `type=oci,dest=${archive}`, ctx]);
  assert.equal(r.status, 0, r.stderr);
  const index = JSON.parse(execFileSync('tar', ['-xOf', archive, 'index.json'], { encoding: 'utf8' })) as { manifests: { annotations?: Record<string, string> }[] };
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0]!.annotations, undefined, 'no name annotation');
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' })) as { RepoTags: unknown }[];
  assert.equal(manifest[0]!.RepoTags, null);
  const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci-archive:${archive}`], { encoding: 'utf8' })) as { config: { rootfs?: unknown }; rootfs: { diff_ids: string[] } };
  assert.ok(inspected.rootfs.diff_ids.length >= 2);
  const other = join(dir, 'unnamed-store');
  const loaded = spawnSync(process.execPath, [wharfBin, '--root', other, 'load', '-t', 'loaded:1', '-i', archive], { encoding: 'utf8' });
  assert.equal(loaded.status, 0, loaded.stderr);
  const img = await loadImage(await openStore(other), 'loaded:1');
  assert.equal(img.id, r.id);
  const docker = join(dir, 'unnamed-docker.tar');
  assert.equal((await build(['-o', `type=docker,dest=${docker}`, ctx])).status, 0);
  execFileSync('skopeo', ['inspect', `docker-archive:${docker}`], { encoding: 'utf8' });
});

test('reproducible IDs: a cached rebuild keeps the ID; SOURCE_DATE_EPOCH pins times so --no-cache rebuilds match', async () => {
  const ctx = await context('repro', {
    Dockerfile: 'FROM busybox:test\nENV A=1\nWORKDIR /app\nCOPY f ./\nRUN echo built > /app/out\nLABEL x=y\nCMD ["cat", "/app/out"]\n',
    f: 'repro\n',
  });
  await utimes(join(ctx, 'f'), 1_600_000_000, 1_600_000_000);
  const first = await build(['-t', 'repro:1', ctx]);
  assert.equal(first.status, 0, first.stderr);
  const second = await build(['-t', 'repro:1', ctx]);
  assert.equal(second.id, first.id, 'every step cached: same image ID');
  const store = await openStore(root);
  const img = await loadImage(store, 'repro:1');
  const hist = img.config.history!;
  assert.ok(hist.every((h) => h.created !== undefined), 'every history entry has a time');
  assert.equal(img.config.created, hist.at(-1)!.created, 'created is the latest step time');
  const fresh = await build(['--no-cache', ctx]);
  assert.notEqual(fresh.id, first.id, 'a build that runs its steps gets fresh times');

  const epoch = 1_700_000_000;
  const a = await build(['--no-cache', '-t', 'repro:sde', ctx], { env: { SOURCE_DATE_EPOCH: String(epoch) } });
  assert.equal(a.status, 0, a.stderr);
  const b = await build(['--no-cache', ctx], { env: { SOURCE_DATE_EPOCH: String(epoch) } });
  assert.equal(b.id, a.id, 'SOURCE_DATE_EPOCH: --no-cache rebuilds give the same ID');
  const c = await build(['--no-cache', '--build-arg', `SOURCE_DATE_EPOCH=${epoch}`, ctx]);
  assert.equal(c.id, a.id, 'the build arg works like the environment variable');
  const sde = await loadImage(store, 'repro:sde');
  assert.equal(sde.config.created, '2023-11-14T22:13:20Z');
  for (const h of sde.config.history!) assert.ok(Date.parse(h.created!) <= epoch * 1000, `${h.created_by} at ${h.created}`);
  const bad = await build([ctx], { env: { SOURCE_DATE_EPOCH: 'yesterday' } });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /SOURCE_DATE_EPOCH=yesterday is not a number of seconds/);
});

test('context -: two untagged projects whose Dockerfiles have the same size and mtime each build their own', async () => {
  const ids: string[] = [];
  for (const word of ['one', 'two']) {
    const src = join(dir, `same-stamp-${word}`);
    await mkdir(src);
    await writeFile(join(src, 'Dockerfile'), `FROM busybox:test\nENV WORD=${word}\n`);
    await utimes(join(src, 'Dockerfile'), 1_700_000_000, 1_700_000_000);
    execFileSync('tar', ['-C', src, '-cf', join(dir, `same-stamp-${word}.tar`), '.']);
    const out = join(dir, `same-stamp-${word}-out.tar`);
    const r = await build(['-o', `type=oci,dest=${out}`, '-'], { input: await readFile(join(dir, `same-stamp-${word}.tar`)) });
    assert.equal(r.status, 0, r.stderr);
    ids.push(r.id!);
  }
  assert.notEqual(ids[0], ids[1], 'the second build used its own Dockerfile, not the first one\'s');
});

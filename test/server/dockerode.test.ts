// The same flows as docker-cli.test.ts, through dockerode (what testcontainers and many Node tools
// use): build, list, inspect, history, tag, push, remove, pull, save/load, run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import Docker from 'dockerode';
import { wharfBuildEnv, type WharfBuildEnv } from '../helpers/wharf-build.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startServe, type ServeChild } from './helpers.js';

const suite = {} as { dir: string; env: WharfBuildEnv };
let server: ServeChild;
let registry: TestRegistry;
let docker: Docker;

before(async () => {
  suite.dir = await mkdtemp(join(tmpdir(), 'wharf-dockerode-'));
  suite.env = wharfBuildEnv(suite.dir);
  suite.env.importBusybox();
  server = await startServe(suite.dir, suite.env.root);
  registry = await startRegistry();
  docker = new Docker({ socketPath: server.socket, version: 'v1.41' });
});
after(async () => {
  assert.equal(await server?.stop(), 0);
  await registry?.stop();
  if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
});

/** Runs a streamed operation to its end; rejects with the stream's error message. */
function follow(stream: NodeJS.ReadableStream): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, out: Record<string, unknown>[]) => (err ? reject(err) : resolve(out))));
}

test('dockerode: ping, version, build with buildargs and target, list, inspect, history, tag', async () => {
  assert.equal(String(await docker.ping()), 'OK');
  assert.equal((await docker.version()).ApiVersion, '1.41');
  const ctx = await suite.env.context('dode', { Dockerfile: 'FROM busybox:test AS a\nARG N=0\nRUN echo n=$N > /n\nFROM a AS b\nRUN echo b > /b\n', 'f.txt': 'x' });
  const tar = execFileSync('tar', ['-C', ctx, '-c', '.']);
  const out = await follow(await docker.buildImage(Readable.from([tar]), { t: 'dode:1', buildargs: { N: '7' }, target: 'a' }));
  const aux = out.find((m) => m.aux) as { aux: { ID: string } } | undefined;
  assert.match(aux!.aux.ID, /^sha256:[0-9a-f]{64}$/);
  assert.ok(out.some((m) => /Successfully tagged dode:1/.test(String(m.stream))));
  const list = await docker.listImages();
  const mine = list.find((i) => i.RepoTags?.includes('dode:1'));
  assert.equal(mine?.Id, aux!.aux.ID);
  const info = await docker.getImage('dode:1').inspect();
  assert.equal(info.Id, aux!.aux.ID);
  const hist = await docker.getImage('dode:1').history();
  assert.ok((hist as { CreatedBy: string }[]).some((h) => h.CreatedBy.includes('echo n=$N')));
  await docker.getImage('dode:1').tag({ repo: 'dode', tag: '2' });
  assert.equal((await docker.getImage('dode:2').inspect()).Id, aux!.aux.ID);
  assert.equal(suite.env.wharf(['run', '--rm', 'dode:2', 'cat', '/n']).stdout, 'n=7\n');
  // A failed build ends its stream with the error, as dockerd's does.
  const bad = await suite.env.context('dode-bad', { Dockerfile: 'FROM busybox:test\nRUN exit 4\n' });
  const failed = await follow(await docker.buildImage(Readable.from([execFileSync('tar', ['-C', bad, '-c', '.'])]), { t: 'bad:1' }));
  const last = failed[failed.length - 1] as { error?: string; errorDetail?: { message: string } };
  // Said at its Dockerfile line, with the caret, as the CLI says it.
  assert.match(last.error ?? '', /Dockerfile:2:1: error: process .* exited with code 4\n 2 \| RUN exit 4/);
  assert.equal(last.errorDetail?.message, last.error);
  assert.ok(!failed.some((m) => m.aux), 'no image ID');
});

test('dockerode: push, remove, pull, save and load', async () => {
  const name = `${registry.host}/dode/img`;
  await docker.getImage('dode:1').tag({ repo: name, tag: '1' });
  const pushed = await follow(await docker.getImage(`${name}:1`).push({ authconfig: { username: 'u', password: 'p', serveraddress: registry.host } }));
  const aux = pushed.find((m) => m.aux) as { aux: { Digest: string } } | undefined;
  assert.match(aux!.aux.Digest, /^sha256:/);
  const removed = (await docker.getImage(`${name}:1`).remove()) as { Untagged?: string }[];
  assert.deepEqual(removed[0], { Untagged: `${name}:1` });
  await assert.rejects(docker.getImage(`${name}:1`).inspect(), /404|not found/i);
  await follow(await docker.pull(`${name}:1`));
  assert.equal((await docker.getImage(`${name}:1`).inspect()).Id, (await docker.getImage('dode:1').inspect()).Id);

  const saved = await docker.getImage('dode:2').get();
  const chunks: Buffer[] = [];
  for await (const c of saved as AsyncIterable<Buffer>) chunks.push(c);
  await docker.getImage('dode:2').remove();
  const loaded = await docker.loadImage(Readable.from([Buffer.concat(chunks)]));
  const text = await new Promise<string>((resolve) => {
    let s = '';
    loaded.on('data', (c: Buffer) => (s += c.toString()));
    loaded.on('end', () => resolve(s));
  });
  assert.match(text, /Loaded image: dode:2/);
});

test('dockerode: run a one-shot container and read its output and exit code', async () => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [result] = (await docker.run('dode:1', ['sh', '-c', 'cat /n; echo oops >&2; exit 2'], [stdout, stderr], { Tty: false, HostConfig: { AutoRemove: true } })) as [{ StatusCode: number }];
  assert.equal(result.StatusCode, 2);
  assert.equal(out, 'n=7\n');
  assert.equal(err, 'oops\n');
});

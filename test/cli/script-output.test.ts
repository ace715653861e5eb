import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { wharfBin } from '../helpers/paths.js';
import { openStore } from '../../src/store/index.js';
import { sha256Hex } from '../../src/hash/index.js';
import { writeTinyImage } from '../helpers/tiny-image.js';
import type { CommittedImage } from '../../src/image/index.js';
import { compileTemplate } from '../../src/cli/go-template.js';

// Output for scripts: --format Go templates, images -q and --filter, docker's CreatedAt.
let dir: string;
let root: string;
let app: CommittedImage;
let other: CommittedImage;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-script-'));
  root = join(dir, 'root');
  const store = await openStore(root);
  app = await writeTinyImage(store, 'app:1', { epoch: 1_700_000_000, label: 'one' });
  await store.setTag({ domain: 'docker.io', path: 'library/app', tag: 'latest' }, app.manifestDescriptor);
  other = await writeTinyImage(store, 'tools/lint:2', { epoch: 1_700_000_100, label: 'two' });
});
after(() => rm(dir, { recursive: true, force: true }));

function wharf(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the template subset: fields (nested), json, index, join, pipes, \\t', () => {
  const data = { Id: 'sha256:1', RepoTags: ['a:1', 'b:2'], Config: { Env: ['A=1'], Labels: { 'x.y': 'z' } }, Size: 12 };
  assert.equal(compileTemplate('{{.Id}}')(data), 'sha256:1');
  assert.equal(compileTemplate('{{.Config.Env}}')(data), '[A=1]');
  assert.equal(compileTemplate('{{json .Config.Env}}')(data), '["A=1"]');
  assert.equal(compileTemplate('{{.Config.Labels | json}}')(data), '{"x.y":"z"}');
  assert.equal(compileTemplate('{{index .Config.Labels "x.y"}}')(data), 'z');
  assert.equal(compileTemplate('{{index .RepoTags 1}}')(data), 'b:2');
  assert.equal(compileTemplate('{{join .RepoTags ", "}}')(data), 'a:1, b:2');
  assert.equal(compileTemplate('{{.Size}}\\t{{ .Id }}')(data), '12\tsha256:1');
  assert.equal(compileTemplate('{{.Config.Labels}}')(data), 'map[x.y:z]');
});

test('constructs outside the subset are errors naming them', () => {
  assert.throws(() => compileTemplate('{{range .RepoTags}}{{.}}{{end}}'), /"range" is not supported/);
  assert.throws(() => compileTemplate('{{if .Id}}y{{end}}'), /"if" is not supported/);
  assert.throws(() => compileTemplate('{{printf "%s" .Id}}'), /"printf" is not supported/);
  assert.throws(() => compileTemplate('{{$x := .Id}}'), /variables \(\$x\) are not supported/);
  assert.throws(() => compileTemplate('{{.Id'), /unclosed action/);
  assert.throws(() => compileTemplate('{{.Nope}}')({ Id: 'x' }), /no field \.Nope \(fields here: Id\)/);
});

test('inspect --format, images -q and --format, history --format', () => {
  const id = wharf('inspect', '--format', '{{.Id}}', 'app:1');
  assert.equal(id.code, 0, id.err);
  assert.equal(id.out, `${app.id}\n`);
  const tags = wharf('inspect', '--format', '{{join .RepoTags ","}} {{index .Config.Labels "test"}}', 'app:1');
  assert.equal(tags.code, 0, tags.err);
  assert.match(tags.out, /^app:1,app:latest /);
  const bad = wharf('inspect', '--format', '{{range .RepoTags}}{{end}}', 'app:1');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /error: --format .*"range" is not supported/);
  assert.doesNotMatch(bad.err, /\n\s+at /);

  const q = wharf('images', '-q');
  assert.equal(q.out, [other, app, app].map((i) => sha256Hex(i.id).slice(0, 12) + '\n').join(''));
  const names = wharf('images', '--format', '{{.Repository}}:{{.Tag}}');
  assert.equal(names.out, 'tools/lint:2\napp:1\napp:latest\n');
  const created = wharf('images', '--format', '{{.CreatedAt}}', '--filter', 'reference=tools/*');
  assert.equal(created.out, '2023-11-14 22:15:00 +0000 UTC\n');

  const h = wharf('history', '--format', '{{.ID}}|{{.Size}}', 'app:1');
  assert.equal(h.code, 0, h.err);
  assert.match(h.out.split('\n')[0]!, new RegExp(`^${sha256Hex(app.id).slice(0, 12)}\\|\\d`));
});

test('images --filter reference= (glob on repo and repo:tag) and dangling=', () => {
  const byTag = wharf('images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=app:l*');
  assert.equal(byTag.out, 'app:latest\n');
  const byRepo = wharf('images', '-q', '--filter', 'reference=app');
  assert.equal(byRepo.out.trim().split('\n').length, 2);
  const either = wharf('images', '--format', '{{.Repository}}', '-f', 'reference=app:1', '-f', 'reference=tools/lint');
  assert.equal(either.out, 'tools/lint\napp\n');
  assert.equal(wharf('images', '-q', '--filter', 'dangling=true').out, '');
  assert.equal(wharf('images', '-q', '--filter', 'dangling=false').out.trim().split('\n').length, 3);
  const unknown = wharf('images', '--filter', 'label=x');
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /--filter label=x: .*\nhint: use reference=PATTERN/);
});

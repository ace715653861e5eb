import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// `wharf push` progress against a real docker-registry: json events per layer (waiting, bytes sent
// of the total, outcome), and docker push's bars redrawn in place on a tty (through script(1)).
let dir: string;
let reg: TestRegistry;
let root: string;
const wharf = (args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });

interface Ev { type: string; state?: string; digest?: string; bytes?: number; total?: number; from?: string }

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-push-progress-'));
  reg = await startRegistry();
  root = join(dir, 'store');
  const ctx = await writeContext(dir, 'ctx', { Dockerfile: 'FROM scratch\nCOPY big /big\nCOPY small /small\n', small: 'small\n' });
  // Random bytes: its gzip copy is as large as the layer, so several progress events are sent.
  await writeFile(join(ctx, 'big'), randomBytes(3 << 20));
  assert.equal(wharf(['build', '-q', '-t', 'app:1', ctx]).status, 0);
  // Other bytes for the tty test, so its layers are uploaded, not mounted from team/app.
  await writeFile(join(ctx, 'big'), randomBytes(3 << 20));
  await writeFile(join(ctx, 'small'), 'other\n');
  assert.equal(wharf(['build', '-q', '-t', 'app:2', ctx]).status, 0);
});
after(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('push --progress json: each layer waits, reports bytes sent of its total as it streams, then says how it got there', () => {
  const name = `${reg.host}/team/app:1`;
  assert.equal(wharf(['tag', 'app:1', name]).status, 0);
  const r = wharf(['push', '--progress', 'json', name]);
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Ev);
  const layers = [...new Set(events.filter((e) => e.type === 'push').map((e) => e.digest))];
  assert.equal(layers.length, 2);
  for (const d of layers) {
    const mine = events.filter((e) => e.digest === d);
    assert.equal(mine[0]!.state, 'waiting');
    assert.ok(mine[0]!.total! > 0);
    assert.equal(mine.at(-1)!.state, 'pushed');
    const sent = mine.filter((e) => e.state === 'uploading');
    assert.ok(sent.length >= 1, JSON.stringify(mine));
    // Compressed as it is sent (a stored layer is uncompressed): bytes of the stored layer, once
    // each; a second upload from the stored compressed copy would report that copy's size.
    for (const e of sent) assert.equal(e.total, mine[0]!.total);
    assert.deepEqual(sent.map((e) => e.bytes), [...sent.map((e) => e.bytes!)].sort((a, b) => a - b));
    assert.equal(sent.at(-1)!.bytes, mine[0]!.total);
  }
  const big = events.filter((e) => e.state === 'uploading' && e.total! > 3 << 20);
  assert.ok(big.length >= 3, `a 3 MiB layer reports each MiB: ${JSON.stringify(big)}`);
  const last = events.at(-1)!;
  assert.equal(last.type, 'pushed');
  const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { Digest: string };
  assert.equal(last.digest, inspected.Digest);
});

test('push on a tty: docker push bars redrawn in place, then the digest line; a second push says the layers exist', () => {
  const name = `${reg.host}/team/tty:1`;
  assert.equal(wharf(['tag', 'app:2', name]).status, 0);
  const cmd = (n: string) => `${process.execPath} ${wharfBin} --root ${root} push ${n}`;
  const first = spawnSync('script', ['-qfec', cmd(name), '/dev/null'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '120' } });
  assert.equal(first.status, 0, first.stdout + first.stderr);
  const out = first.stdout.replace(/\r/g, '');
  assert.match(out, /^The push refers to repository \[127\.0\.0\.1:\d+\/team\/tty\]\n/);
  assert.match(out, /\x1b\[2K[0-9a-f]{12}: Waiting\n/);
  assert.match(out, /\x1b\[2K[0-9a-f]{12}: Pushing \[=*>? *\] [\d.]+[kM]?B\/[\d.]+MB\n/);
  // The last frame moves up over both lines and leaves them final.
  assert.match(out, /\x1b\[2A\x1b\[2K[0-9a-f]{12}: Pushed\n\x1b\[2K[0-9a-f]{12}: Pushed\n1: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
  const again = spawnSync('script', ['-qfec', cmd(name), '/dev/null'], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stdout);
  assert.match(again.stdout.replace(/\r/g, ''), /\x1b\[2A\x1b\[2K[0-9a-f]{12}: Layer already exists\n\x1b\[2K[0-9a-f]{12}: Layer already exists\n1: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
});

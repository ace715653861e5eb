/**
 * What the native addon does so a command starts and ends without Node's costlier paths (util/crypto.ts,
 * hash/sha256.ts, bin/wharf.js, cli/main.ts): its digests and random names agree with node:crypto's,
 * with and without the addon; a mapped file is the file's bytes, stays so when the file is replaced,
 * and is refused where it must be; exitNow ends the process with its code after the 'exit' handlers
 * (only once saveStdio noted fds 0-2, which it puts back as Node's own exit would).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomHex, setNativeAddon, sha256HexOf, type NativeAddon } from '../../src/util/index.js';
import { Sha256Stream, sha256Of } from '../../src/hash/index.js';
import { addonPath } from '../helpers/native-addon.js';

const addon = createRequire(addonPath)(addonPath) as NativeAddon;
const nodeSha = (d: string | Uint8Array) => createHash('sha256').update(d).digest('hex');

const inputs: (string | Uint8Array)[] = [
  '',
  'abc',
  'h\u00e9llo \u{1F600} \u0000 end',
  // A lone surrogate: both sides write it as U+FFFD.
  'x\uD800y',
  Buffer.from('a buffer'),
  new Uint8Array([0, 1, 2, 255]),
  // A view into the middle of a larger buffer: its offset must be honoured.
  Buffer.from('0123456789').subarray(3, 7),
  new Uint8Array(Array.from('0123456789', (c) => c.charCodeAt(0))).subarray(2, 5),
  Buffer.alloc(300_000, 7),
];

test('sha256Hex and sha256UpdateSync give node:crypto\'s digests', () => {
  for (const d of inputs) assert.equal(addon.sha256Hex!(d), nodeSha(d), `one-shot of ${String(d).slice(0, 20)}`);
  const h = addon.sha256Create!();
  for (const d of inputs) addon.sha256UpdateSync!(h, d);
  const all = createHash('sha256');
  for (const d of inputs) all.update(d);
  assert.equal(addon.sha256Digest(h), all.digest('hex'));
  assert.throws(() => addon.sha256UpdateSync!(h, 'more'), /after the digest/);
  assert.throws(() => addon.sha256Hex!(42 as never), (e: NodeJS.ErrnoException) => e.code === 'EINVAL');
});

test('the hash and util helpers give the same answers with the addon and without it', () => {
  const answers = () => ({
    one: inputs.map((d) => sha256HexOf(d)),
    typed: inputs.map((d) => sha256Of(d)),
    stream: (() => {
      const s = new Sha256Stream();
      for (const d of inputs) s.update(typeof d === 'string' ? Buffer.from(d) : d);
      return [s.digest(), s.size];
    })(),
    random: randomHex(6),
  });
  try {
    setNativeAddon(undefined);
    const without = answers();
    setNativeAddon(() => addon);
    const withAddon = answers();
    assert.deepEqual(withAddon.one, without.one);
    assert.deepEqual(withAddon.one, inputs.map(nodeSha));
    assert.deepEqual(withAddon.typed, without.typed);
    assert.deepEqual(withAddon.stream, without.stream);
    for (const r of [withAddon.random, without.random]) assert.match(r, /^[0-9a-f]{12}$/);
  } finally {
    setNativeAddon(undefined);
  }
});

test('randomHex gives that many bytes as hex, different each time, and refuses sizes out of range', () => {
  const seen = new Set(Array.from({ length: 50 }, () => addon.randomHex!(8)));
  assert.equal(seen.size, 50);
  for (const s of seen) assert.match(s, /^[0-9a-f]{16}$/);
  assert.match(addon.randomHex!(64), /^[0-9a-f]{128}$/);
  for (const bad of [0, 65, -1]) assert.throws(() => addon.randomHex!(bad), (e: NodeJS.ErrnoException) => e.code === 'EINVAL');
});

test('mapFile: the file\'s bytes as a string or a Buffer, kept when the file is replaced; refused where it must be', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-map-'));
  try {
    const file = join(dir, 'f.js');
    const text = `(function () { return ${JSON.stringify('x'.repeat(5000))}; })\n`;
    writeFileSync(file, text);
    const s = addon.mapFile!(file, true);
    const b = addon.mapFile!(file, false);
    assert.equal(s, text);
    assert.ok(Buffer.isBuffer(b) && b.equals(Buffer.from(text)));
    // Replaced by a rename (as scripts/bundle.mjs and the code cache writer do): the mapping keeps the old file.
    writeFileSync(`${file}.new`, 'other');
    renameSync(`${file}.new`, file);
    assert.equal(s, text);
    assert.ok((b as Buffer).equals(Buffer.from(text)));
    assert.equal(readFileSync(file, 'utf8'), 'other');
    // Not a regular file with bytes: null. Missing, or a symlink as the last component: an errno error.
    writeFileSync(join(dir, 'empty'), '');
    mkdirSync(join(dir, 'sub'));
    assert.equal(addon.mapFile!(join(dir, 'empty'), true), null);
    assert.equal(addon.mapFile!(join(dir, 'sub'), false), null);
    assert.throws(() => addon.mapFile!(join(dir, 'missing'), true), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    symlinkSync(file, join(dir, 'link'));
    assert.throws(() => addon.mapFile!(join(dir, 'link'), true), (e: NodeJS.ErrnoException) => e.code === 'ELOOP');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exitNow ends the process with the code after the exit handlers registered before it, and only after saveStdio', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-exit-'));
  try {
    const marker = join(dir, 'handler-ran');
    const script = (save: boolean) =>
      [
        `const a = require(${JSON.stringify(addonPath)});`,
        save ? 'a.saveStdio();' : '',
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'yes'));`,
        "process.once('exit', (c) => { if (!a.exitNow(c)) process.stdout.write('exitNow refused;'); });",
        "process.on('exit', () => process.stdout.write('after'));",
        'process.exit(3);',
      ].join('\n');
    const r = spawnSync(process.execPath, ['-e', script(true)], { encoding: 'utf8' });
    assert.equal(r.status, 3, r.stderr);
    assert.equal(readFileSync(marker, 'utf8'), 'yes');
    assert.equal(r.stdout, '', 'a handler after it does not run: the process ended there');
    rmSync(marker);
    const unsaved = spawnSync(process.execPath, ['-e', script(false)], { encoding: 'utf8' });
    assert.equal(unsaved.status, 3, unsaved.stderr);
    assert.equal(unsaved.stdout, 'exitNow refused;after', 'without saveStdio it does nothing, and Node exits as always');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exitNow puts back the O_NONBLOCK flag a stream of Node set on a stdio descriptor shared with the parent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-exit-'));
  const fds: number[] = [];
  try {
    // A FIFO opened read-write here and given to a child as its stdin: one open file description,
    // whose flags this process reads in /proc/self/fdinfo. Node's stream on it (process.stdin) makes it non-blocking.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const nonBlocking = (fd: number) => (Number.parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8) & constants.O_NONBLOCK) !== 0;
    const child = (code: string) => {
      const fd = openSync(fifo, 'r+');
      fds.push(fd);
      assert.equal(nonBlocking(fd), false);
      const r = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addonPath)});\na.saveStdio();\nprocess.stdin.pause();\n${code}`], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
      return { r, nonBlocking: nonBlocking(fd) };
    };
    // What the check sees when nothing puts the flag back (killed: no teardown at all).
    const killed = child("process.kill(process.pid, 'SIGKILL');");
    assert.equal(killed.r.signal, 'SIGKILL');
    assert.equal(killed.nonBlocking, true, 'the stream set the flag on the shared description');
    const ended = child("process.once('exit', (c) => a.exitNow(c));\nprocess.exit(4);");
    assert.equal(ended.r.status, 4, ended.r.stderr);
    assert.equal(ended.nonBlocking, false, 'exitNow put it back before its _exit');
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer, pullRenderer, type PullProgress } from '../../src/progress/index.js';

const L1 = 'sha256:' + '1'.repeat(64);
const L2 = 'sha256:' + '2'.repeat(64);
const ev = (state: PullProgress['state'], digest: string, bytes = 0, total = 0): PullProgress => ({ type: 'pull', image: 'reg:5000/app:1', state, digest, bytes, total, at: 0 });
const EVENTS: PullProgress[] = [
  ev('resolved', 'sha256:' + 'f'.repeat(64)),
  ev('waiting', L1, 0, 2_000_000),
  ev('waiting', L2, 0, 500),
  ev('exists', L2, 500, 500),
  ev('downloading', L1, 1_000_000, 2_000_000),
  ev('verified', L1, 2_000_000, 2_000_000),
];

function out(make: (w: { write: (s: string) => void; columns: number }) => { sink: (e: PullProgress) => void; close: () => void }): string {
  let text = '';
  const r = make({ write: (s) => (text += s), columns: 120 });
  for (const e of EVENTS) r.sink(e);
  r.close();
  return text;
}

test('wharf pull on a tty: one line per layer, redrawn in place with a bar while downloading', () => {
  const text = out((w) => pullRenderer('tty', w));
  assert.ok(text.includes(`\x1b[2K111111111111: Downloading [${'='.repeat(24)}>${' '.repeat(25)}] 1MB/2MB\n\x1b[2K222222222222: Already exists\n`), JSON.stringify(text));
  // The last frame: both lines final, drawn after moving the cursor up over the previous two.
  assert.ok(text.endsWith('\x1b[2A\x1b[2K111111111111: Pull complete\n\x1b[2K222222222222: Already exists\n'), JSON.stringify(text));
});

test('wharf pull in a log: a line per finished layer, no bars', () => {
  assert.equal(out((w) => pullRenderer('plain', w)), '222222222222: Already exists\n111111111111: Pull complete\n');
});

test('a build shows pulls: plain #pull lines, json events, tty live bars that end as one line', () => {
  const build = (mode: 'plain' | 'json' | 'tty') => out((w) => createRenderer(mode, w));
  assert.equal(
    build('plain'),
    [`#pull reg:5000/app:1 resolved sha256:${'f'.repeat(64)}`, '#pull reg:5000/app:1 222222222222 already exists', '#pull reg:5000/app:1 111111111111 pull complete 2MB', ''].join('\n'),
  );
  const json = build('json').trim().split('\n').map((l) => JSON.parse(l) as PullProgress);
  assert.deepEqual(json, EVENTS);
  const tty = build('tty');
  assert.match(tty, /=> pull reg:5000\/app:1 111111111111 \[=+>? *\] 1MB\/2MB\n/);
  assert.match(tty, /=> pull reg:5000\/app:1 111111111111 done 2MB\n$/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer, pushRenderer, type BuildEvent, type PushProgress } from '../../src/progress/index.js';

const L1 = 'sha256:' + '1'.repeat(64);
const L2 = 'sha256:' + '2'.repeat(64);
const L3 = 'sha256:' + '3'.repeat(64);
const ev = (state: PushProgress['state'], digest: string, bytes = 0, total = 0, from?: string): PushProgress => ({ type: 'push', image: 'reg:5000/app:1', state, digest, bytes, total, ...(from ? { from } : {}), at: 0 });
const EVENTS: PushProgress[] = [
  ev('waiting', L1, 0, 2_000_000),
  ev('waiting', L2, 0, 500),
  ev('waiting', L3, 0, 700),
  ev('exists', L2),
  ev('uploading', L1, 1_000_000, 2_000_000),
  ev('mounted', L3, 0, 0, 'team/base'),
  ev('pushed', L1),
];

function out(mode: 'tty' | 'plain', columns = 120): string {
  let text = '';
  const r = pushRenderer(mode, { write: (s) => (text += s), columns });
  for (const e of EVENTS) r.sink(e);
  r.close();
  return text;
}

test('wharf push on a tty: one line per layer, redrawn in place, with a bar and bytes/total while pushing', () => {
  const text = out('tty');
  assert.ok(text.includes(`\x1b[2K111111111111: Pushing [${'='.repeat(24)}>${' '.repeat(25)}] 1MB/2MB\n\x1b[2K222222222222: Layer already exists\n\x1b[2K333333333333: Waiting\n`), JSON.stringify(text));
  // The last frame: every line final, drawn after moving the cursor up over the previous three.
  assert.ok(text.endsWith('\x1b[3A\x1b[2K111111111111: Pushed\n\x1b[2K222222222222: Layer already exists\n\x1b[2K333333333333: Mounted from team/base\n'), JSON.stringify(text));
});

test('wharf push on a narrow tty: lines are cut to the width and the bar is left out', () => {
  const text = out('tty', 40);
  assert.ok(text.includes('\x1b[2K111111111111: Pushing 1MB/2MB\n'), JSON.stringify(text));
  for (const l of text.split('\n')) assert.ok(l.replace(/\x1b\[\d*[AK]/g, '').length <= 39, JSON.stringify(l));
});

test('wharf push in a log: a line per finished layer, as docker push prints them, no bars', () => {
  assert.equal(out('plain'), '222222222222: Layer already exists\n333333333333: Mounted from team/base\n111111111111: Pushed\n');
});

test('a build\'s push in the build output (plain): the lines `wharf build --push` prints, settled layers only', () => {
  let text = '';
  const r = createRenderer('plain', { write: (s) => (text += s) });
  const digest = 'sha256:' + 'd'.repeat(64);
  const events: BuildEvent[] = [
    { type: 'push-started', name: 'reg:5000/app:1', at: 1 },
    ...EVENTS,
    { type: 'pushed', name: 'reg:5000/app:1', digest, size: 527, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' },
    { type: 'push-not-stored', names: ['reg:5000/app:1'], at: 2 },
  ];
  for (const e of events) r.sink(e);
  r.close();
  assert.equal(
    text,
    'The push refers to repository [reg:5000/app]\n222222222222: Layer already exists\n333333333333: Mounted from team/base\n111111111111: Pushed\n' +
      `1: digest: ${digest} size: 527\npushed reg:5000/app:1@${digest}\n` +
      'not stored here: layers of reg:5000/app:1 hit the cache and stay in the registry; `wharf pull` fetches it\n',
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scratchImage, settleTimes, type HistoryEntry, type ImageDraft } from '../../src/image/index.js';

const draft = (history: HistoryEntry[]): ImageDraft => {
  const d = scratchImage({ architecture: 'amd64', os: 'linux' });
  return { ...d, config: { ...d.config, history } };
};
const times = (d: ImageDraft) => d.config.history!.map((h) => h.created);

test('metadata steps take the first new layer time before it and the previous layer time after it (BuildKit)', () => {
  const s = settleTimes(
    draft([
      { created: '2020-01-01T00:00:00Z', created_by: 'base layer' },
      { created_by: 'ENV A=1', empty_layer: true },
      { created: '2026-01-01T00:00:01Z', created_by: 'COPY' },
      { created_by: 'CMD', empty_layer: true },
      { created: '2026-01-01T00:00:02Z', created_by: 'RUN' },
      { created_by: 'LABEL', empty_layer: true },
    ]),
  );
  assert.deepEqual(times(s.draft), ['2020-01-01T00:00:00Z', '2026-01-01T00:00:01Z', '2026-01-01T00:00:01Z', '2026-01-01T00:00:01Z', '2026-01-01T00:00:02Z', '2026-01-01T00:00:02Z']);
  assert.equal(s.created, '2026-01-01T00:00:02Z');
});

test('SOURCE_DATE_EPOCH clamps later times and is the image time; earlier base times stay', () => {
  const s = settleTimes(draft([{ created: '2020-01-01T00:00:00Z' }, { created: '2026-01-01T00:00:01Z' }, { created_by: 'ENV', empty_layer: true }]), 1_700_000_000);
  assert.deepEqual(times(s.draft), ['2020-01-01T00:00:00Z', '2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z']);
  assert.equal(s.created, '2023-11-14T22:13:20Z');
});

test('no time anywhere gives a fixed time, not now', () => {
  assert.equal(settleTimes(draft([{ created_by: 'ENV', empty_layer: true }])).created, '1970-01-01T00:00:00Z');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

// `wharf bench` advice (issue 19): each run's --explain advice, and --check-reproducible, which
// runs every step twice more with the same keys and compares the layers.
const suite = busyboxStoreForFile('wharf-bench-advice-');

interface Report {
  advice: { rule: string; lines: number[]; text: string; step?: number; files?: string[] }[];
}

function bench(args: string[]): { report: Report; stdout: string; stderr: string } {
  const r = suite.env.wharf(['bench', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return { report: args.includes('--json') ? (JSON.parse(r.stdout) as Report) : { advice: [] }, stdout: r.stdout, stderr: r.stderr };
}

test('--check-reproducible names the first step whose layer differs between two runs with the same key', async () => {
  const ctx = await suite.env.context('random', {
    Dockerfile: 'FROM busybox:test\nRUN echo same > /same\nRUN cat /proc/sys/kernel/random/uuid > /id\nRUN echo after > /after\n',
  });
  const { report, stderr } = bench(['--json', '--runs', '1', '--check-reproducible', ctx]);
  assert.match(stderr, /reproducibility check 2\/2 \(not counted\)/);
  assert.equal(report.advice.length, 1, JSON.stringify(report.advice));
  const [a] = report.advice;
  assert.equal(a!.rule, 'non-reproducible');
  assert.deepEqual(a!.lines, [3]);
  assert.equal(a!.step, 3);
  assert.match(a!.text, /^#3 RUN cat \/proc\/sys\/kernel\/random\/uuid > \/id \(line 3\) made a different layer each time it ran with the same inputs \([0-9a-f]{12} vs [0-9a-f]{12}\); make it write the same bytes/);

  const text = bench(['--runs', '1', '--check-reproducible', ctx]).stdout;
  assert.match(text, /\nadvice: line 3: #3 RUN cat /);
});

test('--check-reproducible gives no advice when every step writes the same bytes (file times differ, SOURCE_DATE_EPOCH clamps them)', async () => {
  const ctx = await suite.env.context('steady', {
    Dockerfile: 'FROM busybox:test\nCOPY a.txt /a.txt\nRUN echo same > /same && mkdir -p /d && touch /d/f\n',
    'a.txt': 'a\n',
  });
  const { report } = bench(['--json', '--runs', '1', '--check-reproducible', ctx]);
  assert.deepEqual(report.advice, []);
});

test('change mode: advice from each run, without .dockerignore advice about the files --change rewrites', async () => {
  const ctx = await suite.env.context('change', {
    Dockerfile: 'FROM busybox:test\nWORKDIR /app\nCOPY . .\nRUN echo install > /i\n',
    'go.mod': 'module x\n',
    'main.go': 'package main\n',
  });
  const { report } = bench(['--json', '--runs', '3', '--mode', 'change', '--change', 'main.go', ctx]);
  assert.deepEqual(
    report.advice.map((a) => [a.rule, a.lines, a.files]),
    [['broad-copy', [3, 4], ['main.go']]],
  );
  assert.match(report.advice[0]!.text, /copy the manifests first \(COPY go\.mod \.\/\)/);
});

/**
 * What a RUN step may use: `--ulimit` (rlimits), `--shm-size` (/dev/shm), `--memory` and
 * `--pids-limit` (cgroups), with a default pids limit so a fork bomb in a Dockerfile cannot take
 * every pid of the host. Bad values are refused naming the flag and the accepted form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { parseRunPolicy, parseSize } from '../../src/api/build-limits.js';

const suite = busyboxStoreForFile('wharf-limits-');

/** Builds `run` as the one RUN of a fresh image and returns what it wrote to /out. */
async function runWith(name: string, run: string, flags: string[]): Promise<string> {
  const ctx = await suite.env.context(name, { Dockerfile: `FROM busybox:test\nRUN ${run}\n` });
  // --no-cache: limits are resources, not inputs, so they are not part of the step's cache key.
  const r = suite.env.wharf(['build', '--progress', 'plain', '--no-cache', '-t', `${name}:t`, ...flags, ctx]);
  assert.equal(r.status, 0, r.stderr);
  return suite.env.wharf(['run', '--rm', `${name}:t`, 'cat', '/out']).stdout.trim();
}

test('--ulimit sets the soft and hard limits inside RUN (the last one per name wins)', async () => {
  const out = await runWith('ulimit', '(ulimit -Sn; ulimit -Hn; ulimit -Sc) > /out', [
    '--ulimit', 'nofile=100:200', '--ulimit', 'nofile=1024:2048', '--ulimit', 'core=-1',
  ]);
  assert.deepEqual(out.split('\n'), ['1024', '2048', 'unlimited']);
});

test('--shm-size sizes /dev/shm, and the default is 64 MiB as in Docker', async () => {
  assert.equal(await runWith('shm', "df -k /dev/shm | awk 'NR==2 {print $2}' > /out", ['--shm-size', '3m']), '3072');
  assert.equal(await runWith('shm-default', "df -k /dev/shm | awk 'NR==2 {print $2}' > /out", []), '65536');
});

test('--memory sets the cgroup memory limit of the step', async () => {
  const out = await runWith('memory', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null > /out; true', ['--memory', '96m']);
  assert.equal(out, String(96 * 1024 * 1024));
});

test('the pids limit stops a fork beyond it; the default is 4096 and -1 lifts it', async () => {
  // A shell gives up at the first fork it cannot make: the subshell ends with 2 and says why. The
  // rest uses builtins only: the sleeps still hold the pids.
  const bomb = `mkdir -p /tmp; (for i in $(seq 1 40); do sleep 2 & done) 2>/tmp/err; echo "rc=$?" > /out; \\
    while read -r l; do case "$l" in *fork*) echo "$l" >> /out;; esac; done < /tmp/err; true`;
  const limited = (await runWith('pids', bomb, ['--pids-limit', '10'])).split('\n');
  assert.equal(limited[0], 'rc=2', limited.join('\n'));
  assert.match(limited[1] ?? '', /can't fork: Resource temporarily unavailable/);
  assert.deepEqual((await runWith('pids-ok', bomb, ['--pids-limit', '100'])).split('\n'), ['rc=0']);

  const pidsMax = 'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null > /out; true';
  assert.equal(await runWith('pids-default', pidsMax, []), '4096');
  assert.equal(await runWith('pids-none', pidsMax, ['--pids-limit', '-1']), 'max');
});

test('--runtime runc and --runtime crun enforce the same limits and the same read-only cgroup view', async () => {
  const probe = 'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes > /out; touch /sys/fs/cgroup/x 2>> /out; ' +
    '(mkdir -p /tmp; for i in $(seq 1 12); do sleep 2 & done) 2>&1 | grep -c fork >> /out; true';
  const outs: string[] = [];
  for (const runtime of ['runc', 'crun']) {
    const out = await runWith(`rt-${runtime}`, probe, ['--runtime', runtime, '--pids-limit', '8', '--memory', '80m']);
    outs.push(out);
    const lines = out.split('\n');
    assert.deepEqual(lines.slice(0, 2), ['8', String(80 * 1024 * 1024)], `${runtime}: ${out}`);
    assert.match(lines[2] ?? '', /Read-only file system/, `${runtime}: ${out}`);
    assert.ok(Number(lines[3]) >= 1, `${runtime}: the pids limit stopped a fork: ${out}`);
  }
  assert.equal(outs[0]!.split('\n').slice(0, 3).join('\n'), outs[1]!.split('\n').slice(0, 3).join('\n'));
});

test('bad values name the flag and the accepted form', async () => {
  const ctx = await suite.env.context('bad', { Dockerfile: 'FROM busybox:test\n' });
  const cases: [string[], RegExp][] = [
    [['--ulimit', 'nofile'], /^error: --ulimit nofile: write --ulimit NAME=SOFT\[:HARD\], e\.g\. --ulimit nofile=1024:2048/],
    [['--ulimit', 'nofiles=1'], /^error: --ulimit nofiles=1: unknown limit nofiles; use one of core, cpu/],
    [['--ulimit', 'nofile=10:5'], /^error: --ulimit nofile=10:5: the soft limit 10 is above the hard limit 5/],
    [['--shm-size', 'big'], /^error: --shm-size big: give a size such as 64m/],
    [['--memory', '1k'], /^error: --memory 1k: give a size of at least 6m/],
    [['--pids-limit', 'lots'], /^error: --pids-limit lots: give a number of processes, or -1/],
    [['--runtime', 'kata'], /^error: --runtime kata: use one of auto, wharf, crun, runc/],
  ];
  for (const [flags, want] of cases) {
    const r = suite.env.wharf(['build', ...flags, ctx]);
    assert.equal(r.status, 2, flags.join(' '));
    assert.match(r.stderr, want);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('sizes read as Docker reads them (units of 1024)', () => {
  assert.equal(parseSize('512'), 512);
  assert.equal(parseSize('64k'), 65536);
  assert.equal(parseSize('64m'), 64 * 1024 * 1024);
  assert.equal(parseSize('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  assert.equal(parseSize('64mb'), 64 * 1024 * 1024);
  assert.equal(parseSize('-1'), undefined);
  assert.equal(parseSize('1x'), undefined);
  const p = parseRunPolicy({ allow: [], ulimit: ['nproc=-1'], network: 'none', pidsLimit: '0' });
  assert.ok(p.ok);
  assert.deepEqual(p.value.limits, { ulimits: [{ name: 'nproc', soft: -1, hard: -1 }] });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { build } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { remoteHostForFile } from '../helpers/remote-host.js';

// The spare `default` networks of a build (src/runtime/network-pool.ts): every RUN still gets a
// namespace of its own with outbound access, and the spares end with the build, whichever way it
// ends; a build with no RUN on the default network makes none.
const suite = busyboxStoreForFile('wharf-build-netpool-');
const remote = remoteHostForFile({ 'pkg.txt': 'package index\n' });

/** This process's children that a RUN's network (or its container) is made of. */
function networkChildren(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === process.pid && ['slirp4netns', 'unshare', 'sh', 'cat', 'runc', 'crun'].includes(comm)) found.push(`${pid} ${comm}`);
  }
  return found;
}

/** Descriptors of this process that hold a network namespace. */
function netnsDescriptors(): string[] {
  const fds: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('net:[')) fds.push(fd);
    } catch {
      // the directory's own descriptor, closed by now
    }
  }
  return fds;
}

/**
 * A build kills its spare and does not wait for it to exit (slirp4netns takes ~20 ms, network.ts):
 * within moments nothing is left. A spare left running would stay (and fail this) for good.
 */
async function assertNothingLeft(netnsBefore: string[], what: string): Promise<void> {
  for (let i = 0; i < 150 && (networkChildren().length || netnsDescriptors().length !== netnsBefore.length); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(networkChildren(), [], `${what}: no slirp4netns, holder or runtime process is left`);
  assert.deepEqual(netnsDescriptors(), netnsBefore, `${what}: no network namespace descriptor is left`);
}

/** Writes the packets the loopback has received to `file`, then pings over it. */
const fresh = (file: string) => `grep lo: /proc/net/dev | awk '{print $3}' > ${file} && ping -c 1 127.0.0.1 > /dev/null`;

test('each RUN of a build has a network namespace of its own, with outbound access; nothing is left after the build', async () => {
  const ctx = await suite.env.context('distinct', {
    // Each RUN records its namespace's inode and the packets its loopback has seen (0 in a new
    // namespace), then leaves a trace there (a ping of itself). Inode numbers are reused once a
    // namespace is gone, so only RUNs whose namespaces coexist (each one and the next: a spare
    // is made while the RUN before runs) can be told apart by them; the loopback count tells
    // a namespace used before from a new one whatever its number.
    Dockerfile: `FROM busybox:test
RUN readlink /proc/self/ns/net > /ns1 && ${fresh('/lo1')}
RUN readlink /proc/self/ns/net > /ns2 && ${fresh('/lo2')} && wget -q -O /fetched2 ${remote.url}/pkg.txt
RUN readlink /proc/self/ns/net > /ns3 && ${fresh('/lo3')} && wget -q -O /fetched3 ${remote.url}/pkg.txt
`,
  });
  const before = netnsDescriptors();
  await build({ root: suite.env.root, context: ctx, tags: ['netpool:1'] });
  await assertNothingLeft(before, 'after the build');
  const out = suite.env.wharf(['run', '--rm', '--network', 'none', 'netpool:1', 'cat', '/ns1', '/ns2', '/ns3', '/lo1', '/lo2', '/lo3', '/fetched2', '/fetched3']);
  assert.equal(out.status, 0, out.stderr);
  const lines = out.stdout.split('\n');
  const [ns1, ns2, ns3] = lines.slice(0, 3);
  assert.ok([ns1, ns2, ns3].every((n) => /^net:\[\d+\]$/.test(n!)), out.stdout);
  assert.notEqual(ns1, ns2, 'the second RUN is not in the first one\'s namespace');
  assert.notEqual(ns2, ns3, 'the third RUN is not in the second one\'s namespace');
  assert.ok(![ns1, ns2, ns3].includes(readlinkSync('/proc/self/ns/net')), 'none is the host\'s');
  assert.deepEqual(lines.slice(3, 6), ['0', '0', '0'], 'each RUN\'s loopback is new: no namespace served an earlier RUN');
  assert.deepEqual(lines.slice(6), ['package index', 'package index', ''], 'RUNs on a spare network reach the remote host');
});

test('a failed build and an interrupted one leave no spare network behind', async () => {
  const failing = await suite.env.context('failing', { Dockerfile: 'FROM busybox:test\nRUN true\nRUN echo one > /x\nRUN exit 3\n' });
  const before = netnsDescriptors();
  await assert.rejects(build({ root: suite.env.root, context: failing }), /exit(ed with)? code 3/);
  await assertNothingLeft(before, 'after a failed build');

  const slow = await suite.env.context('interrupted', { Dockerfile: 'FROM busybox:test\nRUN true\nRUN echo go && sleep 30\n' });
  const ac = new AbortController();
  let spareSeen = false;
  const t = performance.now();
  await assert.rejects(build({ root: suite.env.root, context: slow }, {
    signal: ac.signal,
    onEvent: (e) => {
      if (e.type === 'step-log' && e.line === 'go') {
        // The second RUN runs on the spare the first one left, and a new spare is (being) made.
        spareSeen = networkChildren().some((c) => c.endsWith(' slirp4netns'));
        ac.abort();
      }
    },
  }));
  assert.ok(performance.now() - t < 20_000, 'the abort ended the build, not the sleep');
  assert.ok(spareSeen, 'slirp4netns ran while the step did');
  await assertNothingLeft(before, 'after an interrupted build');
});

test('the CLI starts slirp4netns once per RUN plus one spare (and no holder), and none for --network none or an all-cached build', async () => {
  // A slirp4netns first in PATH that logs each start and then is the real one.
  const bin = mkdtempSync(join(tmpdir(), 'wharf-netpool-bin-'));
  try {
    const log = join(bin, 'log');
    writeFileSync(log, '');
    // unshare too: with the native addon, no holder process makes the namespaces.
    for (const program of ['slirp4netns', 'unshare']) {
      const real = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).stdout.trim();
      writeFileSync(join(bin, program), `#!/bin/sh\necho ${program} >> ${log}\nexec ${real} "$@"\n`);
      chmodSync(join(bin, program), 0o755);
    }
    const env = { ...process.env, PATH: `${bin}:${process.env['PATH']}` };
    const wharf = (args: string[]) => {
      const r = spawnSync(process.execPath, [wharfBin, '--root', suite.env.root, ...args], { encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stderr);
      const started = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      assert.ok(!started.includes('unshare'), 'the addon makes the namespaces');
      return started.length;
    };
    const ctx = await suite.env.context('counted', { Dockerfile: 'FROM busybox:test\nRUN echo 1 > /a\nRUN echo 2 > /b\nRUN echo 3 > /c\n' });
    assert.equal(wharf(['build', '--progress', 'quiet', ctx]), 4, 'three RUNs on the default network: three, and one spare');
    assert.equal(wharf(['build', '--progress', 'quiet', ctx]), 4, 'all cached: none more');
    assert.equal(wharf(['build', '--progress', 'quiet', '--no-cache', '--network', 'none', ctx]), 4, '--network none: none more');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { remoteHostForFile } from '../helpers/remote-host.js';

// Containers get the network RUN steps have by default (docker's bridge): a namespace of their
// own with outbound NAT through slirp4netns, run by the container's watcher and ended with it.
const suite = busyboxStoreForFile('wharf-containers-net-');
const remote = remoteHostForFile({ 'hello.txt': 'hello from the remote host\n' });

const ok = (args: string[]): string => {
  const r = suite.env.wharf(args);
  assert.equal(r.status, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const inspect = (name: string) => (JSON.parse(ok(['container', 'inspect', name])) as { State: { Status: string; Pid?: number } }[])[0]!.State;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
/** slirp4netns processes whose parent is `ppid`. */
const slirpsOf = (ppid: number): number[] => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
  try {
    const m = /^\d+ \((.*)\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return m?.[1] === 'slirp4netns' && Number(m[2]) === ppid;
  } catch {
    return false;
  }
});
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(50)) if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
}

test('run (kept, --rm and --network bridge) reaches another host by default, as a RUN step does; --network none does not', () => {
  const wget = ['wget', '-q', '-O', '-', `${remote.url}/hello.txt`];
  assert.equal(ok(['run', '--name', 'fetch', 'busybox:test', ...wget]), 'hello from the remote host\n');
  assert.equal(inspect('fetch').Status, 'exited');
  assert.equal(ok(['run', '--rm', 'busybox:test', ...wget]), 'hello from the remote host\n');
  assert.equal(ok(['run', '--rm', '-i', '--network', 'bridge', 'busybox:test', ...wget]), 'hello from the remote host\n');
  // resolv.conf as a RUN step's: without the host's loopback nameservers.
  assert.doesNotMatch(ok(['run', '--rm', '-i', 'busybox:test', 'cat', '/etc/resolv.conf']), /nameserver 127\./);
  const none = suite.env.wharf(['run', '--rm', '-i', '--network', 'none', 'busybox:test', 'sh', '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "']);
  assert.equal(none.stdout, 'lo\n');
  const bad = suite.env.wharf(['run', '--network', 'overlay', 'busybox:test', 'true']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--network overlay is not supported\nhint: use --network bridge/);
  const crun = suite.env.wharf(['run', '--runtime', 'crun', '--name', 'c', 'busybox:test', 'true']);
  assert.equal(crun.status, 1);
  assert.match(crun.stderr, /--runtime crun is for throwaway runs only: kept containers run on runc/);
  ok(['rm', 'fetch']);
});

test("a detached container's slirp4netns ends when the container ends, and when its watcher is killed with -9", async () => {
  ok(['run', '-d', '--name', 'netd', 'busybox:test', 'sh', '-c', `wget -q -O - ${remote.url}/hello.txt; exec sleep 600`]);
  await until('the log', () => ok(['logs', 'netd']).includes('hello from the remote host'));
  const watcher = inspect('netd').Pid!;
  const slirp = slirpsOf(watcher);
  assert.equal(slirp.length, 1, 'one slirp4netns, a child of the watcher');
  ok(['stop', '-t', '1', 'netd']);
  await until('slirp4netns to end with the container', () => !alive(slirp[0]!));

  ok(['start', 'netd']);
  const watcher2 = inspect('netd').Pid!;
  await until('slirp4netns of the restarted container', () => slirpsOf(watcher2).length === 1);
  const slirp2 = slirpsOf(watcher2)[0]!;
  process.kill(watcher2, 'SIGKILL');
  await until('slirp4netns to end with its killed watcher', () => !alive(slirp2));
  ok(['rm', '-f', 'netd']);
  assert.equal(ok(['ps', '-aq']), '');
});

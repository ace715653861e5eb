/**
 * BuildKit's entitlements: a Dockerfile may not take the host network (`RUN --network=host`) or
 * leave the sandbox (`RUN --security=insecure`) unless the build is run with `--allow`. The refusal
 * points at the flag in the Dockerfile and names the --allow to add; `build --network host`
 * grants network.host itself, as buildx does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-entitlements-');

const HOST_NET = `FROM busybox:test
RUN echo one
RUN  --network=host ip link | grep -c ': ' > /links
`;
const INSECURE = `FROM busybox:test
RUN --security=insecure grep -E '^(CapEff|Seccomp):' /proc/self/status > /status
`;

test('RUN --network=host is refused without --allow network.host, at the flag, before any step runs', async () => {
  const ctx = await suite.env.context('net', { Dockerfile: HOST_NET });
  const r = suite.env.wharf(['build', '--progress', 'plain', ctx]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /Dockerfile:3:6: error: RUN --network=host needs the network\.host entitlement/);
  assert.match(r.stderr, /\n 3 \| RUN  --network=host ip link/);
  assert.match(r.stderr, /\n {3}\| {6}\^{14}\n/);
  assert.match(r.stderr, /hint: add --allow network\.host/);
  assert.doesNotMatch(r.stderr, /RUN echo one/, 'nothing ran');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('--allow network.host, or build --network host, lets it run on the host network', async () => {
  const ctx = await suite.env.context('net-ok', { Dockerfile: HOST_NET });
  for (const flags of [['--allow', 'network.host'], ['--network', 'host'], ['--allow', 'security.insecure,network.host']]) {
    const r = suite.env.wharf(['build', '--progress', 'plain', '-t', 'net:ok', ...flags, ctx]);
    assert.equal(r.status, 0, `${flags.join(' ')}: ${r.stderr}`);
  }
  // The host has more links than a fresh namespace's lone loopback.
  const links = Number(suite.env.wharf(['run', '--rm', 'net:ok', 'cat', '/links']).stdout.trim());
  assert.ok(links > 1, `links: ${links}`);
});

test('RUN --security=insecure needs --allow security.insecure and then runs unconfined', async () => {
  const ctx = await suite.env.context('insecure', { Dockerfile: INSECURE });
  const refused = suite.env.wharf(['build', '--progress', 'plain', ctx]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /Dockerfile:2:5: error: RUN --security=insecure needs the security\.insecure entitlement/);
  assert.match(refused.stderr, /hint: add --allow security\.insecure/);
  // --network host grants only network.host.
  assert.equal(suite.env.wharf(['build', '--progress', 'plain', '--network', 'host', ctx]).status, 1);

  const ok = suite.env.wharf(['build', '--progress', 'plain', '-t', 'insecure:ok', '--allow', 'security.insecure', ctx]);
  assert.equal(ok.status, 0, ok.stderr);
  const status = suite.env.wharf(['run', '--rm', 'insecure:ok', 'cat', '/status']).stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' '));
  const own = /^CapBnd:\s*(\S+)/m.exec(await import('node:fs').then((fs) => fs.readFileSync('/proc/self/status', 'utf8')))![1];
  assert.deepEqual(status, [`CapEff: ${own}`, 'Seccomp: 0']);
});

test('a step in a stage the target does not need is not checked (as BuildKit solves only what it builds)', async () => {
  const ctx = await suite.env.context('unused', { Dockerfile: `FROM busybox:test AS other\nRUN --network=host true\nFROM busybox:test\nRUN true\n` });
  const r = suite.env.wharf(['build', '--progress', 'plain', ctx]);
  assert.equal(r.status, 0, r.stderr);
});

test('an unknown --allow value is refused naming the accepted ones', async () => {
  const ctx = await suite.env.context('bad-allow', { Dockerfile: 'FROM busybox:test\n' });
  const r = suite.env.wharf(['build', '--allow', 'network.hots', ctx]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: --allow network\.hots: use network\.host or security\.insecure/);
});

test("a base image's ONBUILD RUN --network=host is refused too, naming the trigger", async () => {
  const base = await suite.env.context('onbuild-base', { Dockerfile: 'FROM busybox:test\nONBUILD RUN --network=host true\n' });
  assert.equal(suite.env.wharf(['build', '-t', 'onbuild:base', base]).status, 0);
  const child = await suite.env.context('onbuild-child', { Dockerfile: 'FROM onbuild:base\nRUN true\n' });
  const r = suite.env.wharf(['build', '--progress', 'plain', child]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^error: \[onbuild\] RUN --network=host true: RUN --network=host needs the network\.host entitlement/m);
  assert.equal(suite.env.wharf(['build', '--allow', 'network.host', child]).status, 0);
});

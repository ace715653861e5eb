import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { remoteHostForFile } from '../helpers/remote-host.js';

// `wharf build`'s network: RUN steps get their own network with outbound access by default (as
// docker's), `--network none|host` and `RUN --network=` change it, `--add-host` adds hosts lines.
// The "internet" is a server in a network namespace the test makes (helpers/remote-host.ts).
const suite = busyboxStoreForFile('wharf-build-network-');
const remote = remoteHostForFile({ 'pkg.txt': 'package index\n' });

const interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '";

test('by default a RUN reaches a server on another host; RUN --network=none has only loopback; --add-host is in /etc/hosts', async () => {
  const ctx = await suite.env.context('default-net', {
    Dockerfile: `FROM busybox:test
RUN wget -q -O /fetched ${remote.url}/pkg.txt && ${interfaces} > /if-default
RUN --network=none ${interfaces} > /if-none
RUN grep -w db /etc/hosts > /hosts
`,
  });
  const r = await suite.env.build(ctx, ['-t', 'net:1', '--add-host', 'db:10.1.2.3']);
  assert.equal(r.status, 0, r.stderr);
  const out = suite.env.wharf(['run', '--rm', 'net:1', 'cat', '/fetched', '/if-default', '/if-none', '/hosts']);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, 'package index\nlo tap0 lo 10.1.2.3\tdb\n');
});

test('--network none: the same RUN fails; bridge is default; a bad --network or --add-host is a usage error', async () => {
  const ctx = await suite.env.context('none-net', { Dockerfile: `FROM busybox:test\nRUN wget -q -O /fetched ${remote.url}/pkg.txt\n` });
  const none = await suite.env.build(ctx, ['--network', 'none', '--no-cache']);
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /exited with code 1\b/);
  const bridge = await suite.env.build(ctx, ['--network', 'bridge', '--no-cache']);
  assert.equal(bridge.status, 0, bridge.stderr);
  const bad = suite.env.wharf(['build', '--network', 'slirp', ctx]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--network slirp: use default .*, none .* or host/);
  const host = suite.env.wharf(['build', '--add-host', 'db', ctx]);
  assert.equal(host.status, 2);
  assert.match(host.stderr, /--add-host db: write --add-host NAME:IP/);
});

test('RUN --network=host needs --allow network.host', async () => {
  const ctx = await suite.env.context('host-net', { Dockerfile: 'FROM busybox:test\nRUN --network=host true\n' });
  const refused = await suite.env.build(ctx);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /network\.host/);
  const allowed = await suite.env.build(ctx, ['--allow', 'network.host']);
  assert.equal(allowed.status, 0, allowed.stderr);
});

// `build({ push: true })`: the library pushes every name the image is given, to a real
// docker-registry, and reports it as events (no output of its own); a build with nothing to push
// to fails before it starts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, isUserError, NOTHING_TO_PUSH, type BuildEvent, type RegistryClientOptions } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const suite = busyboxStoreForFile('wharf-api-build-push-');
let reg: TestRegistry | undefined;
after(async () => {
  await reg?.stop();
});
const skopeoDigest = (name: string) => (JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { Digest: string }).Digest;

test('build with push: true pushes each tag; push-started, push and pushed events arrive; the image is tagged here', async () => {
  reg = await startRegistry();
  const registry: RegistryClientOptions = { configDir: join(suite.dir, 'docker') };
  const ctx = await suite.env.context('p', { Dockerfile: 'FROM busybox:test\nRUN echo pushed-by-the-library > /msg\n' });
  const [a, b] = [`${reg.host}/lib/a:1`, `${reg.host}/lib/b:2`];
  const events: BuildEvent[] = [];
  const r = await build({ root: suite.env.root, context: ctx, tags: [a, b], push: true, registry }, { onEvent: (e) => events.push(e) });
  assert.equal(r.stored, true);
  const pushed = events.filter((e): e is Extract<BuildEvent, { type: 'pushed' }> => e.type === 'pushed');
  assert.deepEqual(pushed.map((e) => e.name), [a, b]);
  assert.equal(skopeoDigest(a), pushed[0]!.digest, 'the registry serves what the event says was pushed');
  assert.equal(skopeoDigest(b), pushed[1]!.digest);
  assert.match(pushed[0]!.mediaType, /manifest/);
  assert.ok(pushed[0]!.size > 0);
  assert.deepEqual(events.filter((e) => e.type === 'push-started').map((e) => (e as { name: string }).name), [a, b]);
  const layers = events.filter((e): e is Extract<BuildEvent, { type: 'push' }> => e.type === 'push');
  assert.ok(layers.some((e) => e.image === a && e.state === 'pushed'), 'the first name uploads its layers');
  assert.ok(layers.some((e) => e.image === b && (e.state === 'mounted' || e.state === 'exists')), 'the second reuses them');
  // Pushed after the build's summary, and before nothing else.
  assert.ok(events.findIndex((e) => e.type === 'build-done') < events.findIndex((e) => e.type === 'push-started'));
  assert.equal(suite.env.wharf(['inspect', a]).status, 0, 'tagged here too');
});

test('push: true without a tag is a UserError before the build starts; a failed push names the retry', async () => {
  const ctx = await suite.env.context('q', { Dockerfile: 'FROM busybox:test\nRUN echo never > /x\n' });
  const events: BuildEvent[] = [];
  await assert.rejects(build({ root: suite.env.root, context: ctx, push: { flag: '--push' } }, { onEvent: (e) => events.push(e) }), (e: unknown) => {
    assert.ok(isUserError(e) && e.code === NOTHING_TO_PUSH);
    assert.match(e.message, /^--push: nothing to push to: name the image with -t NAME/);
    return true;
  });
  assert.deepEqual(events, [], 'nothing ran');

  // Port 9 on loopback: nothing listens there.
  const name = '127.0.0.1:9/lib/nowhere:1';
  await assert.rejects(build({ root: suite.env.root, context: ctx, tags: [name], push: true, registry: { configDir: join(suite.dir, 'docker') } }), (e: unknown) => {
    assert.ok(isUserError(e), String(e));
    assert.match(e.message, /^pushing 127\.0\.0\.1:9\/lib\/nowhere:1: /);
    assert.match(e.hint ?? '', /is built and tagged 127\.0\.0\.1:9\/lib\/nowhere:1 here: `wharf push 127\.0\.0\.1:9\/lib\/nowhere:1` tries again/);
    return true;
  });
  // Nothing of the push goes on after it failed: no compressed copy still being written, no lease
  // made again after its release (both were left behind, and raced the test's clean-up).
  assert.deepEqual(readdirSync(join(suite.env.root, 'tmp')).filter((n) => /\.(blob|lease)\./.test(n)), []);
  assert.equal(suite.env.wharf(['inspect', name]).status, 0, 'kept and tagged here for a later push');
});

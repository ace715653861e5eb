// spawnPiped (src/util/piped-child.ts), through the addon's posix_spawn and through Node's spawn:
// the same pipes, the same exit report (code, signal, a program that cannot run), and through the
// addon the child is reaped (no zombie left for `wharf serve` to pile up).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { nativeAddon, setNativeAddon, spawnPiped, type ChildEnd, type NativeAddon, type PipedChild } from '../../src/util/index.js';

const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));
after(() => setNativeAddon(undefined));

const ended = (c: PipedChild) => new Promise<ChildEnd>((resolve) => c.onExit(resolve));
const output = (c: PipedChild) =>
  new Promise<string>((resolve) => {
    let s = '';
    c.stdout.on('data', (d: Buffer) => (s += d.toString()));
    c.stdout.on('end', () => resolve(s));
  });

for (const way of ['the addon', "Node's spawn"] as const) {
  describe(`spawnPiped through ${way}`, () => {
    const use = () => {
      setNativeAddon(way === 'the addon' ? () => createRequire(addonPath)(addonPath) as NativeAddon : undefined);
      assert.equal(typeof nativeAddon()?.spawnPiped, way === 'the addon' ? 'function' : 'undefined');
    };

    it('stdin and stdout are pipes; the exit code is reported', async () => {
      use();
      const c = spawnPiped('sh', ['-c', 'cat; exit 3'], '/');
      const out = output(c);
      c.stdin.write('hello\n');
      c.stdin.end();
      assert.equal(await out, 'hello\n');
      assert.deepEqual(await ended(c), { code: 3, signal: null });
    });

    it('runs in the directory given, with stderr on /dev/null (and through the addon no other descriptor)', async () => {
      use();
      const c = spawnPiped('sh', ['-c', 'pwd; readlink /proc/self/fd/2; ls /proc/self/fd'], '/tmp');
      c.stdin.end();
      const lines = (await output(c)).trim().split('\n');
      assert.deepEqual(lines.slice(0, 2), ['/tmp', '/dev/null']);
      // 0, 1, 2 and ls's own directory; Node's spawn passes on what the process left open.
      if (way === 'the addon') assert.deepEqual(lines.slice(2).sort(), ['0', '1', '2', '3']);
      else assert.deepEqual(lines.slice(2, 5), ['0', '1', '2']);
      assert.deepEqual(await ended(c), { code: 0, signal: null });
    });

    it('a child killed by a signal is reported with its name, and reaped', async () => {
      use();
      const c = spawnPiped('sh', ['-c', 'echo $$; exec sleep 100'], '/');
      c.stdout.once('data', (d: Buffer) => process.kill(Number(d.toString().trim()), 'SIGKILL'));
      const pid = Number((await output(c)).trim());
      assert.deepEqual(await ended(c), { code: null, signal: 'SIGKILL' });
      assert.equal(existsSync(`/proc/${pid}`), false, 'no zombie left');
    });

    it('a program that cannot run is reported as an error, after the caller set up its handlers', async () => {
      use();
      const c = spawnPiped('/nonexistent/program', [], '/');
      const how = await ended(c);
      assert.ok('error' in how && (how.error as NodeJS.ErrnoException).code === 'ENOENT', JSON.stringify(how));
    });

    it('the child ends with no mask of blocked signals', async () => {
      use();
      const c = spawnPiped('sh', ['-c', 'grep ^SigBlk /proc/self/status'], '/');
      c.stdin.end();
      assert.equal((await output(c)).trim(), 'SigBlk:\t0000000000000000');
      assert.deepEqual(await ended(c), { code: 0, signal: null });
    });
  });
}

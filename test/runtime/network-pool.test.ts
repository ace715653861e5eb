import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createNetworkPool } from '../../src/runtime/network-pool.js';
import type { NetworkNamespace } from '../../src/runtime/index.js';

// The pool of spare `default` networks (src/runtime/network-pool.ts): with fakes for what it
// promises about counts and ownership, with slirp4netns for what a killed wharf leaves.

function fakes(failAt = new Set<number>()) {
  const made: { path: string; closed: boolean }[] = [];
  const open = async (): Promise<NetworkNamespace> => {
    const n = made.length;
    const rec = { path: `ns${n}`, closed: false };
    made.push(rec);
    await new Promise((r) => setTimeout(r, 5));
    if (failAt.has(n)) throw new Error(`open ${n} failed`);
    return { path: rec.path, close: async () => void (rec.closed = true) };
  };
  return { made, open };
}

/** The pool starts its next spare on a later turn of the event loop. */
const turn = () => new Promise((r) => setImmediate(r));

test('each take gets a namespace no other take gets; one spare is kept; close closes only the spare', async () => {
  const { made, open } = fakes();
  const pool = createNetworkPool(open, 1);
  assert.equal(made.length, 0, 'nothing before the first take');
  const a = await pool.take();
  assert.equal(made.length, 1, 'the spare starts after the take has returned');
  await turn();
  assert.equal(made.length, 2, 'the first take opened its own and started a spare');
  const b = await pool.take();
  await turn();
  const c = await pool.take();
  await turn();
  assert.deepEqual([a.path, b.path, c.path], ['ns0', 'ns1', 'ns2'], 'the later takes got the spares, in order');
  assert.equal(made.length, 4, 'one spare at a time');
  await pool.close();
  assert.deepEqual(made.map((m) => m.closed), [false, false, false, true], 'the unused spare is closed, the taken ones are their RUNs\' to close');
  const d = await pool.take();
  assert.equal(d.path, 'ns4');
  assert.equal(made.length, 5, 'a take after close opens its own and prepares no spare');
});

test('parallel takes do not share a spare; a spare that failed to open is replaced by an open of its own; 0 spares opens only on take', async () => {
  const { made, open } = fakes(new Set([1]));
  const pool = createNetworkPool(open, 1);
  await pool.take();
  await turn();
  const [x, y] = await Promise.all([pool.take(), pool.take()]);
  assert.notEqual(x.path, y.path);
  assert.ok(![x.path, y.path].includes('ns1'), 'the failed spare is not handed out');
  await turn();
  await pool.close();
  assert.equal(made.filter((m) => m.closed).length, 1, 'the one spare left is closed');

  const none = fakes();
  const bare = createNetworkPool(none.open, 0);
  await bare.take();
  await turn();
  await bare.take();
  await turn();
  assert.equal(none.made.length, 2);
  await bare.close();
});

/** Live (not zombie) processes among `pids`. */
function alive(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  });
}

test('a wharf killed with SIGKILL leaves no slirp4netns running, its spare\'s included', async () => {
  const runtime = new URL('../../src/runtime/index.js', import.meta.url).href;
  const pool = new URL('../../src/runtime/network-pool.js', import.meta.url).href;
  const util = new URL('../../src/util/index.js', import.meta.url).href;
  const addon = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));
  // As the CLI: namespaces made by the addon. Takes two (the spare starts after the first), waits
  // for the next spare, prints its slirp4netns children.
  const script = `
    import { openSlirpNetwork } from ${JSON.stringify(runtime)};
    import { createNetworkPool } from ${JSON.stringify(pool)};
    import { setNativeAddon } from ${JSON.stringify(util)};
    import { createRequire } from 'node:module';
    import { readdirSync, readFileSync } from 'node:fs';
    setNativeAddon(() => createRequire(${JSON.stringify(addon)})(${JSON.stringify(addon)}));
    const p = createNetworkPool(() => openSlirpNetwork(), 1);
    await p.take();
    await p.take();
    await new Promise((r) => setTimeout(r, 300));
    const kids = readdirSync('/proc').filter((d) => /^\\d+$/.test(d)).filter((pid) => {
      try {
        const s = readFileSync('/proc/' + pid + '/stat', 'utf8');
        return s.includes('(slirp4netns)') && Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch { return false; }
    });
    console.log(kids.join(' '));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`the child ended (${code}) before printing`)));
  });
  const pids = line.split(' ').map(Number);
  assert.equal(pids.length, 3, `two taken namespaces and a spare, each with its slirp4netns: ${line}`);
  assert.deepEqual(alive(pids), pids);
  child.kill('SIGKILL');
  const deadline = Date.now() + 5000;
  while (alive(pids).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(alive(pids), [], 'each slirp4netns ended when its --exit-fd closed');
});

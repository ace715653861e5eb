import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseChmod } from '../../src/instructions/index.js';

const apply = (text: string, mode: number, isDir = false) => parseChmod(text)!.apply(mode, isDir);

test('octal modes: 0 to 07777, anything else is refused', () => {
  assert.equal(parseChmod('0')!.octal, 0);
  assert.equal(parseChmod('755')!.octal, 0o755);
  assert.equal(parseChmod('04755')!.apply(0o600, false), 0o4755);
  for (const bad of ['', '8', '0789', '10000', '64a', '7777777'] as const) assert.equal(parseChmod(bad), undefined, bad);
});

test('symbolic modes apply to the existing mode as chmod(1) does', () => {
  assert.equal(apply('u=rwx,go=rx', 0o600), 0o755);
  assert.equal(apply('+x', 0o644), 0o755);
  assert.equal(apply('a-w', 0o775), 0o555);
  assert.equal(apply('go-w', 0o666), 0o644);
  assert.equal(apply('g+s', 0o755), 0o2755);
  assert.equal(apply('u+s,+t', 0o755), 0o5755);
  assert.equal(apply('o+t', 0o755), 0o755, 'sticky for "other" alone means nothing');
  assert.equal(apply('go=u-w', 0o700), 0o755);
  assert.equal(apply('u=', 0o755), 0o055);
  assert.equal(apply('=rw,+X', 0o744), 0o755 & ~0o022 | 0o644, 'keeps execute when some was set');
  // X: directories, and files that already have an execute bit.
  assert.equal(apply('a+X', 0o644), 0o644);
  assert.equal(apply('a+X', 0o744), 0o755);
  assert.equal(apply('a+X', 0o600, true), 0o711);
  assert.equal(apply('u+X', 0o600, true), 0o700);
  // Without a "who", the umask (0022) limits what is added.
  assert.equal(apply('+w', 0o444), 0o644);
  // BSD semantics where GNU chmod differs: `=` clears a directory's set-id bits, copying bits keeps
  // them, and X looks at the mode before the change (GNU: after `=rw`).
  assert.equal(apply('=rw,+X', 0o124), 0o755);
  assert.equal(apply('u=rw,g=r,o=r', 0o4711, true), 0o644);
  assert.equal(apply('go=u-w', 0o2070), 0o2000);
  for (const bad of ['u', 'x+r', 'u+q', 'u+x,', ',u+x', 'ugo', 'u+x;g+x']) assert.equal(parseChmod(bad), undefined, bad);
});

test('symbolic modes agree with coreutils chmod under umask 0022', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-chmod-'));
  try {
    const modes = ['go-w', 'u=rw,g=r,o=r', 'a+X', 'u+rw,g+r,o-x,o+w', '+x', 'a-w', 'g+s', 'u+X', 'go=u-w', '-r', 'u=rwx,go=rx', 'o=g', 'ug+s', 'a+t', 'a=', '+w', 'o+rwx,g-r'];
    // Set-id starting modes are left out: GNU chmod treats them differently from BSD setmode (BuildKit's).
    const starts = [0o666, 0o124, 0o755, 0o600, 0o701, 0o070];
    let n = 0;
    for (const m of modes) {
      for (const start of starts) {
        for (const isDir of [false, true]) {
          const p = join(dir, `p${n++}`);
          if (isDir) mkdirSync(p);
          else writeFileSync(p, '');
          chmodSync(p, start);
          const r = spawnSync('sh', ['-c', `umask 022; chmod ${m} "$1"`, 'sh', p]);
          assert.equal(r.status, 0, String(r.stderr));
          const want = statSync(p).mode & 0o7777;
          assert.equal(apply(m, start, isDir).toString(8), want.toString(8), `${m} on ${isDir ? 'dir' : 'file'} ${start.toString(8)}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

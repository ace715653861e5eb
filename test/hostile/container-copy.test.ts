import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

// `wharf copy` resolves every container path inside the container's root, as COPY does: `..`,
// absolute paths and symlinks planted in the image (absolute, relative, chained) never reach the
// host, in either direction.
const suite = busyboxStoreForFile('wharf-container-copy-');

const ok = (args: string[]): string => {
  const r = suite.env.wharf(args);
  assert.equal(r.status, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

test('host to container: .., absolute and symlinked destinations all land inside the container', async () => {
  const outside = join(suite.dir, 'outside');
  await mkdir(outside);
  // The image has symlinks pointing at the host dir by absolute path and by climbing with ..
  ok(['run', '--name', 'trap', 'busybox:test', 'sh', '-c',
    `ln -s ${outside} /abs-link && ln -s ../../../../../../..${outside} /rel-link && mkdir -p /d && ln -s /abs-link /d/chain`]);
  ok(['commit', 'trap', 'trap:1']);
  ok(['rm', 'trap']);
  ok(['create', '--name', 'victim', 'trap:1']);
  const src = join(suite.dir, 'payload.txt');
  await writeFile(src, 'payload\n');
  ok(['copy', 'victim', src, `../../../../../../..${outside}/dotdot.txt`]);
  ok(['copy', 'victim', src, `${outside}/absolute.txt`]);
  ok(['copy', 'victim', src, '/abs-link/via-abs.txt']);
  ok(['copy', 'victim', src, '/rel-link/via-rel.txt']);
  ok(['cp', src, 'victim:/d/chain/via-chain.txt']);
  for (const name of ['dotdot.txt', 'absolute.txt', 'via-abs.txt', 'via-rel.txt', 'via-chain.txt']) {
    assert.equal(existsSync(join(outside, name)), false, `${name} escaped to the host`);
  }
  // All of them are in the container, under its own root (the links resolve to <root>/<outside>).
  const id = ok(['commit', 'victim', 'victim:1']).trim();
  assert.match(id, /^sha256:/);
  const seen = ok(['run', '--rm', 'victim:1', 'sh', '-c', `cat ${outside}/dotdot.txt ${outside}/absolute.txt ${outside}/via-abs.txt ${outside}/via-rel.txt ${outside}/via-chain.txt`]);
  assert.equal(seen, 'payload\n'.repeat(5));
  ok(['rm', 'victim']);
});

test('container to host: .. and symlinks in the image are resolved inside it; links are copied as links', async () => {
  const secret = join(suite.dir, 'host-secret');
  await writeFile(secret, 'host only\n');
  ok(['run', '--name', 'leak', 'busybox:test', 'sh', '-c', `mkdir -p $(dirname ${secret}) && echo image copy > ${secret} && ln -s ${secret} /link && ln -s ../../../../..${secret} /rel`]);
  const out = join(suite.dir, 'out');
  await rm(out, { recursive: true, force: true });
  await mkdir(out);
  ok(['copy', `leak:../../../../../..${secret}`, join(out, 'dotdot')]);
  assert.equal(readFileSync(join(out, 'dotdot'), 'utf8'), 'image copy\n');
  ok(['copy', 'leak:/link/', join(out, 'via-link')]);
  ok(['copy', 'leak:/rel', join(out, 'via-rel')]);
  // A named source symlink is followed inside the container (COPY's rule), never on the host.
  assert.equal(readFileSync(join(out, 'via-link'), 'utf8'), 'image copy\n');
  assert.equal(readFileSync(join(out, 'via-rel'), 'utf8'), 'image copy\n');
  ok(['rm', 'leak']);
  // Inside a copied directory a link stays a link (not followed at all).
  ok(['run', '--name', 'tree', 'busybox:test', 'sh', '-c', `mkdir /t && ln -s ${secret} /t/l`]);
  ok(['copy', 'tree:/t', join(out, 't')]);
  assert.ok(lstatSync(join(out, 't', 'l')).isSymbolicLink());
  assert.equal(readlinkSync(join(out, 't', 'l')), secret);
  assert.equal(readFileSync(secret, 'utf8'), 'host only\n', 'the host file was never written');
  ok(['rm', 'tree']);
});

test('copy names a missing container and a missing source', () => {
  const r = suite.env.wharf(['copy', 'ghost:/etc/passwd', join(suite.dir, 'x')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no such container: ghost\nhint: `wharf ps -a`/);
  ok(['create', '--name', 'empty', 'busybox:test']);
  const m = suite.env.wharf(['copy', 'empty:/no/such', join(suite.dir, 'x')]);
  assert.equal(m.status, 1);
  assert.match(m.stderr, /"\/no\/such" not found/);
  ok(['rm', 'empty']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dockerPeerSuite } from '../helpers/dockerd.js';
import { wharfBin } from '../helpers/paths.js';

// A buildah-style script makes an image with create / run / copy / config / commit only (no
// Dockerfile); the image runs in wharf, and docker 20.10 runs its `wharf save` the same way.
const suite = dockerPeerSuite('wharf-peer-containers-');

const SCRIPT = `#!/bin/sh
set -eu
wharf() { node "$WHARF_BIN" --root "$ROOT" "$@"; }
wharf import "$DIR/rootfs.tar" base:1 >/dev/null
c=$(wharf container create --name builder base:1)
wharf container run --rm --name step1 base:1 true
wharf container copy builder "$DIR/app/" /app/
wharf container config builder --env GREETING=hello --workdir /app --label org.example.kind=script \\
  --cmd '["sh", "/app/hello.sh"]' --expose 8080
wharf commit -m "app files" builder stage:1 >/dev/null
wharf rm builder >/dev/null
# a RUN-like step in a kept container, then its changes committed on top
wharf run --name step2 stage:1 sh -c 'mkdir -p /data && echo from-run > /data/made && rm /app/remove-me'
wharf commit -c 'ENTRYPOINT ["sh", "/app/hello.sh"]' -c 'CMD ["world"]' step2 scripted:1
wharf rm step2 >/dev/null
`;

test('an image made by a script of container commands runs in wharf and, saved, the same in docker 20.10', async () => {
  await mkdir(join(suite.dir, 'app'));
  await writeFile(join(suite.dir, 'app', 'hello.sh'), 'echo "$GREETING ${1:-nobody} from $(pwd)"; cat /data/made; ls /app\n');
  await writeFile(join(suite.dir, 'app', 'remove-me'), 'x\n');
  await writeFile(join(suite.dir, 'build.sh'), SCRIPT, { mode: 0o755 });
  const root = join(suite.dir, 'store');
  const env = { ...process.env, WHARF_BIN: wharfBin, ROOT: root, DIR: suite.dir, SOURCE_DATE_EPOCH: '1700000000' };
  const built = spawnSync('sh', [join(suite.dir, 'build.sh')], { encoding: 'utf8', env });
  assert.equal(built.status, 0, built.stderr);
  const id = built.stdout.trim().split('\n').at(-1)!;
  assert.match(id, /^sha256:[0-9a-f]{64}$/);

  const wharf = (args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
  const expected = 'hello world from /app\nfrom-run\nhello.sh\n';
  const ran = wharf(['run', '--rm', 'scripted:1']);
  assert.equal(ran.stdout, expected, ran.stderr);
  assert.equal(wharf(['ps', '-aq']).stdout, '', 'the script removed its containers');
  assert.equal(wharf(['fsck']).status, 0);

  assert.equal(wharf(['save', '-o', join(suite.dir, 'scripted.tar'), 'scripted:1']).status, 0);
  const loaded = suite.dockerd.docker(['load', '-i', join(suite.dir, 'scripted.tar')]);
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.equal(suite.dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', 'scripted:1']).stdout.trim(), id);
  const inDocker = suite.dockerd.docker(['run', '--rm', '--network', 'none', 'scripted:1']);
  assert.equal(inDocker.stdout, expected, inDocker.stderr);
  const cfg = JSON.parse(suite.dockerd.docker(['image', 'inspect', '--format', '{{json .Config}}', 'scripted:1']).stdout) as { Labels: Record<string, string>; ExposedPorts: Record<string, unknown>; WorkingDir: string };
  assert.equal(cfg.Labels['org.example.kind'], 'script');
  assert.ok('8080/tcp' in cfg.ExposedPorts);
  assert.equal(cfg.WorkingDir, '/app');
  const history = suite.dockerd.docker(['history', '--no-trunc', '--format', '{{.Comment}}', 'scripted:1']).stdout;
  assert.match(history, /app files/);

  // Same script, same SOURCE_DATE_EPOCH, fresh store: the same image ID.
  const again = spawnSync('sh', [join(suite.dir, 'build.sh')], { encoding: 'utf8', env: { ...env, ROOT: join(suite.dir, 'store2') } });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.trim().split('\n').at(-1), id);
});

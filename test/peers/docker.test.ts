import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { imageTree, type TreeNode } from '../helpers/image-tree.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';
import { wharfBin } from '../helpers/paths.js';
import { openStore, type Store } from '../../src/store/index.js';
import { loadImage, type ContainerConfig } from '../../src/image/index.js';

// Compatibility with a real peer: the same Dockerfiles built by wharf and by docker 20.10 with
// BuildKit (dockerd started here on its own socket, no network), both from the same busybox base
// image, must give the same file trees (mtimes aside) and the same config fields.
const DOCKER = '/usr/bin/docker';
let dir: string;
let root: string;
let dockerd: ChildProcess | undefined;
let store: Store;
let dockerEnv: NodeJS.ProcessEnv;

const wharf = (args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
const docker = (args: string[], cwd?: string) => spawnSync(DOCKER, args, { encoding: 'utf8', env: dockerEnv, ...(cwd ? { cwd } : {}) });

before(async () => {
  requireRoot();
  dir = await mkdtemp(join(tmpdir(), 'wharf-peers-'));
  root = join(dir, 'store');
  const d = join(dir, 'docker');
  await mkdir(d);
  dockerEnv = { ...process.env, DOCKER_HOST: `unix://${d}/sock`, DOCKER_BUILDKIT: '1' };
  dockerd = spawn('dockerd', ['--iptables=false', '--ip-masq=false', '--ip6tables=false', '--bridge=none', '--storage-driver=overlay2', '--data-root', `${d}/data`, '--exec-root', `${d}/exec`, '--pidfile', `${d}/pid`, '--host', `unix://${d}/sock`], { stdio: 'ignore' });
  for (let i = 0; docker(['version']).status !== 0; i++) {
    if (i > 60) throw new Error('dockerd did not start');
    await new Promise((r) => setTimeout(r, 500));
  }
  const rootfs = join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
  assert.equal(wharf(['import', join(dir, 'rootfs.tar'), 'peer/busybox:1']).status, 0);
  // One base for both builders: wharf's import, saved and loaded into docker.
  assert.equal(wharf(['save', '-o', join(dir, 'base.tar'), 'peer/busybox:1']).status, 0);
  const load = docker(['load', '-i', join(dir, 'base.tar')]);
  assert.equal(load.status, 0, load.stderr);
  store = await openStore(root);
});

after(async () => {
  if (dockerd?.pid) {
    dockerd.kill('SIGTERM');
    await new Promise((r) => dockerd!.once('exit', r));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Node = TreeNode;

const tree = (name: string): Promise<Map<string, Node>> => imageTree(store, name, join(dir, 'trees', name.replace(/[/:]/g, '_')));

const CONFIG_FIELDS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell'] as const;
const pick = (c: ContainerConfig | undefined) =>
  Object.fromEntries(CONFIG_FIELDS.map((f) => [f, c?.[f] ?? null]).filter(([, v]) => v !== null && !(Array.isArray(v) && v.length === 0)));

async function compare(name: string, files: Record<string, string>, setup?: (ctx: string) => Promise<void>, mountTargets: readonly string[] = []): Promise<void> {
  const ctx = join(dir, 'ctx', name);
  for (const [p, data] of Object.entries(files)) {
    await mkdir(join(ctx, p, '..'), { recursive: true });
    await writeFile(join(ctx, p), data);
  }
  if (setup) await setup(ctx);
  const w = wharf(['build', '--progress', 'plain', '-t', `peer/${name}:wharf`, ctx]);
  assert.equal(w.status, 0, w.stderr);
  const d = docker(['build', '--network=none', '-t', `peer/${name}:docker`, ctx]);
  assert.equal(d.status, 0, d.stderr);
  const saved = join(dir, `${name}-docker.tar`);
  assert.equal(docker(['save', '-o', saved, `peer/${name}:docker`]).status, 0);
  const l = wharf(['load', '-i', saved]);
  assert.equal(l.status, 0, l.stderr);
  const [wi, di] = [await loadImage(store, `peer/${name}:wharf`), await loadImage(store, `peer/${name}:docker`)];
  assert.deepEqual(pick(wi.config.config), pick(di.config.config), 'config');
  assert.equal(wi.config.rootfs.diff_ids.length, di.config.rootfs.diff_ids.length, 'same number of layers');
  const steps = (h: typeof wi.config.history) => (h ?? []).map((e) => `${e.empty_layer === true ? 'meta' : 'layer'} ${e.created_by}`);
  assert.deepEqual(steps(wi.config.history), steps(di.config.history), 'history: the same entries, texts and empty_layer flags');
  const stubs = new Set(RUNTIME_STUBS);
  for (const t of mountTargets) t.split('/').forEach((_, i, parts) => i > 0 && stubs.add(parts.slice(0, i + 1).join('/')));
  assert.deepEqual(treeDiff(await tree(`peer/${name}:wharf`), await tree(`peer/${name}:docker`), stubs), [], 'file trees differ');
}

/**
 * Justified difference: docker 20.10's BuildKit leaves the empty mount points its runtime created
 * (/dev, /proc, /sys, and `RUN --mount` targets with their missing parents) in the step's layer;
 * newer BuildKit removes them (MountStubsCleaner), as wharf does. Only those paths, and only when
 * they are directories holding nothing but other such stubs, are ignored.
 */
const RUNTIME_STUBS = ['/dev', '/proc', '/sys'];

/** Paths whose entries differ (mtimes are never compared), as `path: wharf → docker` lines. */
function treeDiff(w: Map<string, Node>, d: Map<string, Node>, stubs: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const onlyStubsBelow = (path: string) => [...d.keys()].every((k) => !k.startsWith(path + '/') || (stubs.has(k) && d.get(k)!.type === 'dir'));
  for (const path of [...new Set([...w.keys(), ...d.keys()])].sort()) {
    const [a, b] = [w.get(path), d.get(path)];
    if (!a && b?.type === 'dir' && stubs.has(path) && onlyStubsBelow(path)) continue;
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
  }
  return out;
}

test('RUN, ENV, ARG, WORKDIR, USER and metadata instructions', async () => {
  await compare('meta', {
    Dockerfile: `FROM peer/busybox:1
ARG VERSION=1.2
ENV APP_HOME=/srv/app PATH=/opt/bin:$PATH
WORKDIR $APP_HOME
RUN echo "v=$VERSION" > version && mkdir -p /opt/bin && rm /etc/group
LABEL org.example.version=$VERSION "two words"=yes
EXPOSE 8080 53/UDP 7000-7002
VOLUME ["/data", "/logs"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost:8080 || exit 1
SHELL ["/bin/sh", "-ec"]
RUN echo shell > /shell
USER app
WORKDIR /home/app/work
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "echo hi"]
ONBUILD RUN echo child
`,
  });
});

test('COPY and ADD: directories, globs, dest rules, --chown, a local tar', async () => {
  await compare(
    'copy',
    {
      Dockerfile: `FROM peer/busybox:1
WORKDIR /app
COPY *.txt ./texts/
COPY dir /contents
COPY one.txt renamed
COPY --chown=app:extra dir/sub /owned/
COPY --chown=1500 one.txt /numeric/
ADD layer.tar /unpacked/
`,
      'one.txt': '1\n',
      'two.txt': '2\n',
      'dir/a': 'a\n',
      'dir/sub/deep.txt': 'deep\n',
    },
    async (ctx) => {
      const { symlink, chmod } = await import('node:fs/promises');
      await symlink('a', join(ctx, 'dir', 'link'));
      await chmod(join(ctx, 'dir', 'a'), 0o600);
      const src = join(dir, 'tarsrc');
      await mkdir(join(src, 'x'), { recursive: true });
      await writeFile(join(src, 'x', 'f'), 'from tar\n');
      execFileSync('tar', ['--owner=42', '--group=43', '-C', src, '-cf', join(ctx, 'layer.tar'), 'x']);
    },
  );
});

test('multi-stage: COPY --from two stages', async () => {
  await compare('multi', {
    Dockerfile: `FROM peer/busybox:1 AS one
RUN mkdir /out && echo first > /out/1
FROM peer/busybox:1 AS two
RUN echo second > /2
FROM peer/busybox:1
COPY --from=one /out /got/
COPY --from=two /2 /got/2
CMD ["cat", "/got/1", "/got/2"]
`,
  });
});

test('COPY --from with wildcards; ADD of compressed files that are not tars copies them as they are', async () => {
  await compare(
    'copyglob',
    {
      Dockerfile: `FROM peer/busybox:1 AS base
RUN mkdir -p /data/sub && echo one > /data/one.so && echo two > /data/two.so && echo n > /data/notes.txt && echo s > /data/sub/s.so && chmod 700 /data/two.so
FROM peer/busybox:1
COPY --from=base /data/*.so /so/
COPY --from=base /data/t?o.so /data/s[a-z]* /mixed/
ADD plain.gz /gz/
ADD plain.xz data.tar.gz /add/
`,
    },
    async (ctx) => {
      const { gzipSync } = await import('node:zlib');
      await writeFile(join(ctx, 'plain.gz'), gzipSync('plain text, not a tar\n'));
      execFileSync('sh', ['-c', `printf 'xz text\\n' | xz -c > "${join(ctx, 'plain.xz')}"`]);
      const src = join(dir, 'gztarsrc');
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'in-tar'), 'from a tar.gz\n');
      execFileSync('sh', ['-c', `tar --owner=0 --group=0 -C "${src}" -c in-tar | gzip -c > "${join(ctx, 'data.tar.gz')}"`]);
    },
  );
});

test('FROM a stage: ENTRYPOINT clears the inherited CMD; steps that change nothing', async () => {
  await compare('inherit', {
    Dockerfile: `FROM peer/busybox:1 AS parent
CMD ["inherited"]
WORKDIR /etc
RUN true
FROM parent
ENTRYPOINT ["echo"]
ENV A=1 B="two words"
`,
  });
});

test('ONBUILD triggers of a base image (built by each side) run first in the child', async () => {
  const parent = join(dir, 'ctx', 'onbuild-parent');
  await mkdir(parent, { recursive: true });
  await writeFile(join(parent, 'Dockerfile'), 'FROM peer/busybox:1\nONBUILD COPY marker /marker\nONBUILD RUN cat /marker > /copied\n');
  assert.equal(wharf(['build', '-t', 'peer/onbuild-parent:1', parent]).status, 0);
  assert.equal(docker(['build', '--network=none', '-t', 'peer/onbuild-parent:1', parent]).status, 0);
  await compare('onbuild', { Dockerfile: 'FROM peer/onbuild-parent:1\nRUN cat /copied > /again\n', marker: 'from the child context\n' });
});

test('RUN --mount: cache, tmpfs and binds from the context and a stage leave the same tree', async () => {
  await compare('mounts', {
    Dockerfile: `FROM peer/busybox:1 AS tools
RUN mkdir /tools && echo tool > /tools/version
FROM peer/busybox:1
RUN --mount=type=cache,target=/var/cache/app --mount=type=tmpfs,target=/scratch \\
    --mount=type=bind,source=src,target=/src --mount=type=bind,from=tools,source=/tools,target=/tools \\
    touch /var/cache/app/x /scratch/y && cat /src/input /tools/version > /result
`,
    'src/input': 'input\n',
  }, undefined, ['/var/cache/app', '/scratch', '/src', '/tools']);
});

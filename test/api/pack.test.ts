// The package as a user gets it: `npm pack`, installed into an empty project from the tarball,
// gives a working `npx wharf` and `import { build } from 'wharf'`, with and without a C compiler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../helpers/paths.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-pack-');

/** Packs the built tree (prepack's build has run: the test suite runs on a built tree). */
function pack(dest: string): string {
  // The declarations are made by prepack only (they cost a tsc run every build otherwise).
  execFileSync(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(projectRoot, 'tsconfig.types.json')], { cwd: projectRoot });
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: projectRoot, encoding: 'utf8' });
  const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  const files = info[0]!.files.map((f) => f.path);
  assert.ok(files.includes('dist/wharf.cjs') && files.includes('dist/src/api/index.js') && files.includes('dist/types/src/api/index.d.ts'), 'what runs, and the types');
  assert.ok(files.includes('native/wharf_native.c') && files.includes('scripts/build-native.mjs'), 'the addon source and its build script');
  assert.ok(files.includes('README.md') && files.includes('LICENSE') && files.includes('grammar/dockerfile.ne'));
  assert.ok(files.some((f) => f.startsWith('dist/src/syntax/generated/')), 'the grammar output');
  assert.deepEqual(files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f.startsWith('.ci') || f.startsWith('bench/') || f.startsWith('dist/bench/')), [], 'no tests');
  return join(dest, info[0]!.filename);
}

async function install(dir: string, tgz: string, env: NodeJS.ProcessEnv): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  const r = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tgz], { cwd: dir, encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
}

const BUILD_SCRIPT = (root: string, ctx: string) => `
import { build, openStore } from 'wharf';
const events = [];
const r = await build({ root: ${JSON.stringify(root)}, context: ${JSON.stringify(ctx)}, tags: ['packed:1'], buildArgs: { WHO: 'api' } }, { onEvent: (e) => events.push(e.type) });
const store = await openStore(${JSON.stringify(root)});
const view = await store.inspect('packed:1');
console.log(JSON.stringify({ id: r.imageId, steps: r.steps.length, done: events.includes('build-done'), env: view.Config.Env, inspectId: view.Id }));
`;

test('npm pack ships what runs and no tests; the installed tarball runs `npx wharf` and builds through `import { build } from \'wharf\'`', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-pack-proj-'));
  try {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string>; version: string };
    assert.match(pkg.scripts.prepack!, /npm run build/, 'prepack builds');
    const tgz = pack(dir);
    const proj = join(dir, 'proj');
    await install(proj, tgz, process.env);
    const installed = join(proj, 'node_modules', 'wharf');
    assert.ok(existsSync(join(installed, 'dist', 'native', 'wharf_native.node')), 'the install script compiled the addon');
    const v = spawnSync('npx', ['--no-install', 'wharf', '--version'], { cwd: proj, encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), pkg.version);

    const ctx = join(dir, 'ctx');
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nARG WHO\nENV GREETING=hello-$WHO\nRUN echo $GREETING > /greeting\n');
    await writeFile(join(proj, 'build.mjs'), BUILD_SCRIPT(suite.env.root, ctx));
    const r = spawnSync(process.execPath, ['build.mjs'], { cwd: proj, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { id: string; steps: number; done: boolean; env: string[]; inspectId: string };
    assert.match(out.id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(out.inspectId, out.id);
    assert.ok(out.env.includes('GREETING=hello-api'), JSON.stringify(out.env));
    assert.equal(out.steps, 2, 'FROM and RUN');
    assert.ok(out.done, 'a build-done event');
    // The CLI of the installed package sees the image the library built.
    const img = spawnSync('npx', ['--no-install', 'wharf', '--root', suite.env.root, 'images', '--format', 'json'], { cwd: proj, encoding: 'utf8' });
    assert.equal(img.status, 0, img.stderr);
    assert.match(img.stdout, /"Repository":"packed"/);

    // Without a C compiler the install still succeeds, without the addon, and wharf falls back.
    const nocc = join(dir, 'nocc');
    await install(nocc, tgz, { ...process.env, CC: join(dir, 'no-such-cc') });
    assert.equal(existsSync(join(nocc, 'node_modules', 'wharf', 'dist', 'native', 'wharf_native.node')), false);
    await writeFile(join(nocc, 'build.mjs'), BUILD_SCRIPT(suite.env.root, ctx).replace(/'packed:1'/g, "'packed:2'"));
    const r2 = spawnSync(process.execPath, ['build.mjs'], { cwd: nocc, encoding: 'utf8' });
    assert.equal(r2.status, 0, r2.stderr);
    assert.equal((JSON.parse(r2.stdout) as { id: string }).id, out.id, 'the same image without the addon');
    const v2 = spawnSync('npx', ['--no-install', 'wharf', '--version'], { cwd: nocc, encoding: 'utf8' });
    assert.equal(v2.status, 0, v2.stderr);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

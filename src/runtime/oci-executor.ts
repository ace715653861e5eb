import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nativeContainer, nativeLauncher, randomHex, UserError } from '../util/index.js';
import { cgroupPool, createRunCgroups, hostCgroupMode, runCgroupName, type CgroupPool, type RunCgroups } from './cgroups.js';
import { openHostCache, type HostCache } from './host-cache.js';
import { containerPlan, PlanUnsupported } from './container-plan.js';
import { launchCommand } from './launcher.js';
import { startLaunchServer, type LaunchServer } from './launch-server.js';
import { forEachLine } from './lines.js';
import { buildOciConfig, capabilitiesOfMask, hostsFile, ociConfigJson } from './oci-config.js';
import { openSlirpNetwork, type NetworkNamespace } from './network.js';
import { createNetworkPool, type NetworkPool } from './network-pool.js';
import { containerResolvConf } from './resolv-conf.js';
import { forgetVerdict, probeKey, readVerdict, writeVerdict } from './probe-verdict.js';
import { compiledSeccomp, precompiledSeccomp, SECCOMP_BPF_ANNOTATION, seccompCompiler, type PersistedSeccomp } from './seccomp-cache.js';
import { recordStubs, removeStubs } from './stubs.js';
import type { ExitStatus, Executor, MountSpec, ProcessSpec, Stdio } from './types.js';
import { resolveUser } from './user.js';

export type OciRuntimeName = 'runc' | 'crun';
/**
 * What runs a step: an OCI runtime, or `wharf`, wharf's own container launcher
 * (native/wharf_container.c), which sets up what the same config.json asks without a runtime's
 * state and process round trips. It needs crun beside it (crun compiles the seccomp profile) and
 * a host where wharf makes the step's cgroups (v1 controllers).
 */
export type RuntimeName = OciRuntimeName | 'wharf';

export interface OciExecutorOptions {
  /**
   * A directory of our own (e.g. under the store's tmp): bundles live in `bundles/<id>` and the
   * runtime's state in `<runtime>/`, passed as `--root` so we never collide with other users of runc.
   */
  readonly stateDir: string;
  /**
   * `auto` (default) uses wharf's own launcher where it can (crun works here through the launcher
   * and the build made wharf-container), else crun when it works on this host, else runc.
   */
  readonly runtime?: RuntimeName | 'auto';
  /** Contents of the container's /etc/resolv.conf; default: the host's. */
  readonly resolvConf?: string;
  /** The slirp4netns program for network `default` (default: found in PATH). */
  readonly slirp4netns?: string;
  /**
   * The PATH the runtime is looked up in (the CLI passes its own). With `auto`, crun is probed
   * only when it is in one of these dirs: a probe of a missing crun still forks Node (~10 ms).
   */
  readonly searchPath?: string;
  /**
   * A root-only dir where the crun probe's verdict and compiled seccomp filters are kept across
   * processes (host-cache.ts; the CLI gives /run/wharf/runtime). Used only with `searchPath`, which
   * names the crun binary the entries are keyed by. Default: none, every process works them out.
   */
  readonly cacheDir?: string;
  /**
   * How many `default` networks to keep ready for the next RUNs (network-pool.ts); default 0.
   * With spares, `close()` the executor when done: they are processes.
   */
  readonly spareNetworks?: number;
}

export interface OciExecutor extends Executor {
  /** What runs the steps, once chosen. */
  readonly runtime: RuntimeName;
  /**
   * Removes containers and bundles a killed earlier wharf left in `stateDir` (call at start-up,
   * before any run; never while runs of this state dir are in flight).
   */
  cleanupStale(): Promise<void>;
  /**
   * Ends what the executor keeps between runs (the spare networks of network-pool.ts); resolves
   * once their processes are gone. Call when the build is over, after its last run.
   */
  close(): Promise<void>;
  /**
   * Gets ready for a run that is coming (a lazy executor chooses its runtime and starts its launch
   * server now rather than in the first run); what fails is said by that run.
   */
  prepare(): void;
}

export async function createOciExecutor(options: OciExecutorOptions): Promise<OciExecutor> {
  const crunPath = options.searchPath !== undefined ? findOnPath('crun', options.searchPath) : undefined;
  const cache = options.cacheDir !== undefined && crunPath !== undefined ? openHostCache(options.cacheDir) : undefined;
  const compiler = crunPath !== undefined ? seccompCompiler(crunPath) : undefined;
  const persisted = cache && compiler ? { cache, compiler } : undefined;
  if (options.runtime === 'wharf') {
    const why = wharfUnusableWhy(options.searchPath, crunPath);
    if (why) throw new UserError('runtime.wharf-unusable', `--runtime wharf cannot run here: ${why}`, 'pass --runtime auto, crun or runc');
  }
  if (options.runtime !== undefined && options.runtime !== 'auto') return executorFor(options.runtime, options, persisted, crunPath);
  const choice = await chooseRuntime(options.stateDir, options.searchPath, cache, false, crunPath);
  const chosen = () => withReprobe(choice, options, cache, persisted, crunPath);
  if (choice.runtime !== 'crun' || wharfUnusableWhy(options.searchPath, crunPath)) return chosen();
  // wharf's own launcher until it cannot run a step: a config it cannot carry, a seccomp profile
  // crun failed to compile, a container it failed to set up (before the step's program ran).
  const own = await executorFor('wharf', options, persisted, crunPath);
  return switching(own, async (e, current) => (current === own && (e instanceof WharfUnusable || e instanceof PlanUnsupported) ? chosen() : undefined));
}

/**
 * Why wharf's own launcher cannot run steps here (undefined: it can): it needs the program the
 * build made, a host where wharf makes the step's cgroups, and crun to compile the seccomp profile
 * (looked for in `searchPath` when given; without one, a crun that is missing fails its first
 * compilation, and the step then runs on the fallback).
 */
function wharfUnusableWhy(searchPath: string | undefined, crunPath: string | undefined): string | undefined {
  if (!nativeContainer()) return 'the build made no wharf-container program (no C compiler?)';
  if (!launched('crun')) return 'the host has no cgroup v1 controllers (wharf makes the cgroups of a step only there)';
  if (searchPath !== undefined && crunPath === undefined) return 'crun, which compiles the seccomp profile, is not installed';
  return undefined;
}

/**
 * Runs steps on `first` until a run fails with an error `next` answers with another executor (the
 * step's program never ran): that run is made again on it, and so is every later one. The one
 * left behind is closed.
 */
function switching(first: OciExecutor, next: (e: unknown, current: OciExecutor) => Promise<OciExecutor | undefined>): OciExecutor {
  let current = first;
  return {
    get runtime() {
      return current.runtime;
    },
    cleanupStale: () => current.cleanupStale(),
    prepare: () => current.prepare(),
    run: async (spec, rootfs, mounts, stdio, signal) => {
      try {
        return await current.run(spec, rootfs, mounts, stdio, signal);
      } catch (e) {
        const other = await next(e, current);
        if (!other) throw e;
        const old = current;
        current = other;
        await old.close();
        return current.run(spec, rootfs, mounts, stdio, signal);
      }
    },
    close: () => current.close(),
  };
}

/** The executor `choice` picked, run again on a new probe's pick when a kept "crun works" was wrong. */
async function withReprobe(
  choice: { runtime: OciRuntimeName; kept: boolean }, options: OciExecutorOptions, cache: HostCache | undefined,
  persisted: PersistedSeccomp | undefined, crunPath: string | undefined,
): Promise<OciExecutor> {
  const first = await executorFor(choice.runtime, options, persisted, crunPath);
  if (choice.runtime !== 'crun' || !cache) return first;
  // A kept verdict can be wrong (the host changed in a way its key does not see). crun then fails
  // before the step's program starts, so the step is run again on what a new probe picks.
  let reprobed = false;
  return switching(first, async (e, current) => {
    if (!(e instanceof CrunUnusable) || current.runtime !== 'crun') return undefined;
    forgetVerdict(cache);
    if (!choice.kept || reprobed) return undefined;
    reprobed = true;
    const again = await chooseRuntime(options.stateDir, options.searchPath, cache, true);
    return again.runtime === 'crun' ? undefined : executorFor(again.runtime, options, persisted, crunPath);
  });
}

/** wharf-container could not set the step's container up: the step's program never ran. */
class WharfUnusable extends UserError {
  constructor(why: string) {
    super('runtime.wharf-unusable', `wharf's container launcher could not start the step's container: ${why}`, 'pass --runtime crun or --runtime runc');
  }
}

/** crun failed the way the probe looks for (hybrid cgroups, the launcher): its container never started. */
class CrunUnusable extends UserError {
  constructor(why: string) {
    super('runtime.crun-unusable', `crun could not start the step's container: ${why}`, 'pass --runtime runc, or run again with --runtime auto (crun is probed anew)');
  }
}

/**
 * Whether the step's cgroups are made by wharf and joined by the launcher (crun, and wharf's own
 * launcher, on a host with v1 controllers), or crun manages them itself (a cgroup v2 host, where
 * it works as it stands). runc always makes its own.
 */
function launched(runtime: RuntimeName): boolean {
  return runtime !== 'runc' && hostCgroupMode() === 'legacy';
}

/**
 * An executor that makes its state dir (`stateDir()`), picks its runtime (the crun probe) and makes
 * its state dirs on the first run, so a build whose steps are all cached spawns and creates nothing: the probe is 2+ processes, ~5–10 ms. `runtime`
 * is readable only after a run.
 */
export function createLazyOciExecutor(options: Omit<OciExecutorOptions, 'stateDir'> & { readonly stateDir: () => Promise<string> }): OciExecutor {
  let ready: Promise<OciExecutor> | undefined;
  let chosen: OciExecutor | undefined;
  const get = () => (ready ??= options.stateDir().then((stateDir) => createOciExecutor({ ...options, stateDir })).then((e) => (chosen = e)));
  return {
    get runtime(): RuntimeName {
      if (!chosen) throw new Error('the OCI runtime is chosen on the first run');
      return chosen.runtime;
    },
    cleanupStale: async () => (await get()).cleanupStale(),
    run: async (spec, rootfs, mounts, stdio, signal) => (await get()).run(spec, rootfs, mounts, stdio, signal),
    prepare: () => void get().catch(() => undefined),
    // Never run: nothing was made, and nothing is started to close it.
    close: async () => (ready ? (await ready.catch(() => undefined))?.close() : undefined),
  };
}

async function executorFor(runtime: RuntimeName, options: OciExecutorOptions, persisted: PersistedSeccomp | undefined, crunPath: string | undefined): Promise<OciExecutor> {
  // wharf's launcher has no state of its own; crun compiles its seccomp filters.
  const oci: OciRuntimeName = runtime === 'wharf' ? 'crun' : runtime;
  const rootDir = join(options.stateDir, oci);
  // Synchronous: two dirs on the state dir's tmpfs, where a thread-pool round trip waited behind
  // the file step the executor is made beside, and the first RUN then waited for it (~5 ms).
  mkdirSync(rootDir, { recursive: true, mode: 0o700 });
  mkdirSync(join(options.stateDir, 'bundles'), { recursive: true, mode: 0o700 });
  const backend = { runtime: oci, rootDir };
  const networks = createNetworkPool(() => openSlirpNetwork(options.slirp4netns ? { slirp4netns: options.slirp4netns } : {}), options.spareNetworks ?? 0);
  // The own launcher's RUNs are forks of one server, started with the executor (launch-server.ts);
  // a server that ended is replaced at the next run.
  let server = runtime === 'wharf' ? startLaunchServer(nativeContainer()!) : undefined;
  const launchServer = () => (server?.alive ? server : (server = startLaunchServer(nativeContainer()!)));
  const cgroups = cgroupPool();
  return {
    runtime,
    cleanupStale: async () => {
      // Cgroup dirs of this state dir's containers go with the sweep of dead wharf processes.
      const ids = await listContainers(backend);
      for (const id of ids.filter((x) => x.startsWith('wharf-'))) await runtimeCommand(backend, ['delete', '--force', id]);
      await rm(join(options.stateDir, 'bundles'), { recursive: true, force: true });
      await mkdir(join(options.stateDir, 'bundles'), { recursive: true, mode: 0o700 });
    },
    run: (spec, rootfs, mounts, stdio, signal) =>
      runContainer({ runtime, oci, program: oci === 'crun' ? (crunPath ?? oci) : oci, launched: launched(runtime), rootDir, bundlesDir: join(options.stateDir, 'bundles'), resolvConf: options.resolvConf, networks, seccompCache: persisted, launchServer, cgroups },
        spec, rootfs, mounts, stdio, signal),
    close: async () => {
      server?.close();
      await Promise.all([networks.close(), cgroups.close()]);
    },
    prepare: () => undefined, // made ready when created (its launch server is started then)
  };
}

interface Backend {
  readonly runtime: RuntimeName;
  /** The OCI runtime of `kill`, `delete` and the seccomp compilation (crun for `wharf`). */
  readonly oci: OciRuntimeName;
  /**
   * What the launcher execs: crun's path when the search found it. The launcher runs a path from a
   * sealed copy, so crun does not copy and exec itself again (wharf_launch.c says why).
   */
  readonly program: string;
  /** crun through the launcher, with cgroups made by wharf (launcher.ts). */
  readonly launched: boolean;
  readonly rootDir: string;
  readonly bundlesDir: string;
  readonly resolvConf: string | undefined;
  /** Where RUNs on network `default` get their namespace. */
  readonly networks: NetworkPool;
  /** Where compiled seccomp filters are kept across processes (crun only). */
  readonly seccompCache: PersistedSeccomp | undefined;
  /** The server the own launcher's runs are forked from (`wharf` only). */
  readonly launchServer: () => LaunchServer;
  /** Where a launched step's cgroups come from, and go back to. */
  readonly cgroups: CgroupPool;
}

async function runContainer(
  be: Backend, spec: ProcessSpec, rootfs: string, mounts: readonly MountSpec[], stdio: Stdio, signal?: AbortSignal,
): Promise<ExitStatus> {
  if (signal?.aborted) throw aborted(signal);
  const id = `wharf-${randomHex(8)}`;
  const bundle = join(be.bundlesDir, id);
  // The bundle's few small files are written synchronously: through the thread pool they were a
  // dozen round trips per RUN.
  mkdirSync(bundle, { mode: 0o700 });
  let stubs: Awaited<ReturnType<typeof recordStubs>> = [];
  let started = false;
  let net: NetworkNamespace | undefined;
  let cgroups: RunCgroups | undefined;
  let compiling: Promise<void> | undefined;
  try {
    const user = await resolveUser(rootfs, spec.user);
    const hostname = spec.hostname ?? 'wharf';
    const etcFiles = { hosts: join(bundle, 'hosts'), resolvConf: join(bundle, 'resolv.conf'), hostname: join(bundle, 'hostname') };
    writeFileSync(etcFiles.hosts, hostsFile(hostname, spec.extraHosts));
    const resolv = be.resolvConf ?? hostResolvConf();
    writeFileSync(etcFiles.resolvConf, spec.network === 'default' ? containerResolvConf(resolv) : resolv);
    writeFileSync(etcFiles.hostname, hostname + '\n');
    if (spec.network === 'default') net = await be.networks.take();
    const config = buildOciConfig({
      spec, user, rootfs, mounts, etcFiles, ...(net ? { netnsPath: net.path } : {}),
      ...(be.launched ? {} : { cgroupsPath: `/${id}` }),
      remountCgroupTmpfs: hostCgroupMode() === 'legacy',
      ...(spec.security === 'insecure' ? { hostCapabilities: ownCapabilities() } : {}),
    });
    const destinations = (config['mounts'] as { destination: string }[])
      .map((m) => m.destination)
      .filter((d) => !/^\/(dev|proc|sys)\/./.test(d)); // these live on the /dev, /proc, /sys mounts
    stubs = await recordStubs(rootfs, destinations, spec.cwd);
    const seccomp = (config['linux'] as { seccomp?: unknown }).seccomp;
    let seccompFile: string | undefined;
    if (be.oci === 'crun' && seccomp) {
      const profile = JSON.stringify(seccomp);
      const pre = precompiledSeccomp(profile, () => compileSeccomp(be, seccomp), be.seccompCache);
      if (pre.bpf && be.runtime === 'crun') config['annotations'] = { [SECCOMP_BPF_ANNOTATION]: pre.bpf };
      compiling = pre.compiling;
      if (be.runtime === 'wharf') {
        // The launcher loads the compiled filter itself: it waits for the compilation.
        const bpf = pre.bpf ?? (await compiledSeccomp(profile));
        if (bpf === undefined) throw new PlanUnsupported('its seccomp profile: crun could not compile it');
        seccompFile = join(bundle, 'seccomp.bpf');
        writeFileSync(seccompFile, Buffer.from(bpf, 'base64'));
      }
    }
    if (be.runtime !== 'wharf') writeFileSync(join(bundle, 'config.json'), ociConfigJson(config));

    if (signal?.aborted) throw aborted(signal);
    if (be.launched) {
      cgroups = be.cgroups.take({
        ...(spec.limits?.pids !== undefined ? { pids: spec.limits.pids } : {}),
        ...(spec.limits?.memoryBytes !== undefined ? { memoryBytes: spec.limits.memoryBytes } : {}),
        allDevices: spec.security === 'insecure',
      }, () => runCgroupName(id));
    }
    const plan = join(bundle, 'plan');
    if (be.runtime === 'wharf') writeFileSync(plan, containerPlan(config, { tasksFiles: cgroups?.tasksFiles ?? [], ...(seccompFile ? { seccompFile } : {}) }));
    started = true;
    const seen: string[] = [];
    const status = await runAndWait(be, id, bundle, cgroups?.tasksFiles ?? [], {
      stdout: stdio.stdout,
      stderr: (line) => {
        if (seen.push(line) > 20) seen.shift();
        stdio.stderr?.(line);
      },
    }, signal);
    if (signal?.aborted) throw aborted(signal);
    if (status.exitCode !== 0 && be.runtime === 'wharf') {
      // Written only when the container was not set up: the step's program never ran.
      const failed = readIfThere(`${plan}.failed`);
      if (failed !== undefined) throw new WharfUnusable(failed.replace(/^wharf-container: /, '').trim());
    } else if (status.exitCode !== 0) {
      // The runtime's own failure (bad cwd, missing executable) is in its log; say it unless the
      // runtime already printed it on stderr.
      const log = join(bundle, 'runtime.log');
      const why = await runtimeError(log);
      if (be.runtime === 'crun') {
        // What the probe rules out: crun refusing the host's cgroups, or the launcher failing
        // before crun started (crun makes its log file first thing).
        if (why?.includes('hybrid mode')) throw new CrunUnusable(why);
        const launch = seen.find((l) => l.startsWith('wharf-launch:'));
        if (be.launched && status.exitCode === 125 && launch && !existsSync(log)) throw new CrunUnusable(launch);
      }
      if (why && !seen.some((l) => l.includes(why))) stdio.stderr?.(`${be.runtime}: ${why}`);
    }
    return status;
  } finally {
    // A foreground `run` removes its container when the init exits; its state dir (`<root>/<id>`)
    // is left only when the runtime itself was killed or failed, so only then is a `delete` (one
    // more runtime process, 10–30 ms per RUN) needed.
    if (started && be.runtime !== 'wharf' && existsSync(join(be.rootDir, id))) await runtimeCommand({ runtime: be.oci, rootDir: be.rootDir }, ['delete', '--force', id]);
    // Not awaited: network.ts says why.
    void net?.close();
    await cgroups?.remove();
    await compiling;
    await removeStubs(stubs);
    rmSync(bundle, { recursive: true, force: true });
  }
}

/**
 * crun's compilation of a seccomp profile (seccomp-cache.ts): `create` of a container that is
 * never started (its program, an empty file, is only checked for), then its state dir's
 * seccomp.bpf is read and the container deleted.
 */
async function compileSeccomp(be: Backend, seccomp: unknown): Promise<Buffer | undefined> {
  const id = `wharf-seccomp-${randomHex(6)}`;
  const bundle = join(be.bundlesDir, id);
  try {
    await mkdir(join(bundle, 'rootfs'), { recursive: true });
    await writeFile(join(bundle, 'rootfs', 'x'), '', { mode: 0o755 });
    await writeFile(join(bundle, 'config.json'), JSON.stringify({
      ociVersion: '1.0.2',
      process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/x'], cwd: '/' },
      root: { path: 'rootfs' },
      mounts: [{ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755', 'size=64k'] }],
      linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }], seccomp },
    }));
    const args = ['--root', be.rootDir, 'create', '--bundle', bundle, id];
    const [program, ...argv] = be.launched ? launchCommand([], [be.program, '--cgroup-manager=disabled', ...args]) : [be.oci, ...args];
    const ok = await new Promise<boolean>((resolve) => {
      const c = spawn(program!, argv, { stdio: 'ignore', cwd: bundle });
      c.on('error', () => resolve(false));
      c.on('close', (code) => resolve(code === 0));
    });
    return ok ? await readFile(join(be.rootDir, id, 'seccomp.bpf')) : undefined;
  } finally {
    if (existsSync(join(be.rootDir, id))) await runtimeCommand({ runtime: be.oci, rootDir: be.rootDir }, ['delete', '--force', id]);
    await rm(bundle, { recursive: true, force: true });
  }
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

let ownCaps: string[] | undefined;
/** This process's bounding set (read once): the most an insecure step can be given. */
function ownCapabilities(): string[] {
  if (ownCaps === undefined) {
    const status = readFileSync('/proc/self/status', 'utf8');
    ownCaps = capabilitiesOfMask(/^CapBnd:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0');
  }
  return ownCaps;
}

let resolvConf: string | undefined;
/** The host's /etc/resolv.conf, read once per process ('' when there is none). */
function hostResolvConf(): string {
  if (resolvConf === undefined) {
    try {
      resolvConf = readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      resolvConf = '';
    }
  }
  return resolvConf;
}

function runAndWait(be: Backend, id: string, bundle: string, tasksFiles: readonly string[], stdio: Stdio, signal?: AbortSignal): Promise<ExitStatus> {
  if (be.runtime === 'wharf') return runOnServer(be.launchServer(), id, join(bundle, 'plan'), stdio, signal);
  const args = [
    '--root', be.rootDir, '--log', join(bundle, 'runtime.log'), '--log-format', 'json',
    'run', '--bundle', bundle, id,
  ];
  const [program, ...argv] = be.launched
    ? launchCommand(tasksFiles, [be.program, '--cgroup-manager=disabled', ...args])
    : [be.oci, ...args];
  const child = spawn(program!, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: bundle });

  let killing: Promise<void> | undefined;
  const onAbort = (): void => {
    // Kill the container, not the runtime process: `run` in the foreground forwards signals and
    // removes the container when its init dies. Until the container exists `kill` fails, so retry
    // while the runtime is still up.
    killing ??= (async () => {
      while (child.exitCode === null && child.signalCode === null) {
        await runtimeCommand({ runtime: be.oci, rootDir: be.rootDir }, ['kill', id, 'KILL']);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const out = forEachLine(child.stdout, stdio.stdout);
  const err = forEachLine(child.stderr, stdio.stderr);
  const exited = new Promise<ExitStatus>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT'
        ? new UserError('runtime.missing', `${program} is not installed`, `install it: apt-get install ${be.runtime}`)
        : e);
    });
    child.on('close', (code, sig) => resolve({ exitCode: code ?? 128 + signalNumber(sig) }));
  });
  return Promise.all([exited, out, err]).then(async ([status]) => {
    await killing;
    return status;
  }).finally(() => signal?.removeEventListener('abort', onAbort));
}

/** The own launcher's run, forked by the launch server; an abort tells it to end until it has. */
async function runOnServer(server: LaunchServer, id: string, plan: string, stdio: Stdio, signal?: AbortSignal): Promise<ExitStatus> {
  const job = server.run(id, plan, stdio);
  let done = false;
  const onAbort = (): void => {
    // wharf-container kills its container when it is told to end (SIGTERM); until it has set up
    // its handler a SIGTERM may come too early, so it is said again.
    const again = (): void => {
      if (done) return;
      job.kill();
      setTimeout(again, 50).unref();
    };
    again();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  try {
    return { exitCode: await job.exited };
  } finally {
    done = true;
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Runs a short runtime command (kill, delete); its failure is reported as false, never thrown. */
export function runtimeCommand(be: { runtime: OciRuntimeName; rootDir: string }, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn(be.runtime, ['--root', be.rootDir, ...args], { stdio: 'ignore' });
    c.on('error', () => resolve(false));
    c.on('close', (code) => resolve(code === 0));
  });
}

function listContainers(be: { runtime: OciRuntimeName; rootDir: string }): Promise<string[]> {
  return new Promise((resolve) => {
    let out = '';
    const c = spawn(be.runtime, ['--root', be.rootDir, 'list', '-q'], { stdio: ['ignore', 'pipe', 'ignore'] });
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', () => resolve([]));
    c.on('close', () => resolve(out.split('\n').map((l) => l.trim()).filter(Boolean)));
  });
}

async function runtimeError(logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) errors.push(entry.msg);
    } catch {
      // not a JSON line (crun writes plain text on some errors)
      if (line.trim()) errors.push(line.trim());
    }
  }
  return errors.at(-1);
}

function aborted(signal: AbortSignal): UserError {
  const e = new UserError('runtime.aborted', 'the command was cancelled');
  (e as { cause?: unknown }).cause = signal.reason;
  return e;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
function signalNumber(sig: NodeJS.Signals | null): number {
  return sig ? (SIGNALS[sig] ?? 0) : 0;
}

/** Probes of this process, by probe key (a key of its own where there is none). */
const detected = new Map<string, Promise<{ works: boolean; definite: boolean }>>();

/**
 * crun starts a container in about a third of runc's time. On a host with cgroup v1 controllers it
 * refuses hybrid cgroups as it stands, so there it runs through the launcher (launcher.ts) with the
 * cgroups made by wharf. Ask it once, the way RUN steps will start it: run a probe container whose
 * program does not exist. If crun got as far as looking for the program, its namespaces, the
 * cgroup mount and (through the launcher) the cgroups worked and crun is usable; anything else →
 * runc.
 */
export async function detectOciRuntime(stateDir: string, searchPath?: string, cache?: HostCache): Promise<OciRuntimeName> {
  return (await chooseRuntime(stateDir, searchPath, cache)).runtime;
}

/**
 * The probe's verdict: kept in `cache` by the key of crun's and the launcher's binaries (with
 * `searchPath` naming crun) and the boot (probe-verdict.ts), else probed once per process and key.
 * `kept`: read from the cache. `fresh`: probe again whatever is known. `crunPath`: where
 * `searchPath` has crun, when the caller looked already.
 */
async function chooseRuntime(
  stateDir: string, searchPath?: string, cache?: HostCache, fresh = false,
  crunPath = searchPath !== undefined ? findOnPath('crun', searchPath) : undefined,
): Promise<{ runtime: OciRuntimeName; kept: boolean }> {
  if (searchPath !== undefined && crunPath === undefined) return { runtime: 'runc', kept: false };
  const viaLauncher = launched('crun');
  const key = crunPath !== undefined ? probeKey(crunPath, viaLauncher ? nativeLauncher() : undefined, hostCgroupMode()) : undefined;
  if (cache && key && !fresh) {
    const kept = readVerdict(cache, key);
    if (kept) return { runtime: kept, kept: true };
  }
  const memo = key ?? '';
  let probe = fresh ? undefined : detected.get(memo);
  if (!probe) detected.set(memo, (probe = probeCrun(stateDir, crunPath ?? 'crun')));
  const { works, definite } = await probe;
  if (cache && key && definite) writeVerdict(cache, key, works ? 'crun' : 'runc');
  return { runtime: works ? 'crun' : 'runc', kept: false };
}

/** Whether an executable `name` is in one of the dirs of `searchPath`. */
export function onPath(name: string, searchPath: string): boolean {
  return findOnPath(name, searchPath) !== undefined;
}

/** The first executable `name` in the dirs of `searchPath` (as a spawn of `name` finds it). */
function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(':')) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      if (statSync(join(dir, name)).isFile()) return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

async function probeCrun(stateDir: string, crun: string): Promise<{ works: boolean; definite: boolean }> {
  const id = `wharf-probe-${randomHex(6)}`;
  const bundle = join(stateDir, 'bundles', id);
  const rootDir = join(stateDir, 'crun');
  const program = '/wharf-probe-missing-program';
  const viaLauncher = launched('crun');
  let ran = false;
  let cgroups: RunCgroups | undefined;
  try {
    await mkdir(join(bundle, 'rootfs'), { recursive: true });
    await mkdir(rootDir, { recursive: true, mode: 0o700 });
    await writeFile(join(bundle, 'config.json'), JSON.stringify({
      ociVersion: '1.0.2',
      process: { terminal: false, user: { uid: 0, gid: 0 }, args: [program], cwd: '/' },
      root: { path: 'rootfs' },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755', 'size=64k'] },
        { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      ],
      linux: {
        namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'cgroup' }],
        ...(viaLauncher ? {} : { cgroupsPath: `/${id}`, resources: { pids: { limit: 64 } } }),
      },
    }));
    if (viaLauncher) cgroups = createRunCgroups(runCgroupName(id), { pids: 64, allDevices: false });
    const args = ['--root', rootDir, 'run', '--bundle', bundle, id];
    const [cmd, ...argv] = viaLauncher ? launchCommand(cgroups!.tasksFiles, [crun, '--cgroup-manager=disabled', ...args]) : [crun, ...args];
    const stderr = await new Promise<string | undefined>((resolve) => {
      let text = '';
      const c = spawn(cmd!, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      c.stderr.on('data', (d: Buffer) => (text += d.toString()));
      c.on('error', () => resolve(undefined));
      c.on('close', () => resolve(text));
    });
    ran = stderr !== undefined;
    const works = ran && stderr!.includes(program) && !stderr!.includes('hybrid mode') && !stderr!.includes('wharf-launch');
    // Kept (probe-verdict.ts): a pass, or crun's refusal of the host's cgroups. Any other failure
    // may be passing (a fork failing under load): not kept, so the next process probes again.
    return { works, definite: works || (ran && stderr!.includes('hybrid mode')) };
  } catch {
    return { works: false, definite: false }; // the cgroups could not be made: runc makes its own
  } finally {
    // Without crun installed there is no container to delete (and a spawn is a fork of Node).
    if (ran && existsSync(join(rootDir, id))) await runtimeCommand({ runtime: 'crun', rootDir }, ['delete', '--force', id]);
    await cgroups?.remove();
    await rm(bundle, { recursive: true, force: true });
  }
}

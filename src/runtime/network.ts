/**
 * The `default` network of a RUN: a network namespace of its own whose outbound traffic leaves
 * through slirp4netns, a user-mode TCP/IP stack that turns the namespace's packets into ordinary
 * sockets of the host (as rootless docker, podman and BuildKit do).
 *
 *   const net = await openSlirpNetwork({ slirp4netns })   namespace ready, with an address and a route
 *   config.json joins net.path (a descriptor of this process); after the run: net.close()
 *
 * Why slirp4netns, not a veth pair with an nftables masquerade: nothing on the host changes (no
 * interface, address range, forwarding sysctl or firewall rule to pick, collide with, or leave
 * behind when wharf is killed), its addresses are fixed (10.0.2.100, gateway 10.0.2.2), and
 * `--disable-host-loopback` keeps the host's 127.0.0.1 services out of reach. The price is
 * throughput (a user-mode stack) and a process per RUN (README, "Network"); network-pool.ts opens
 * them ahead of the RUNs that use them.
 *
 * The namespace is made by a thread of the native addon, or without it by a short-lived holder
 * (`unshare --net`), and then kept by a descriptor wharf holds (and, while the step runs, by its
 * processes); slirp4netns joins it by that path and ends with wharf, when its `--exit-fd` closes,
 * if not killed before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { nativeAddon, UserError } from '../util/index.js';

export interface NetworkNamespace {
  /** The namespace, for config.json's `linux.namespaces` (`/proc/<wharf>/fd/<n>`, valid until close). */
  readonly path: string;
  /**
   * Closes the descriptor and kills slirp4netns (and the holder, if still there); resolves once
   * both are gone (never rejects); safe to call twice. slirp4netns takes ~20 ms to exit (closing
   * its tap device waits for the kernel's RCU grace period), so a RUN does not wait for it.
   */
  close(): Promise<void>;
}

export interface SlirpOptions {
  /** The slirp4netns program (default: found in PATH). */
  readonly slirp4netns?: string;
}

const MISSING_HINT = 'install it (apt-get install slirp4netns), or build with --network none (no network) or --network host';

/** A fresh network namespace with outbound NAT; fails with a `runtime.network-*` UserError. */
export async function openSlirpNetwork(opts: SlirpOptions = {}): Promise<NetworkNamespace> {
  const { fd: nsFd, holderGone } = await newNamespace();
  const path = `/proc/${process.pid}/fd/${nsFd}`;
  const program = opts.slirp4netns ?? 'slirp4netns';
  // No --enable-sandbox: its private mount namespace holds copies of every mount the host has at
  // that instant (a dockerd's BuildKit rootfs and context mounts among them) while it sets up, and
  // a dockerd building beside wharf then found /bin/sh or its context files gone, intermittently
  // (test/peers/docker.test.ts). --enable-seccomp still confines its system calls.
  const slirp = spawn(program, [
    '--configure', '--mtu=65520', '--disable-host-loopback', '--enable-seccomp',
    '--ready-fd=3', '--exit-fd=4', '--netns-type=path', path, 'tap0',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const stopSlirp = () => stop(slirp, () => slirp.kill('SIGKILL'));
  try {
    await firstOutput(slirp, slirp.stdio[3] as NodeJS.ReadableStream, program, 'slirp4netns');
  } catch (e) {
    closeSync(nsFd);
    await Promise.all([stopSlirp(), holderGone]);
    throw e;
  }
  let gone: Promise<void> | undefined;
  const close = () => {
    closeSync(nsFd);
    return Promise.all([stopSlirp(), holderGone]).then(() => undefined);
  };
  return { path, close: () => (gone ??= close()) };
}

/**
 * A descriptor of a new network namespace, and when its holder is gone: made by a thread of the
 * native addon (under a millisecond, no process) or, without it, by a holder process
 * (`unshare --net`: two programs started, 5–10 ms).
 */
async function newNamespace(): Promise<{ fd: number; holderGone: Promise<void> }> {
  const native = nativeAddon()?.newNetNamespace;
  if (native) {
    try {
      return { fd: native(), holderGone: Promise.resolve() };
    } catch {
      // e.g. refused to the addon's thread: the holder says why, should it fail as well
    }
  }
  // `cat` keeps the holder up until its namespace is opened (and ends with wharf's end of the pipe).
  const holder = spawn('unshare', ['--net', '--', 'sh', '-c', 'echo; exec cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stopHolder = () => stop(holder, () => holder.kill('SIGKILL'));
  let fd: number;
  try {
    // The line comes once unshare(2) is done: before that /proc/<pid>/ns/net is the host's own.
    await firstOutput(holder, holder.stdout!, 'unshare', 'util-linux');
    // runc and slirp4netns join through a descriptor of ours, not /proc/<holder>: should the
    // holder die and its pid be reused, they could otherwise join some other process's namespace.
    fd = openSync(`/proc/${holder.pid}/ns/net`, 'r');
  } catch (e) {
    await stopHolder();
    if (e instanceof UserError) throw e;
    throw new UserError('runtime.network-failed', `could not open the RUN's network namespace: ${(e as Error).message}`, 'build with --network none or --network host to do without it');
  }
  // The descriptor keeps the namespace alive from here on: the holder has done its part.
  return { fd, holderGone: stopHolder() };
}

/** Resolves when `out` yields its first bytes; rejects with the program's stderr if it ends first. */
function firstOutput(child: ChildProcess, out: NodeJS.ReadableStream, program: string, pkg: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    out.once('data', () => resolve());
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT'
        ? new UserError('runtime.network-missing', `the default network of RUN steps needs ${program} (Debian package ${pkg}), which is not installed`, MISSING_HINT)
        : new UserError('runtime.network-failed', `could not start ${program} for the RUN's network: ${e.message}`, MISSING_HINT));
    });
    child.once('exit', (code, sig) => {
      const why = stderr.trim().split('\n').filter((l) => !/^(sent|received) tapfd/.test(l)).slice(-3).join('; ');
      reject(new UserError('runtime.network-failed', `${program} failed to set up the RUN's network (${sig ?? `exit ${code}`})${why ? `: ${why}` : ''}`,
        'build with --network none or --network host to do without it'));
    });
  });
}

/** Asks a child to end (`end`), and kills it after a grace period; resolves once it is gone. */
function stop(child: ChildProcess, end: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    end();
  });
}

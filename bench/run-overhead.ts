// Per-RUN overhead of wharf (overlay mount + container start + unmount) for `true`, with runc, with
// crun (through the launcher on a cgroup v1 host) and with wharf's own launcher (wharf-container),
// against a bare `runc run` of `true` on the same rootfs, interleaved in the same process so all
// see the same machine load. Needs root.
// Usage: node dist/bench/run-overhead.js [iterations]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { useShippedAddon } from './addon.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createOciExecutor } from '../src/runtime/index.js';
import { mountOverlay } from '../src/snapshot/index.js';
import { sharedTmpfs } from '../src/api/runtime-state.js';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';

const iterations = Number(process.argv[2] ?? 50);
// Measure what ships: the mount and umount system calls through the addon the CLI loads.
useShippedAddon();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function exec(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', reject);
    c.on('close', (code) => resolve(code ?? 1));
  });
}

/** The plainest bundle runc accepts: `runc spec` defaults, no terminal, running /bin/true. */
function bareBundle(dir: string, rootfs: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/true'], env: ['PATH=/bin'], cwd: '/' },
    root: { path: rootfs },
    hostname: 'bare',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    ],
    linux: { namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }] },
  }));
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'wharf-bench-run-'));
  const cleanup = [tmp];
  try {
    const rootfs = join(tmp, 'rootfs');
    makeBusyboxRootfs(rootfs);
    // Runtime state where `wharf build` keeps it (the host's tmpfs, else beside the rest), for both.
    const state = mkdtempSync(join(sharedTmpfs() ?? tmp, 'wharf-bench-run-state-'));
    cleanup.push(state);
    const bareRoot = join(state, 'bare');
    bareBundle(join(tmp, 'bare-bundle'), rootfs);
    const runc = await createOciExecutor({ stateDir: join(state, 'wharf-runc'), runtime: 'runc' });
    const crun = await createOciExecutor({ stateDir: join(state, 'wharf-crun'), runtime: 'crun' });
    // wharf's own launcher where this host can run it (crun installed, v1 controllers, the program built).
    const own = await createOciExecutor({ stateDir: join(state, 'wharf-own'), runtime: 'wharf' }).catch((e: Error) => (console.error(`no own launcher: ${e.message}`), undefined));

    const bare: number[] = [];
    const times = new Map<Awaited<ReturnType<typeof createOciExecutor>>, number[]>([[runc, []], [crun, []], ...(own ? [[own, []] as [typeof runc, number[]]] : [])]);
    for (let i = 0; i < iterations + 2; i++) {
      let t = performance.now();
      const code = await exec('runc', ['--root', bareRoot, 'run', '--bundle', join(tmp, 'bare-bundle'), `bare-${i}`]);
      if (code !== 0) throw new Error(`bare runc exited ${code}`);
      if (i >= 2) bare.push(performance.now() - t); // the first two warm caches

      for (const [executor, ms] of times) {
        t = performance.now();
        const upper = join(tmp, `upper-${i}`);
        const m = await mountOverlay({ lowers: [rootfs], upper, target: join(tmp, `merged-${i}`), linkDir: join(tmp, 'links') });
        try {
          // The default pids limit of a build's RUN, so the step gets its cgroups as in a build.
          const status = await executor.run({ args: ['/bin/true'], env: [], cwd: '/', network: 'none', limits: { pids: 4096 } }, m.target, [], {});
          if (status.exitCode !== 0) throw new Error(`wharf run (${executor.runtime}) exited ${status.exitCode}`);
        } finally {
          await m.unmount();
        }
        if (i >= 2) ms.push(performance.now() - t);
        rmSync(upper, { recursive: true, force: true });
      }
    }
    const b = median(bare);
    const w = median(times.get(runc)!);
    const c = median(times.get(crun)!);
    const o = own ? median(times.get(own)!) : NaN;
    console.log(JSON.stringify({
      bench: 'run-overhead', iterations, runtime: runc.runtime, second: crun.runtime,
      bareRuncMedianMs: +b.toFixed(1), wharfRunMedianMs: +w.toFixed(1), ratio: +(w / b).toFixed(2),
      wharfCrunMedianMs: +c.toFixed(1), crunRatio: +(c / b).toFixed(2),
      wharfOwnMedianMs: +o.toFixed(1), ownRatio: +(o / b).toFixed(2),
    }));
  } finally {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  }
}

await main();

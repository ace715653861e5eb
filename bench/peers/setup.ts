/**
 * Puts the peers in place for a benchmark run: installs them from Debian when missing, starts a
 * private dockerd (its own socket and data root, stopped by PID at the end), makes ONE busybox
 * rootfs, imports it into wharf and hands wharf's `save` archive to docker and buildah, so all
 * builders start from the same base image.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRootfs } from '../../test/helpers/busybox.js';
import { DOCKER, startDockerd } from '../../test/helpers/dockerd.js';
import { BASE, WHARF_ENV_UNSET, buildahBuilder, dockerBuilder, wharfBuilder, wharfServeBuilder, type Builder } from './builders.js';
import { must, onCleanup, run, unmountUnder } from './procs.js';

/** The project root (this file runs compiled from dist/bench/peers). */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const wharfBin = join(projectRoot, 'bin', 'wharf.js');

export const builderNames = ['docker-classic', 'buildkit', 'buildah', 'wharf', 'wharf-serve'] as const;

export interface PeerSetup {
  /** A temp dir for scenarios and stores; removed at cleanup. */
  readonly work: string;
  /** The busybox rootfs every builder's base image is made of (for the bare-command floor). */
  readonly rootfs: string;
  /** The builders asked for, each loaded with the base, or with the reason it cannot run. */
  readonly builders: { builder: Builder; unavailable: string | null }[];
  readonly versions: Record<string, string>;
}

export async function setupPeers(wanted: readonly string[], measuredWharf: string, log: (s: string) => void, keepEnv = false): Promise<PeerSetup> {
  const needs = [...(wanted.some((b) => b.startsWith('docker') || b === 'buildkit' || b === 'wharf-serve') ? ['docker.io'] : []), ...(wanted.includes('buildah') ? ['buildah'] : [])];
  const ensure = spawnSync('bash', [join(projectRoot, 'scripts', 'ensure-host-packages.sh'), ...needs], { stdio: 'inherit' });
  if (ensure.status !== 0) throw new Error('installing host packages failed');

  const work = await mkdtemp(join(tmpdir(), 'wharf-bench-peers-'));
  onCleanup('work dir', async () => {
    unmountUnder(work);
    await rm(work, { recursive: true, force: true });
  });

  log('setup: busybox base rootfs');
  const rootfs = join(work, 'rootfs');
  makeBusyboxRootfs(rootfs);
  const rootfsTar = join(work, 'rootfs.tar');
  await must('tar', ['-C', rootfs, '-cf', rootfsTar, '.']);
  // wharf import makes the image; its save archive is what docker and buildah load, so the base
  // has the same image ID everywhere. A separate root keeps it out of the measured store.
  const baseRoot = join(work, 'base-store');
  await must(process.execPath, [wharfBin, '--root', baseRoot, 'import', rootfsTar, BASE]);
  const baseArchive = join(work, 'base.tar');
  await must(process.execPath, [wharfBin, '--root', baseRoot, 'save', '-o', baseArchive, BASE]);

  let socket: string | null = null;
  if (wanted.some((b) => b.startsWith('docker') || b === 'buildkit') && existsSync('/usr/sbin/dockerd')) {
    log('setup: private dockerd');
    const d = await startDockerd();
    onCleanup('dockerd', () => d.stop());
    socket = d.socket;
  }
  await mkdir(join(work, 'buildah'), { recursive: true });
  const all: Record<string, Builder> = {
    'docker-classic': dockerBuilder('docker-classic', () => socket, false),
    buildkit: dockerBuilder('buildkit', () => socket, true),
    buildah: buildahBuilder(join(work, 'buildah')),
    wharf: wharfBuilder(measuredWharf, join(work, 'wharf-store'), keepEnv ? {} : WHARF_ENV_UNSET),
  };
  if (wanted.includes('wharf-serve')) {
    const served = wharfServeBuilder(measuredWharf, join(work, 'wharf-serve-store'));
    onCleanup('wharf serve', () => served.stop());
    all['wharf-serve'] = served;
  }
  const builders: PeerSetup['builders'] = [];
  for (const name of wanted) {
    const builder = all[name];
    if (!builder) throw new Error(`unknown builder ${name}; known: ${builderNames.join(', ')}`);
    let unavailable = await builder.unavailable();
    if (!unavailable) {
      try {
        await builder.loadBase(baseArchive, rootfsTar);
      } catch (e) {
        unavailable = `base import failed: ${(e as Error).message.split('\n')[0]}`;
      }
    }
    log(`setup: ${name}: ${unavailable ?? 'ready'}`);
    builders.push({ builder, unavailable });
  }
  return { work, rootfs, builders, versions: await versions(socket, measuredWharf) };
}

async function versions(socket: string | null, measuredWharf: string): Promise<Record<string, string>> {
  const first = async (cmd: string, args: string[]) => {
    const r = await run(cmd, args);
    return r.status === 0 ? r.stdout.trim().split('\n')[0]! : 'n/a';
  };
  const git = await first('git', ['-C', join(dirname(measuredWharf), '..'), 'log', '-1', '--format=%h %s']);
  return {
    docker: socket ? await first(DOCKER, ['-H', `unix://${socket}`, 'version', '--format', '{{.Server.Version}}']) : 'n/a',
    buildah: await first('buildah', ['--version']),
    node: process.version,
    wharf: git === 'n/a' ? measuredWharf : git.slice(0, 80),
  };
}

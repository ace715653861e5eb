import { readFileSync } from 'node:fs';
import { formatPlatform, hostPlatform, UserError, type Platform } from '../util/index.js';
import { parsePlatform } from './build-args.js';

/** GOARCH → the name binfmt_misc handlers (qemu-user-static, tonistiigi/binfmt) register under. */
const QEMU_NAME: Readonly<Record<string, string>> = {
  amd64: 'x86_64', arm64: 'aarch64', arm: 'arm', '386': 'i386', ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64le: 'mips64el',
};

/** Architectures a host runs natively besides its own (the 32-bit mode of its CPU). */
const NATIVE_EXTRA: Readonly<Record<string, readonly string[]>> = { amd64: ['386'] };

/**
 * `--platform` of a build: RUN steps execute on this machine, so only a platform its kernel can run
 * is accepted (the host's, a compatible 32-bit one, or one with an enabled binfmt_misc handler).
 */
export function runnablePlatform(text: string, host: Platform = hostPlatform(), binfmtDir = '/proc/sys/fs/binfmt_misc'): Platform {
  const p = parsePlatform(text);
  if (p.os !== 'linux') throw new UserError('cli.bad-platform', `--platform ${text}: wharf builds linux images only`, `use linux/${host.architecture}`);
  const arch = p.architecture;
  if (arch === host.architecture || NATIVE_EXTRA[host.architecture]?.includes(arch)) return p;
  const qemu = QEMU_NAME[arch];
  if (qemu && binfmtEnabled(`${binfmtDir}/qemu-${qemu}`)) return p;
  throw new UserError(
    'cli.platform-unrunnable',
    `--platform ${formatPlatform(p)}: this machine (${formatPlatform(host)}) cannot run ${arch} programs, so RUN steps could not execute`,
    `build for ${formatPlatform(host)} (leave out --platform), or register an emulator for ${arch} with binfmt_misc (qemu-user-static provides qemu-${qemu ?? arch})`,
  );
}

function binfmtEnabled(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').startsWith('enabled');
  } catch {
    return false;
  }
}

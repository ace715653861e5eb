import { defaultSeccompProfile, type SeccompFilter, type SeccompProfile, type SeccompRule } from './seccomp-default.js';

/**
 * The runtime-spec `linux.seccomp` for one container, from a profile and what the container is:
 * its capabilities (bounding set), the host's architecture and kernel. Filtering follows moby's
 * `setupSeccomp` so the filter is the one `docker run` would install for the same capabilities.
 */
export interface SeccompTarget {
  readonly capabilities: readonly string[];
  /** Node's `process.arch` (`x64`, `arm64`, ...). */
  readonly nodeArch: string;
  /** `os.release()`, e.g. `6.1.0-18-amd64`. */
  readonly kernelRelease: string;
}

/** Node arch → (libseccomp/GOARCH-style name used in the profile's rules, native seccomp arch). */
const ARCHES: Readonly<Record<string, readonly [string, string]>> = {
  x64: ['amd64', 'SCMP_ARCH_X86_64'],
  ia32: ['x86', 'SCMP_ARCH_X86'],
  arm64: ['arm64', 'SCMP_ARCH_AARCH64'],
  arm: ['arm', 'SCMP_ARCH_ARM'],
  ppc64: ['ppc64le', 'SCMP_ARCH_PPC64LE'],
  s390x: ['s390x', 'SCMP_ARCH_S390X'],
  riscv64: ['riscv64', 'SCMP_ARCH_RISCV64'],
  mips64el: ['mipsel64', 'SCMP_ARCH_MIPSEL64'],
};

type Json = Record<string, unknown>;

export function seccompConfig(target: SeccompTarget, profile: SeccompProfile = defaultSeccompProfile()): Json {
  const [arch, native] = ARCHES[target.nodeArch] ?? [target.nodeArch, undefined];
  const caps = new Set(target.capabilities);
  const kernel = parseKernel(target.kernelRelease);
  const atLeast = (v: string) => compareKernel(kernel, parseKernel(v)) >= 0;

  const excluded = (f: SeccompFilter | undefined) =>
    !!f && (f.arches?.includes(arch) || f.caps?.some((c) => caps.has(c)) || (f.minKernel !== undefined && atLeast(f.minKernel)));
  const included = (f: SeccompFilter | undefined) =>
    !f || ((!f.arches || f.arches.includes(arch)) && (!f.caps || f.caps.every((c) => caps.has(c))) && (f.minKernel === undefined || atLeast(f.minKernel)));

  const syscalls = profile.rules.filter((r) => !excluded(r.excludes) && included(r.includes)).map(toSpec);
  // Without a known native arch libseccomp takes the runtime's own (as moby leaves it empty then).
  const architectures = native ? [native, ...(profile.archMap[native] ?? [])] : [];
  return {
    defaultAction: profile.defaultAction,
    defaultErrnoRet: profile.defaultErrnoRet,
    ...(architectures.length ? { architectures } : {}),
    syscalls,
  };
}

function toSpec(r: SeccompRule): Json {
  return {
    names: [...r.names],
    action: r.action,
    ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
    ...(r.args ? { args: r.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op })) } : {}),
  };
}

/** `6.1.0-18-amd64` → [6, 1, 0]; what cannot be read counts as 0. */
function parseKernel(release: string): number[] {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : [0, 0, 0];
}

function compareKernel(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * crun compiles the step's seccomp profile (Docker's, ~300 rules) with libseccomp on every start:
 * about a third of its start-up time here. It also takes a filter compiled beforehand, as the
 * `run.oci.seccomp_bpf_data` annotation (base64 BPF). So the first RUN of a process with a given
 * profile starts as usual while crun compiles the same profile once on the side (`crun create` of
 * a container that never starts, whose state dir then holds `seccomp.bpf`); later RUNs with the
 * same profile carry the filter. runc has no such annotation.
 *
 * With a host cache (host-cache.ts), the compiled filter is kept across processes too, keyed by
 * the profile, crun's and libseccomp's binaries and the architecture: the first RUN of a later
 * process carries it like any later RUN. Only an intact, root-owned entry is used (the filter is
 * the sandbox).
 *
 *   const { bpf, compiling } = precompiledSeccomp(profileJson, compile, persisted?)
 *   bpf: undefined until the compilation is done; compiling: the run that started it awaits it
 *   before it returns, so nothing of it outlives the runs (and the state dir they use)
 */
import { fileIdentity, readEntry, sha256, writeEntry, type HostCache } from './host-cache.js';

const compiled = new Map<string, { bpf?: string | undefined; done?: Promise<void> }>();

export interface Precompiled {
  /** The base64 filter, once compiled. */
  readonly bpf?: string;
  /** Set for the caller that started the compilation; resolves when it is over (never rejects). */
  readonly compiling?: Promise<void>;
}

/** Where compiled filters are kept across processes: the cache and what identifies the compiler. */
export interface PersistedSeccomp {
  readonly cache: HostCache;
  /** seccompCompiler() of the crun that compiles (and would compile) the profile. */
  readonly compiler: string;
}

/** Bumped when what is stored, or how it is keyed, changes. */
const FORMAT = 'seccomp-bpf-v1';
/** Docker's profile compiles to ~2–6 KiB; a filter may hold at most 4096 instructions of 8 bytes. */
const MAX_BPF_BYTES = 4096 * 8;
/** Profiles differ by capabilities (cap-add) and kernel release; keep the few newest. */
const KEEP = 16;

const TRIPLETS: Record<string, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', ppc64: 'powerpc64le-linux-gnu', s390x: 's390x-linux-gnu' };

/**
 * What compiles the filter: the crun binary at `crunPath` and the libseccomp it loads (crun links
 * it dynamically; an upgrade of either may change the output). The library is looked for where
 * Debian, Fedora and Alpine put it; undefined when crun is not there.
 */
export function seccompCompiler(crunPath: string): string | undefined {
  const crun = fileIdentity(crunPath);
  if (!crun) return undefined;
  const triplet = TRIPLETS[process.arch];
  const libs = [...(triplet ? [`/lib/${triplet}`, `/usr/lib/${triplet}`] : []), '/usr/lib64', '/usr/lib', '/lib']
    .map((d) => fileIdentity(`${d}/libseccomp.so.2`)).filter((x) => x !== undefined);
  return [crun, ...libs].join('|');
}

/** The cache entry name of a profile compiled by `compiler` for this architecture. */
export function seccompEntryName(profileJson: string, compiler: string): string {
  return `seccomp-${sha256([FORMAT, process.arch, compiler, profileJson].join('\0'))}.bpf`;
}

/**
 * The filter of `profileJson` when it is ready (in this process, else in `persisted`); otherwise
 * starts `compile` (once per profile and process; a failure leaves crun compiling as before) and
 * stores its result in `persisted`.
 */
export function precompiledSeccomp(profileJson: string, compile: () => Promise<Buffer | undefined>, persisted?: PersistedSeccomp): Precompiled {
  const entry = compiled.get(profileJson);
  if (entry) return entry.bpf !== undefined ? { bpf: entry.bpf } : {};
  const e: { bpf?: string | undefined; done?: Promise<void> } = {};
  compiled.set(profileJson, e);
  const name = persisted && seccompEntryName(profileJson, persisted.compiler);
  const kept = persisted && name ? readEntry(persisted.cache, name, MAX_BPF_BYTES) : undefined;
  if (kept && validFilter(kept)) return { bpf: (e.bpf = kept.toString('base64')) };
  const compiling = compile().then((b) => {
    if (b && validFilter(b)) {
      e.bpf = b.toString('base64');
      if (persisted && name) writeEntry(persisted.cache, name, b, { prefix: 'seccomp-', keep: KEEP });
    }
  }, () => undefined);
  e.done = compiling;
  return { compiling };
}

/**
 * The filter of `profileJson` once the compilation precompiledSeccomp started is over; undefined
 * when it failed or none was started. For a launcher that cannot run a step without it.
 */
export async function compiledSeccomp(profileJson: string): Promise<string | undefined> {
  const entry = compiled.get(profileJson);
  await entry?.done;
  return entry?.bpf;
}

/** An empty or ragged filter is no filter: BPF instructions are 8 bytes each. */
function validFilter(b: Buffer): boolean {
  return b.length > 0 && b.length % 8 === 0 && b.length <= MAX_BPF_BYTES;
}

/** Forgets what this process compiled (tests: the next run reads the host cache or compiles). */
export function forgetCompiledSeccomp(): void {
  compiled.clear();
}

export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

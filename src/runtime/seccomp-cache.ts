/**
 * crun compiles the step's seccomp profile (Docker's, ~300 rules) with libseccomp on every start:
 * about a third of its start-up time here. It also takes a filter compiled beforehand, as the
 * `run.oci.seccomp_bpf_data` annotation (base64 BPF). So the first RUN of a process with a given
 * profile starts as usual while crun compiles the same profile once on the side (`crun create` of
 * a container that never starts, whose state dir then holds `seccomp.bpf`); later RUNs with the
 * same profile carry the filter. runc has no such annotation.
 *
 *   const { bpf, compiling } = precompiledSeccomp(profileJson, compile)
 *   bpf: undefined until the compilation is done; compiling: the run that started it awaits it
 *   before it returns, so nothing of it outlives the runs (and the state dir they use)
 */
const compiled = new Map<string, { bpf?: string | undefined }>();

export interface Precompiled {
  /** The base64 filter, once compiled. */
  readonly bpf?: string;
  /** Set for the caller that started the compilation; resolves when it is over (never rejects). */
  readonly compiling?: Promise<void>;
}

/**
 * The filter of `profileJson` when it is ready; otherwise starts `compile` (once per profile and
 * process; a failure leaves crun compiling as before).
 */
export function precompiledSeccomp(profileJson: string, compile: () => Promise<Buffer | undefined>): Precompiled {
  const entry = compiled.get(profileJson);
  if (entry) return entry.bpf !== undefined ? { bpf: entry.bpf } : {};
  const e: { bpf?: string | undefined } = {};
  compiled.set(profileJson, e);
  const compiling = compile().then((b) => {
    // An empty or ragged filter is no filter: BPF instructions are 8 bytes each.
    if (b && b.length > 0 && b.length % 8 === 0) e.bpf = b.toString('base64');
  }, () => undefined);
  return { compiling };
}

export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

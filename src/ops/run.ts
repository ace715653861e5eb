import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunInstruction } from '../instructions/index.js';
import type { MountSpec, NetworkMode } from '../runtime/index.js';
import type { RunVertex } from '../plan/index.js';
import type { StepIo, StepLayer } from '../solver/index.js';
import { UserError } from '../util/index.js';
import { runInContainer } from './container.js';
import { commandArgs } from './config-values.js';
import { withMounts, type MountFrom } from './mounts/mounts.js';
import { layerRefs, type BuildDeps, type StageState } from './state.js';

/** Lines of output a failed RUN's error repeats. */
const TAIL_LINES = 10;

export interface RunPlan {
  readonly args: string[];
  readonly env: string[];
  readonly user: string;
  readonly workdir: string;
  readonly shell: readonly string[] | undefined;
  readonly network: NetworkMode;
  readonly security: 'sandbox' | 'insecure';
  /** A `#!` heredoc: written to a file and executed, as BuildKit does. */
  readonly script?: { readonly name: string; readonly data: string };
}

/** Where a `#!` heredoc script is mounted (BuildKit's path). */
const SCRIPT_DIR = '/dev/pipes';

const chomped = (data: string) => data.replace(/^\t+/gm, '');

/**
 * RUN with heredocs, as BuildKit runs them: `RUN <<EOF` alone runs the body with the shell (or
 * executes it when it starts with `#!`); heredocs inside a longer command are handed to the shell
 * with the command, which reads them itself.
 */
function heredocCommand(v: RunVertex, ins: RunInstruction, shell: readonly string[] | undefined): { args: string[]; script?: { name: string; data: string } } {
  if (ins.command.form !== 'shell') throw new UserError('build.unsupported', `${v.label}: heredocs need the shell form of RUN`);
  const text = ins.command.text.value;
  const sh = shell ?? ['/bin/sh', '-c'];
  const only = ins.files.length === 1 ? ins.files[0]! : undefined;
  if (only && /^<<-?\s*(["']?)[^\s"']+\1$/.test(text.trim())) {
    const data = only.chomp ? chomped(only.data) : only.data;
    if (data.startsWith('#!')) return { args: [`${SCRIPT_DIR}/${only.name}`], script: { name: only.name, data } };
    return { args: [...sh, data] };
  }
  return { args: [...sh, `${text}\n${ins.files.map((f) => `${f.data}${f.name}\n`).join('')}`] };
}

/** What a RUN executes; the key's exec material comes from the same values (proxy ARGs aside). */
export function runPlan(v: RunVertex, state: StageState, defaultNetwork: NetworkMode): RunPlan {
  const ins = v.instruction;
  const c = state.draft.config.config ?? {};
  const heredoc = ins.files.length > 0 ? heredocCommand(v, ins, c.Shell) : undefined;
  return {
    args: heredoc?.args ?? commandArgs(ins.command, c.Shell),
    ...(heredoc?.script ? { script: heredoc.script } : {}),
    env: (v.runEnv?.vars ?? []).map(([k, val]) => `${k}=${val}`),
    user: c.User ?? '',
    workdir: c.WorkingDir || '/',
    shell: c.Shell,
    // `RUN --network=default` (and no flag) is the build's --network, itself `default` unless asked.
    network: ins.network === 'default' ? defaultNetwork : ins.network,
    // Allowed only with the security.insecure entitlement (checked on the plan before the build).
    security: ins.security,
  };
}

export async function runStep(deps: BuildDeps, v: RunVertex, state: StageState, fromOf: MountFrom, io: StepIo): Promise<StepLayer> {
  const p = runPlan(v, state, deps.network);
  const proxy = (v.runEnv?.proxy ?? []).map(([k, val]) => `${k}=${val}`);
  const tail: string[] = [];
  const keep = (stream: 'stdout' | 'stderr') => (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    io.log(stream, line);
  };
  const mounts: MountSpec[] = [];
  let scriptDir: string | undefined;
  if (p.script) {
    scriptDir = await deps.store.tempDir('heredoc');
    await writeFile(join(scriptDir, 'script'), p.script.data, { mode: 0o755 });
    mounts.push({ type: 'bind', source: join(scriptDir, 'script'), destination: `${SCRIPT_DIR}/${p.script.name}`, readonly: true });
  }
  let res;
  try {
    res = await withMounts(
      deps,
      v.label,
      p.workdir,
      v.instruction.mounts,
      fromOf,
      (setup) =>
        runInContainer(
          { store: deps.store, snapshots: deps.snapshots, executor: deps.executor, ...(deps.workDirs ? { workDirs: deps.workDirs } : {}) },
          layerRefs(state.draft),
          // Later duplicates win: mount defaults (SSH_AUTH_SOCK) yield to the RUN's env, secrets do not.
          { args: p.args, env: [...setup.defaultEnv, ...p.env, ...proxy, ...setup.env], user: p.user || undefined, cwd: p.workdir, network: p.network,
            ...(deps.extraHosts?.length ? { extraHosts: deps.extraHosts } : {}),
            security: p.security, ...(deps.limits ? { limits: deps.limits } : {}) },
          [...setup.specs, ...mounts],
          { stdout: keep('stdout'), stderr: keep('stderr') },
          io.signal,
          { compression: deps.compression, ...(deps.sourceDateEpoch !== undefined ? { sourceDateEpoch: deps.sourceDateEpoch } : {}) },
        ),
      io.signal,
    );
  } finally {
    if (scriptDir) await rm(scriptDir, { recursive: true, force: true });
  }
  if (res.exitCode !== 0 || !res.layer) {
    // As BuildKit says it; the last lines of output travel as detail (the CLI prints them under the
    // instruction, the json stream carries them in its step-error event).
    throw new UserError('build.run-failed', `process ${JSON.stringify(p.args.join(' '))} exited with code ${res.exitCode}`, undefined, { exitCode: res.exitCode, lastOutput: [...tail] });
  }
  return { descriptor: { mediaType: res.layer.mediaType, digest: res.layer.digest, size: res.layer.size }, diffId: res.layer.diffId };
}

import type { RunInstruction } from '../instructions/index.js';
import type { Vertex } from '../plan/index.js';
import type { StepIo, StepLayer } from '../solver/index.js';
import { UserError } from '../util/index.js';
import { runInContainer } from './container.js';
import { commandArgs } from './meta.js';
import { layerRefs, type BuildDeps, type StageState } from './state.js';

/** Lines of output a failed RUN's error repeats. */
const TAIL_LINES = 10;

export interface RunPlan {
  readonly args: string[];
  readonly env: string[];
  readonly user: string;
  readonly workdir: string;
  readonly shell: readonly string[] | undefined;
  readonly network: 'none' | 'host';
}

/** What a RUN executes; the key's exec material comes from the same values (proxy ARGs aside). */
export function runPlan(v: Vertex, state: StageState, defaultNetwork: 'none' | 'host'): RunPlan {
  const ins = v.instruction as RunInstruction;
  const c = state.draft.config.config ?? {};
  if (ins.mounts.length > 0) throw new UserError('build.unsupported', `${v.label}: RUN --mount is not supported yet`, 'copy what the step needs with COPY instead');
  if (ins.files.length > 0) throw new UserError('build.unsupported', `${v.label}: RUN with a heredoc is not supported yet`, 'write the script with COPY and run it');
  return {
    args: commandArgs(ins.command, c.Shell),
    env: (v.runEnv?.vars ?? []).map(([k, val]) => `${k}=${val}`),
    user: c.User ?? '',
    workdir: c.WorkingDir || '/',
    shell: c.Shell,
    // There is no bridge network to give a RUN: `default` is the build's --network (none unless asked).
    network: ins.network === 'default' ? defaultNetwork : ins.network,
  };
}

export async function runStep(deps: BuildDeps, v: Vertex, state: StageState, io: StepIo): Promise<StepLayer> {
  const p = runPlan(v, state, deps.network);
  const proxy = (v.runEnv?.proxy ?? []).map(([k, val]) => `${k}=${val}`);
  const tail: string[] = [];
  const keep = (stream: 'stdout' | 'stderr') => (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    io.log(stream, line);
  };
  const res = await runInContainer(
    { store: deps.store, snapshots: deps.snapshots, executor: deps.executor },
    layerRefs(state.draft),
    { args: p.args, env: [...p.env, ...proxy], user: p.user || undefined, cwd: p.workdir, network: p.network },
    [],
    { stdout: keep('stdout'), stderr: keep('stderr') },
    io.signal,
    { compression: deps.compression },
  );
  if (res.exitCode !== 0 || !res.layer) {
    const out = tail.length ? `\n  last output:\n${tail.map((l) => `    ${l}`).join('\n')}` : '';
    throw new UserError('build.run-failed', `step ${v.label} failed: command ${JSON.stringify(p.args)} exited with code ${res.exitCode}${out}`);
  }
  return { descriptor: { mediaType: res.layer.mediaType, digest: res.layer.digest, size: res.layer.size }, diffId: res.layer.diffId };
}

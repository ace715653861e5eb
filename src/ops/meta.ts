import { addEmptyHistory, updateContainerConfig, type ContainerConfig, type ImageDraft } from '../image/index.js';
import type { MetaInstruction } from '../plan/index.js';
import { unreachable } from '../util/index.js';
import { commandArgs, exposedPorts } from './config-values.js';
import type { StageState } from './state.js';
import { metaCreatedBy } from './history.js';

function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = env.filter((e) => e.split('=')[0] !== key);
  const i = env.findIndex((e) => e.split('=')[0] === key);
  if (i >= 0) out.splice(i, 0, `${key}=${value}`);
  else out.push(`${key}=${value}`);
  return out;
}

const set = (o: Readonly<Record<string, Record<string, never>>> | null | undefined, keys: string[]) =>
  Object.fromEntries([...Object.keys(o ?? {}), ...keys].sort().map((k) => [k, {} as Record<string, never>]));

/** A metadata instruction applied to the config, with its `empty_layer` history entry. */
export function applyMeta(state: StageState, ins: MetaInstruction, createdBy: string): StageState {
  const c: ContainerConfig = state.draft.config.config ?? {};
  let patch: Partial<ContainerConfig> | undefined;
  let cmdSet = state.cmdSet;
  let argKeys = state.argKeys;
  let createdByText = createdBy;
  let draft: ImageDraft = state.draft;
  switch (ins.kind) {
    case 'ENV': {
      let env = [...(c.Env ?? [])];
      for (const p of ins.pairs) env = setEnv(env, p.key, p.value);
      patch = { Env: env };
      break;
    }
    case 'LABEL':
      patch = { Labels: { ...(c.Labels ?? {}), ...Object.fromEntries(ins.pairs.map((p) => [p.key, p.value])) } };
      break;
    case 'EXPOSE':
      patch = { ExposedPorts: set(c.ExposedPorts, exposedPorts(ins.items.map((w) => w.value))) };
      break;
    case 'VOLUME':
      patch = { Volumes: set(c.Volumes, ins.items.map((w) => w.value)) };
      break;
    case 'USER':
      patch = { User: ins.value.value };
      break;
    case 'STOPSIGNAL':
      patch = { StopSignal: ins.value.value };
      break;
    case 'MAINTAINER':
      draft = { ...draft, config: { ...draft.config, author: ins.value.value } };
      break;
    case 'CMD':
      patch = { Cmd: commandArgs(ins.command, c.Shell) };
      createdByText = metaCreatedBy(ins, createdBy, patch.Cmd!);
      cmdSet = true;
      break;
    case 'ENTRYPOINT':
      patch = { Entrypoint: commandArgs(ins.command, c.Shell), ...(cmdSet ? {} : { Cmd: undefined }) };
      createdByText = metaCreatedBy(ins, createdBy, patch.Entrypoint!);
      break;
    case 'SHELL':
      patch = { Shell: [...ins.shell] };
      break;
    case 'ONBUILD':
      // docker records no history entry for ONBUILD, only the trigger in the config.
      return { ...state, draft: updateContainerConfig(draft, { OnBuild: [...(c.OnBuild ?? []), ins.trigger] }) };
    case 'HEALTHCHECK': {
      const o = ins.options;
      const test = !ins.command ? ['NONE'] : ins.command.form === 'exec' ? ['CMD', ...ins.command.args.map((w) => w.value)] : ['CMD-SHELL', ins.command.text.value];
      patch = {
        Healthcheck: {
          Test: test,
          ...(o.interval ? { Interval: o.interval } : {}),
          ...(o.timeout ? { Timeout: o.timeout } : {}),
          ...(o.startPeriod ? { StartPeriod: o.startPeriod } : {}),
          ...(o.startInterval ? { StartInterval: o.startInterval } : {}),
          ...(o.retries ? { Retries: o.retries } : {}),
        },
      };
      break;
    }
    case 'ARG':
      // A history entry only (docker records one); the values reach RUN through its environment.
      argKeys = [...argKeys, ...ins.args.map((a) => a.key)];
      break;
    default:
      return unreachable(ins, 'metadata instruction');
  }
  if (patch) draft = updateContainerConfig(draft, patch);
  if (ins.kind !== 'CMD' && ins.kind !== 'ENTRYPOINT') createdByText = metaCreatedBy(ins, createdBy);
  // No time yet: the commit gives it the time of the layer step around it (image/created.ts).
  draft = addEmptyHistory(draft, { created_by: createdByText, comment: 'buildkit.dockerfile.v0' });
  return { ...state, draft, cmdSet, argKeys };
}

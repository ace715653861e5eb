/**
 * Stages with ARG/ENV scoping and shell-word expansion applied exactly where BuildKit applies it:
 * FROM (image, --platform) with global ARGs only; COPY/ADD sources, dest, --chown, --chmod,
 * --exclude, --checksum; RUN --mount values; ENV/LABEL/ARG keys and values; WORKDIR, USER,
 * STOPSIGNAL, EXPOSE, VOLUME. Never: COPY --from, RUN/CMD/ENTRYPOINT/SHELL commands (the shell
 * expands those), HEALTHCHECK, ONBUILD triggers, MAINTAINER.
 */
import { error, warning, type Diagnostic, type Range, editDistance } from '../diag/index.js';
import { ok, err } from '../util/index.js';
import type { Dockerfile } from '../syntax/index.js';
import { expandWord, type ShellEnv } from '../shell/index.js';
import { parseInstruction } from './parse.js';
import { parseMount } from './mount.js';
import { CHMOD_HINT, parseChmod } from './chmod.js';
import type { ArgDeclaration, FromInstruction, KeyValuePair, Mount, TypedInstruction, Word } from './types.js';
import { DEFAULT_PATH, DEFAULT_PLATFORM, PROXY_ARGS, platformArgs, type BaseImage, type ResolveOptions, type Resolution, type Stage, type Step } from './stages.js';

/** A word as an error message quotes it: a hostile one can be megabytes; the caret shows where it is. */
const quoted = (word: string): string => (word.length > 200 ? `${word.slice(0, 160)}… (${word.length} characters)` : word);

/** Resolves the stages, asking `opts.imageEnv`/`opts.imageTriggers` about base images. */
export function resolveStages(ast: Dockerfile, opts: ResolveOptions = {}): Resolution {
  const walk = walkStages(ast, opts);
  for (let r = walk.next(); ; ) {
    if (r.done) return r.value;
    const ref = r.value;
    r = walk.next({ env: opts.imageEnv?.(ref), triggers: opts.imageTriggers?.(ref) });
  }
}

/**
 * The one resolution, as a coroutine: it yields the reference of each base image a FROM names
 * (anything but an earlier stage) and is resumed with what is known of it, so a caller can look
 * images up synchronously (resolveStages) or asynchronously (resolveStagesAsync).
 */
export function* walkStages(ast: Dockerfile, opts: ResolveOptions = {}): Generator<string, Resolution, BaseImage | undefined> {
  const file = ast.file;
  const diags: Diagnostic[] = [];
  const buildArgs = opts.buildArgs ?? new Map<string, string>();
  const autoArgs = platformArgs(opts.targetPlatform ?? DEFAULT_PLATFORM, opts.buildPlatform ?? DEFAULT_PLATFORM);
  autoArgs.set('TARGETSTAGE', opts.target ?? 'default');
  const escape = ast.escapeChar;
  const consumed = new Set<string>();

  /** Names an instruction's expansions read while unset, for the UndefinedVar check. */
  let unsetNames = new Set<string>();
  const expandIn = (env: ShellEnv) => (w: Word): Word => {
    const r = expandWord(w.value, env, { escape });
    if (r.ok) {
      for (const n of r.value.unsetBare) unsetNames.add(n);
      return { value: r.value.value, range: w.range };
    }
    diags.push(error(`instructions.${r.error.code}`, `failed to process "${quoted(w.value)}": ${r.error.message}`, file, w.range));
    return w;
  };
  const expandString = (env: ShellEnv, s: string, range: Range): string => expandIn(env)({ value: s, range }).value;

  const globalArgs = new Map<string, string>();
  /** Global ARG names, with or without a value (a valueless one is declared, just empty). */
  const declaredGlobals = new Set<string>();
  const stages: Stage[] = [];
  let current:
    | {
        stage: Omit<Stage, 'steps'>;
        steps: Step[];
        env: Map<string, string>;
        args: Map<string, string>;
        /** Every ARG name the stage declared, with or without a value. */
        declared: Set<string>;
        /** Whether the base's Env is known (scratch, a stage, or imageEnv answered). */
        envKnown: boolean;
        /** The live scope (ENV over ARG) and its word expander, made once per stage. */
        scope: ShellEnv;
        ex: (w: Word) => Word;
      }
    | undefined;
  const finalEnvByName = new Map<string, Map<string, string>>();
  const envKnownByName = new Map<string, boolean>();
  const triggersByName = new Map<string, TypedInstruction[]>();

  const finishStage = (): void => {
    if (!current) return;
    stages.push({ ...current.stage, steps: current.steps });
    if (current.stage.name) {
      finalEnvByName.set(current.stage.name, current.env);
      envKnownByName.set(current.stage.name, current.envKnown);
      // Only the stage's own ONBUILDs reach its children: triggers it inherited already ran in it.
      triggersByName.set(
        current.stage.name,
        current.steps.flatMap((s) => (s.instruction.kind === 'ONBUILD' && !s.trigger ? [s.instruction.triggerInstruction] : [])),
      );
    }
  };

  /** Declares ARGs and returns them with the values they took (--build-arg, default, fallback). */
  const declareArgs = (
    decls: readonly ArgDeclaration[],
    scopeEnv: ShellEnv,
    into: Map<string, string>,
    fallback: (k: string) => string | undefined,
  ): ArgDeclaration[] => {
    // Every pair sees the scope from before the instruction: `ARG a=x b=$a` gives b the old a.
    const values = decls.map((d) => {
      const key = expandString(scopeEnv, d.key, d.range);
      const dflt = d.value === undefined ? undefined : expandString(scopeEnv, d.value, d.range);
      return { key, value: buildArgs.get(key) ?? dflt ?? fallback(key), range: d.range };
    });
    for (const { key, value } of values) {
      consumed.add(key);
      if (value === undefined) into.delete(key);
      else into.set(key, value);
    }
    return values;
  };

  type Current = NonNullable<typeof current>;
  const dispatch = (cur: Current, typed: TypedInstruction, trigger: boolean): void => {
    unsetNames = new Set();
    if (typed.kind === 'ARG') for (const a of typed.args) cur.declared.add(a.key);
    dispatchOne(cur, typed, trigger);
    // BuildKit's UndefinedVar, only where the stage's whole Env is known (else $HOME of an image
    // would be reported).
    if (!cur.envKnown) return;
    for (const name of unsetNames) {
      if (cur.declared.has(name) || cur.env.has(name)) continue;
      const near = [...cur.env.keys(), ...cur.declared].find((k) => editDistance(k, name) <= 2);
      diags.push(
        warning('lint.undefined-var', `Usage of undefined variable '$${name}'${near ? ` (did you mean $${near}?)` : ''}`, file, typed.node.range, `declare it with ARG ${name} or ENV ${name}=<value>`),
      );
    }
  };
  const dispatchOne = (cur: Current, typed: TypedInstruction, trigger: boolean): void => {
    const scopeEnv = cur.scope;
    const snapshot = (): [string, string][] => [...new Map([...cur.args, ...cur.env])];
    const ex = cur.ex;
    const expandHeredoc = (data: string): string => {
      const r = expandWord(data, scopeEnv, { escape: '\\', skipQuotes: true });
      if (r.ok) {
        for (const n of r.value.unsetBare) unsetNames.add(n);
        return r.value.value;
      }
      diags.push(error(`instructions.${r.error.code}`, `failed to expand heredoc: ${r.error.message}`, file, typed.node.range));
      return data;
    };
    switch (typed.kind) {
      case 'ARG':
        cur.steps.push({ instruction: { ...typed, args: declareArgs(typed.args, scopeEnv, cur.args, (k) => globalArgs.get(k) ?? autoArgs.get(k)) }, trigger });
        break;
      case 'ENV': {
        const pairs = expandPairs(typed.pairs, scopeEnv, expandString);
        for (const p of pairs) cur.env.set(p.key, p.value);
        cur.steps.push({ instruction: { ...typed, pairs }, trigger });
        break;
      }
      case 'LABEL':
        cur.steps.push({ instruction: { ...typed, pairs: expandPairs(typed.pairs, scopeEnv, expandString) }, trigger });
        break;
      case 'RUN': {
        const mounts: Mount[] = [];
        let sshIndex = 0;
        for (const spec of typed.mountSpecs) {
          const m = parseMount(spec.value, spec.range, (s) => {
            const r = expandWord(s, scopeEnv, { escape });
            return r.ok ? ok(r.value.value) : err(r.error.message);
          }, sshIndex);
          if (m.ok) {
            if (m.value.type === 'ssh') sshIndex++;
            mounts.push(m.value);
          } else if (typed.mounts.length === typed.mountSpecs.length) {
            // Only report what expansion broke; parse.ts already reported plain syntax errors.
            diags.push(error('instructions.bad-mount', m.error.message, file, spec.range, m.error.hint));
          }
        }
        const proxy = [...buildArgs].filter(([k]) => PROXY_ARGS.has(k) && scopeEnv.get(k) === undefined);
        cur.steps.push({ instruction: { ...typed, mounts }, runEnv: { vars: snapshot(), proxy }, trigger });
        break;
      }
      case 'COPY':
      case 'ADD': {
        const chmod = typed.chmod && ex(typed.chmod);
        // parse.ts checked literal values; a value built from ARGs is only known now.
        if (chmod && typed.chmod!.value.includes('$') && !parseChmod(chmod.value))
          diags.push(error('instructions.bad-flag-value', `invalid chmod value: ${chmod.value}`, file, typed.chmod!.range, CHMOD_HINT));
        cur.steps.push({
          instruction: {
            ...typed,
            sources: typed.sources.map(ex),
            dest: ex(typed.dest),
            chown: typed.chown && ex(typed.chown),
            chmod,
            checksum: typed.checksum && ex(typed.checksum),
            exclude: typed.exclude.map(ex),
            // Heredoc bodies are scripts or file contents: only `$` expands, quotes stay.
            contents: typed.contents.map((c) => (c.expand ? { ...c, data: expandHeredoc(c.data) } : c)),
          },
          trigger,
        });
        break;
      }
      case 'WORKDIR':
      case 'USER':
      case 'STOPSIGNAL':
        cur.steps.push({ instruction: { ...typed, value: ex(typed.value) }, trigger });
        break;
      case 'EXPOSE': {
        // EXPOSE splits expanded words: `EXPOSE $PORTS` with PORTS="80 443" exposes two ports.
        const items = typed.items.flatMap((w) => {
          const r = expandWord(w.value, scopeEnv, { escape });
          if (!r.ok) return [ex(w)];
          return r.value.words.map((value) => ({ value, range: w.range }));
        });
        const ports = items.map((p) => {
          let value = p.value;
          if (value.includes(':')) {
            diags.push(
              warning('lint.expose-invalid-format', `EXPOSE instruction should not define an IP address or host-port mapping, found '${value}'`, file, p.range, 'publish ports when running the container'),
            );
            value = value.slice(value.lastIndexOf(':') + 1);
          }
          const proto = /\/([a-z]+)$/i.exec(value)?.[1];
          if (proto && proto !== proto.toLowerCase())
            diags.push(warning('lint.expose-proto-casing', `Defined protocol '${value}' in EXPOSE instruction should be lowercase`, file, p.range, `write ${value.toLowerCase()}`));
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(value))
            diags.push(error('instructions.bad-port', `invalid port: "${p.value}"`, file, p.range, 'use <port>[-<port>][/tcp|udp|sctp]'));
          return { value, range: p.range };
        });
        cur.steps.push({ instruction: { ...typed, items: ports }, trigger });
        break;
      }
      case 'VOLUME':
        cur.steps.push({ instruction: { ...typed, items: typed.items.map(ex) }, trigger });
        break;
      default:
        cur.steps.push({ instruction: typed, trigger });
    }
  };

  for (const node of ast.instructions) {
    const typed = parseInstruction(node, file, diags);
    if (!typed) continue;
    if (typed.kind === 'FROM') {
      finishStage();
      const metaEnv = new Map([...autoArgs, ...globalArgs]);
      const ex = expandIn(metaEnv);
      const undeclared = expandWord(typed.image.value, metaEnv, { escape });
      if (undeclared.ok)
        for (const name of undeclared.value.unset)
          if (!declaredGlobals.has(name))
            diags.push(
              warning('lint.undefined-arg-in-from', `FROM argument '${name}' is not declared`, file, typed.image.range, `declare it with ARG ${name} before the first FROM`),
            );
      const image = ex(typed.image);
      const platform = typed.platform ? ex(typed.platform) : undefined;
      if (platform && !/^[a-z0-9_-]+\/[a-z0-9_-]+(\/[a-z0-9_.-]+)?$/i.test(platform.value))
        diags.push(error('instructions.bad-platform', `invalid platform: "${platform.value}"`, file, platform.range, 'use os/arch[/variant], e.g. linux/amd64'));
      const name = typed.stageName?.value.toLowerCase();
      const from: FromInstruction = { ...typed, image, platform };
      const parentStage = image.value.toLowerCase();
      const isStage = finalEnvByName.has(parentStage);
      const badBase = blankOrInvalidBase(typed.image.value, image.value, undeclared.ok ? [...undeclared.value.unset] : [], isStage ? undefined : opts.checkReference);
      if (badBase) diags.push(error(badBase.code, badBase.message, file, typed.image.range, badBase.hint));
      // A bad name is not looked up (nor pulled).
      const baseImage = isStage || badBase ? undefined : yield image.value;
      const parentEnv = isStage ? finalEnvByName.get(parentStage) : baseImage?.env;
      const envKnown = parentStage === 'scratch' || (isStage ? envKnownByName.get(parentStage)! : parentEnv !== undefined);
      const env = new Map(parentEnv ?? []);
      if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
      const args = new Map<string, string>();
      // ENV wins over an ARG of the same name; the maps are read live, so each instruction sees
      // the scope as it stands (materialised only where a RUN needs a snapshot).
      const scope: ShellEnv = { get: (k) => env.get(k) ?? args.get(k) };
      current = {
        stage: { index: stages.length, name, from, base: image.value, platform: platform?.value },
        steps: [],
        env,
        args,
        declared: new Set(),
        envKnown,
        scope,
        ex: expandIn(scope),
      };
      for (const t of (isStage ? triggersByName.get(parentStage) : baseImage?.triggers) ?? []) dispatch(current, t, true);
      continue;
    }
    if (!current) {
      if (typed.kind === 'ARG') {
        declareArgs(typed.args, new Map([...autoArgs, ...globalArgs]), globalArgs, () => undefined);
        for (const a of typed.args) declaredGlobals.add(a.key);
      }
      else diags.push(error('instructions.before-from', `${typed.kind} cannot come before the first FROM`, file, node.range, 'only ARG may precede the first FROM'));
      continue;
    }
    dispatch(current, typed, false);
  }
  finishStage();
  if (stages.length === 0 && !diags.some((d) => d.severity === 'error'))
    diags.push(error('instructions.no-from', 'dockerfile contains no stages to build', file, ast.range, 'start a build stage with FROM <image>'));
  for (const k of buildArgs.keys()) {
    // SOURCE_DATE_EPOCH is read by the build itself (image times), as BuildKit does: never unused.
    if (!consumed.has(k) && !PROXY_ARGS.has(k) && !autoArgs.has(k) && k !== 'SOURCE_DATE_EPOCH')
      diags.push(warning('instructions.unused-build-arg', `build-arg ${k} was not consumed by any ARG`, file, undefined, `declare it with ARG ${k} where it is needed`));
  }
  return { resolved: { file, globalArgs, stages }, diagnostics: diags };
}

function expandPairs(
  pairs: readonly KeyValuePair[],
  env: ShellEnv,
  expandString: (env: ShellEnv, s: string, range: Range) => string,
): KeyValuePair[] {
  return pairs.map((p) => ({ key: expandString(env, p.key, p.range), value: expandString(env, p.value, p.range), range: p.range }));
}

/**
 * A FROM whose name expands to nothing (BuildKit: "base name (${BASE}) should not be blank") or to
 * something that is not an image reference, a stage or scratch. Stage names are checked by the plan.
 */
function blankOrInvalidBase(written: string, value: string, unset: readonly string[], check: ((ref: string) => string | undefined) | undefined):
  { code: string; message: string; hint: string } | undefined {
  const argHint = unset.length
    ? `pass ${unset.map((n) => `--build-arg ${n}=<image>`).join(' ')}, or give ARG ${unset[0]} a default before the first FROM`
    : undefined;
  if (value.trim() === '') {
    return { code: 'instructions.blank-base', message: `base name (${written}) should not be blank`, hint: argHint ?? 'name an image, an earlier stage or scratch' };
  }
  if (value.toLowerCase() === 'scratch' || !check) return undefined;
  const why = check(value);
  if (why === undefined) return undefined;
  const shown = written === value ? `"${value}"` : `"${value}" (from ${written})`;
  return { code: 'instructions.bad-base', message: `invalid base image reference ${shown}: ${why}`, hint: argHint ?? 'use [registry/]name[:tag][@digest], in lowercase, or the name of an earlier stage' };
}

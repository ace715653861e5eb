import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAst } from '../helpers/parse-ast.js';
import { DEFAULT_PATH, resolveStages, type Step, type TypedInstruction } from '../../src/instructions/index.js';

const resolve = (text: string, buildArgs: Record<string, string> = {}) => resolveStages(parseAst(text), { buildArgs: new Map(Object.entries(buildArgs)) });
const errors = (text: string) => resolve(text).diagnostics.filter((d) => d.severity === 'error');
const steps = (text: string, buildArgs: Record<string, string> = {}): readonly Step[] => {
  const r = resolve(text, buildArgs);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  return r.resolved.stages.at(-1)!.steps;
};
type ByKind<K> = TypedInstruction extends infer T ? (T extends { kind: infer KK } ? (K extends KK ? T : never) : never) : never;
const only = <K extends TypedInstruction['kind']>(s: Step, kind: K): ByKind<K> => {
  assert.equal(s.instruction.kind, kind);
  return s.instruction as ByKind<K>;
};
/** The RUN env without the default PATH every stage has. */
const envOf = (s: Step): Record<string, string> => Object.fromEntries(s.runEnv!.vars.filter(([k, v]) => !(k === 'PATH' && v === DEFAULT_PATH)));

test('global ARGs expand FROM but are not visible in the stage unless redeclared', () => {
  const r = resolve('ARG TAG=3.19\nARG OTHER=x\nFROM alpine:${TAG}\nARG TAG\nWORKDIR /w/$TAG/$OTHER\nRUN true');
  assert.equal(r.resolved.stages[0]!.base, 'alpine:3.19');
  const [, workdir, run] = r.resolved.stages[0]!.steps;
  assert.equal(only(workdir!, 'WORKDIR').value.value, '/w/3.19/');
  assert.deepEqual(envOf(run!), { TAG: '3.19' });
});

test('--build-arg overrides ARG defaults, globally and in a stage; an undeclared one warns', () => {
  const r = resolve('ARG V=1\nFROM img:$V\nARG W=2\nRUN x', { V: '9', W: '8', NOPE: 'z' });
  assert.equal(r.resolved.stages[0]!.base, 'img:9');
  assert.deepEqual(envOf(r.resolved.stages[0]!.steps[1]!), { W: '8' });
  assert.deepEqual(r.diagnostics.map((d) => [d.severity, d.code]), [['warning', 'instructions.unused-build-arg']]);
});

test('ARG and ENV pairs on one line see the values from before the line', () => {
  const s = steps('FROM s\nARG a=old\nARG a=x b=${a}-y\nENV e=1\nENV e=2 f=$e\nRUN r');
  assert.deepEqual(envOf(s[4]!), { a: 'x', b: 'old-y', e: '2', f: '1' });
  assert.deepEqual(only(s[3]!, 'ENV').pairs.map((p) => [p.key, p.value]), [['e', '2'], ['f', '1']]);
});

test('ENV overrides an ARG of the same name', () => {
  const s = steps('FROM s\nARG A=arg\nENV A=env\nWORKDIR /$A\nRUN r', { A: 'cli' });
  assert.equal(only(s[2]!, 'WORKDIR').value.value, '/env');
  assert.deepEqual(envOf(s[3]!), { A: 'env' });
});

test('platform ARGs exist for FROM and after `ARG TARGETARCH` in a stage', () => {
  const r = resolve('FROM img-$TARGETARCH\nARG TARGETARCH\nARG BUILDPLATFORM\nRUN x');
  assert.equal(r.resolved.stages[0]!.base, 'img-amd64');
  assert.deepEqual(envOf(r.resolved.stages[0]!.steps[2]!), { TARGETARCH: 'amd64', BUILDPLATFORM: 'linux/amd64' });
});

test('proxy build-args reach RUN without a declaration, kept apart from the env', () => {
  const s = steps('FROM s\nRUN x', { HTTP_PROXY: 'http://p:3128' });
  assert.deepEqual(s[0]!.runEnv, { vars: [['PATH', DEFAULT_PATH]], proxy: [['HTTP_PROXY', 'http://p:3128']] });
});

test('COPY sources, dest, chown expand; COPY --from stays literal; RUN commands stay unexpanded', () => {
  const s = steps('FROM s\nARG U=1000 D=/app\nCOPY --from=u$U --chown=$U:$U a-$U $D/\nRUN echo $D'.replace('u$U', 'img'));
  const copy = only(s[1]!, 'COPY');
  assert.equal(copy.from!.value, 'img');
  const [fromErr] = errors('FROM s\nARG U=1\nCOPY --from=$U a b');
  assert.equal(fromErr!.code, 'instructions.from-not-expanded');
  assert.equal(copy.chown!.value, '1000:1000');
  assert.deepEqual(copy.sources.map((w) => w.value), ['a-1000']);
  assert.equal(copy.dest.value, '/app/');
  const run = only(s[2]!, 'RUN');
  assert.equal(run.command.form === 'shell' && run.command.text.value, 'echo $D');
});

test('RUN --mount values expand and take BuildKit defaults', () => {
  const s = steps('FROM s\nARG C=/root/.cache\nRUN --mount=type=cache,target=$C --mount=type=secret,id=tok --mount=type=bind,from=b,source=/x,target=/y make');
  const [cache, secret, bind] = only(s[1]!, 'RUN').mounts;
  assert.deepEqual([cache!.type, cache!.target, cache!.sharing, cache!.id, cache!.readOnly, cache!.mode], ['cache', '/root/.cache', 'shared', '/root/.cache', false, 0o755]);
  assert.deepEqual([secret!.target, secret!.readOnly, secret!.required], ['/run/secrets/tok', true, false]);
  assert.deepEqual([bind!.from, bind!.source, bind!.readOnly], ['b', '/x', true]);
});

test('a stage built FROM another inherits its ENV, not its ARGs', () => {
  const r = resolve('FROM s AS base\nENV P=/opt\nARG Q=q\nFROM base\nWORKDIR $P$Q');
  assert.equal(only(r.resolved.stages[1]!.steps[0]!, 'WORKDIR').value.value, '/opt');
});

test('a failed expansion is an error at the word', () => {
  const text = 'FROM s\nWORKDIR ${X:?must be set}';
  const [d] = errors(text);
  assert.match(d!.message, /X: must be set/);
  assert.equal(d!.range!.start, text.indexOf('${X'));
});

test('instructions before the first FROM other than ARG, and files without FROM, are errors', () => {
  assert.deepEqual(errors('RUN x\nFROM s').map((d) => d.code), ['instructions.before-from']);
  assert.deepEqual(errors('ARG x').map((d) => d.code), ['instructions.no-from']);
});

test("a child stage runs its parent stage's ONBUILD triggers first, expanded in its own scope", () => {
  const r = resolve('FROM s AS parent\nONBUILD ENV T=from-trigger\nONBUILD WORKDIR /w/$T\nFROM parent AS child\nRUN x\nFROM child\nRUN y');
  const child = r.resolved.stages[1]!.steps;
  assert.deepEqual(child.map((s) => [s.instruction.kind, s.trigger]), [['ENV', true], ['WORKDIR', true], ['RUN', false]]);
  assert.equal(only(child[1]!, 'WORKDIR').value.value, '/w/from-trigger');
  // The grandchild gets no triggers: the child declared no ONBUILD of its own.
  assert.deepEqual(r.resolved.stages[2]!.steps.map((s) => s.trigger), [false]);
});

test('COPY heredoc bodies expand $ but keep quotes; quoted delimiters do not expand', () => {
  const s = steps('FROM s\nARG NAME=world\nCOPY <<EOF /greeting\necho "hello $NAME" \'$NAME\'\nEOF\nCOPY <<"RAW" /raw\n$NAME\nRAW\n');
  assert.equal(only(s[1]!, 'COPY').contents[0]!.data, 'echo "hello world" \'world\'\n');
  assert.equal(only(s[2]!, 'COPY').contents[0]!.data, '$NAME\n');
});

test('EXPOSE splits expanded words and rejects what is not a port', () => {
  const s = steps('FROM s\nARG PORTS="80 443/udp"\nEXPOSE $PORTS 8000-8010/tcp');
  assert.deepEqual(only(s[1]!, 'EXPOSE').items.map((w) => w.value), ['80', '443/udp', '8000-8010/tcp']);
  assert.deepEqual(errors('FROM s\nEXPOSE http').map((d) => d.code), ['instructions.bad-port']);
});

test('every stage has the default PATH unless its base image sets one', () => {
  const s = steps('FROM s\nENV PATH=/app/bin:$PATH\nRUN x');
  assert.equal(only(s[0]!, 'ENV').pairs[0]!.value, `/app/bin:${DEFAULT_PATH}`);
  const withImage = resolveStages(parseAst('FROM img\nWORKDIR $HOME$PATH'), { imageEnv: (ref) => (ref === 'img' ? new Map([['PATH', '/p'], ['HOME', '/h']]) : undefined) });
  assert.equal(only(withImage.resolved.stages[0]!.steps[0]!, 'WORKDIR').value.value, '/h/p');
});

test('a FROM that uses an undeclared ARG warns', () => {
  const r = resolve('ARG DECLARED\nFROM img:${UNDECLARED:-x}$DECLARED$TARGETOS');
  assert.deepEqual(r.diagnostics.map((d) => [d.code, d.message]), [['lint.undefined-arg-in-from', "FROM argument 'UNDECLARED' is not declared"]]);
});

test('a resolved ARG step carries the values the ARGs took', () => {
  const s = steps('ARG G=g\nFROM s\nARG G\nARG A=${G}1 B', { A: 'cli' });
  assert.deepEqual(only(s[1]!, 'ARG').args.map((a) => [a.key, a.value]), [['A', 'cli'], ['B', undefined]]);
  assert.deepEqual(only(s[0]!, 'ARG').args.map((a) => [a.key, a.value]), [['G', 'g']]);
});

test('EXPOSE warns about upper-case protocols and host mappings; TARGETSTAGE names the target', () => {
  const r = resolve('FROM s\nEXPOSE 80/TCP 127.0.0.1:8080:80\nARG TARGETSTAGE\nRUN x');
  assert.deepEqual(r.diagnostics.map((d) => d.code), ['lint.expose-proto-casing', 'lint.expose-invalid-format']);
  assert.deepEqual(only(r.resolved.stages[0]!.steps[0]!, 'EXPOSE').items.map((w) => w.value), ['80/TCP', '80']);
  assert.deepEqual(envOf(r.resolved.stages[0]!.steps[2]!), { TARGETSTAGE: 'default' });
  const named = resolveStages(parseAst('FROM s AS app\nARG TARGETSTAGE\nRUN x'), { target: 'app' });
  assert.deepEqual(envOf(named.resolved.stages[0]!.steps[1]!), { TARGETSTAGE: 'app' });
});

test('UndefinedVar: a plain $v that no ARG or ENV defines warns where the stage env is known', () => {
  const codes = (text: string, imageEnv?: Map<string, string>) =>
    resolveStages(parseAst(text), { imageEnv: imageEnv && (() => imageEnv) }).diagnostics.map((d) => d.message);
  assert.deepEqual(codes('FROM scratch\nARG DECLARED\nENV A=$DECLARED$PATH${LIB:-}\nWORKDIR /$NOPE'), ["Usage of undefined variable '$NOPE'"]);
  assert.deepEqual(codes('FROM scratch\nENV APP=1\nWORKDIR /$APq'), ["Usage of undefined variable '$APq' (did you mean $APP?)"]);
  // An image of unknown Env may define it: say nothing.
  assert.deepEqual(codes('FROM img\nWORKDIR $HOME'), []);
  assert.deepEqual(codes('FROM img\nWORKDIR $HOME', new Map([['PATH', '/bin']])), ["Usage of undefined variable '$HOME'"]);
});

test('quoted global ARG values lose their quotes; a redeclared ARG inherits the global default', () => {
  const r = resolve('ARG a1="box" a2="$a1-foo"\nARG a3=${a2:-nope}\nFROM busy$a1\nARG a2\nARG a3="x y"\nRUN env');
  assert.equal(r.resolved.stages[0]!.base, 'busybox');
  assert.deepEqual(envOf(r.resolved.stages[0]!.steps[2]!), { a2: '-foo', a3: 'x y' });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceFile } from '../../src/diag/index.js';
import { parseDockerfile } from '../../src/syntax/index.js';
import { resolveStages } from '../../src/instructions/index.js';
import { buildPlan, type Plan } from '../../src/plan/index.js';
import type { CacheRecord, CacheStore, ParentKey } from '../../src/cache/index.js';
import { sha256Of } from '../../src/hash/index.js';
import { solve, type VertexOps } from '../../src/solver/index.js';
import type { BuildEvent } from '../../src/progress/index.js';

function planOf(text: string): Plan {
  const parsed = parseDockerfile(new SourceFile('Dockerfile', text));
  const { resolved } = resolveStages(parsed.ast!);
  return buildPlan(resolved, {}).plan!;
}

function memoryCache(): CacheStore & { records: Map<string, CacheRecord> } {
  const records = new Map<string, CacheRecord>();
  return {
    records,
    get: async (k) => records.get(k),
    put: async (r) => void records.set(r.key, r),
    previous: async (m) => [...records.values()].reverse().find((r) => JSON.stringify(r.material.op) === JSON.stringify(m.op)),
    forget: async (keys) =>
      [...keys].flatMap((k) => {
        const r = records.get(k);
        records.delete(k);
        return r ? [r] : [];
      }),
    gcHook: () => ({ name: 'mem' }),
  };
}

interface S {
  key: ParentKey;
  trail: string[];
}

/** Fake ops: each RUN takes `ms` (or fails when its text says so) and logs what ran. */
function fakeOps(executed: string[], inFlight: { now: number; max: number }, aborted: string[]): VertexOps<S> {
  const layer = (s: string) => ({ descriptor: { mediaType: 'x', digest: sha256Of(s), size: 1 }, diffId: sha256Of(s) });
  return {
    from: async (stage, _v, stages) => (stage.base.kind === 'stage' ? stages.get(stage.base.stage)! : { key: 'scratch', trail: [] }),
    meta: (_v, s) => s,
    // The solver adds version, parent and platform; the stages read enter the key as `exec`.
    keyFields: { platform: 'test' },
    keyMaterial: async (v, _s, stages) => ({ key: { op: { kind: 'WORKDIR', path: v.label }, exec: { user: v.edges.map((e) => stages.get(e.stage)!.key).join(' ') } } }),
    reuse: async (v, s, r) => ({ key: r.key, trail: [...s.trail, v.label] }),
    execute: async (v, s, key, _stages, io) => {
      executed.push(v.label);
      inFlight.max = Math.max(inFlight.max, ++inFlight.now);
      try {
        const ms = v.label.includes('slow') ? 2000 : 30;
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            clearTimeout(t);
            aborted.push(v.label);
            reject(new Error('aborted'));
          };
          const t = setTimeout(() => {
            io.signal.removeEventListener('abort', onAbort);
            resolve();
          }, ms);
          io.signal.addEventListener('abort', onAbort, { once: true });
        });
        if (v.label.includes('fail')) throw new Error(`${v.label} failed`);
        io.log('stdout', `ran ${v.label}`);
        return { state: { key, trail: [...s.trail, v.label] }, layer: layer(v.label) };
      } finally {
        inFlight.now--;
      }
    },
  };
}

const TWO_STAGES = `FROM scratch AS a
RUN a1
FROM scratch AS b
RUN b1
FROM scratch
COPY --from=a /x /x
COPY --from=b /y /y
`;

test('independent stages run side by side, each step once; a rebuild reuses every step', async () => {
  const plan = planOf(TWO_STAGES);
  const executed: string[] = [];
  const inFlight = { now: 0, max: 0 };
  const cache = memoryCache();
  const events: BuildEvent[] = [];
  const r = await solve(plan, fakeOps(executed, inFlight, []), { cache, emit: (e) => events.push(e) });
  assert.deepEqual(executed.sort(), ['COPY --from=a /x /x', 'COPY --from=b /y /y', 'RUN a1', 'RUN b1']);
  assert.equal(inFlight.max, 2);
  assert.deepEqual(r.steps.map((s) => [s.stage, s.index, s.cached]), [[0, 1, true], [0, 2, false], [1, 1, true], [1, 2, false], [2, 1, true], [2, 2, false], [2, 3, false]]);
  assert.ok(events.some((e) => e.type === 'step-log' && e.line === 'ran RUN a1'));

  const again: string[] = [];
  const r2 = await solve(plan, fakeOps(again, { now: 0, max: 0 }, []), { cache, emit: () => {} });
  assert.deepEqual(again, []);
  assert.ok(r2.steps.every((s) => s.cached));
  assert.equal(r2.target.key, r.target.key);
  const forced: string[] = [];
  await solve(plan, fakeOps(forced, { now: 0, max: 0 }, []), { cache, emit: () => {}, noCache: true });
  assert.equal(forced.length, 4);
});

test('the first failure aborts the running sibling and is what solve rejects with', async () => {
  const plan = planOf(TWO_STAGES.replace('RUN a1', 'RUN slow').replace('RUN b1', 'RUN fail'));
  const executed: string[] = [];
  const aborted: string[] = [];
  const events: BuildEvent[] = [];
  const t0 = Date.now();
  await assert.rejects(solve(plan, fakeOps(executed, { now: 0, max: 0 }, aborted), { cache: memoryCache(), emit: (e) => events.push(e) }), /RUN fail failed/);
  assert.ok(Date.now() - t0 < 1500, 'the slow step was aborted, not awaited to its end');
  assert.deepEqual(aborted, ['RUN slow']);
  assert.ok(!executed.some((l) => l.startsWith('COPY')), 'the dependent stage never started');
  assert.deepEqual(events.filter((e) => e.type === 'step-error').map((e) => (e as { step: { instruction: string } }).step.instruction), ['RUN fail']);
});


test('a stage runs its steps that read no other stage beside the stages it copies from later', async () => {
  // Stage a is slow; the final stage's RUN reads nothing, its COPY --from=b needs only b, and its
  // COPY --from=a has to wait for a: the order of `executed` shows what waited for what.
  const plan = planOf(`FROM scratch AS a
RUN a-slow
FROM scratch AS b
RUN b1
FROM scratch
RUN own
COPY --from=b /y /y
COPY --from=a /x /x
`);
  const finished: string[] = [];
  const emit = (e: BuildEvent) => void (e.type === 'step-done' && finished.push(e.step.instruction));
  const r = await solve(plan, fakeOps([], { now: 0, max: 0 }, []), { cache: memoryCache(), emit });
  assert.deepEqual(finished, ['RUN b1', 'RUN own', 'COPY --from=b /y /y', 'RUN a-slow', 'COPY --from=a /x /x']);
  assert.deepEqual(r.target.trail, ['RUN own', 'COPY --from=b /y /y', 'COPY --from=a /x /x']);
});

test('steps waiting for another stage hold no slot: more waiting stages than slots still finish', async () => {
  // With one slot, three stages that each wait on a fourth (which has not started) would deadlock
  // if a waiting stage kept its slot.
  const plan = planOf(`FROM scratch AS last
RUN l1
FROM scratch AS w1
RUN w1a
COPY --from=last /x /x
FROM scratch AS w2
COPY --from=last /y /y
FROM scratch
COPY --from=w1 /a /a
COPY --from=w2 /b /b
`);
  const executed: string[] = [];
  const inFlight = { now: 0, max: 0 };
  await solve(plan, fakeOps(executed, inFlight, []), { cache: memoryCache(), emit: () => {}, concurrency: 1 });
  assert.equal(inFlight.max, 1);
  assert.equal(executed.length, 6);
  assert.ok(executed.indexOf('RUN l1') < executed.indexOf('COPY --from=last /x /x'));
});

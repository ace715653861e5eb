/**
 * A worker thread that runs Dockerfile cases [start, end) through the in-process front end and
 * reports each one. The main thread watches the reports: a case that does not finish in time is a
 * hang, and the worker is terminated (V8 stops even a synchronous loop) and started after it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { dockerfileCase } from './dockerfile-gen.js';
import { runFront } from './front-pipeline.js';

export type WorkerMessage =
  | { kind: 'start'; index: number }
  | { kind: 'done'; index: number; outcome: 'accepted' | 'refused' | 'threw'; ms: number; error?: string };

const { seed, start, end } = workerData as { seed: number; start: number; end: number };
for (let index = start; index < end; index++) {
  const { bytes } = dockerfileCase(seed, index);
  parentPort!.postMessage({ kind: 'start', index } satisfies WorkerMessage);
  const t0 = performance.now();
  let msg: WorkerMessage;
  try {
    msg = { kind: 'done', index, outcome: runFront(bytes), ms: performance.now() - t0 };
  } catch (e) {
    const error = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    msg = { kind: 'done', index, outcome: 'threw', ms: performance.now() - t0, error };
  }
  parentPort!.postMessage(msg);
}

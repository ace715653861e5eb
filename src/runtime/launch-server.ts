/**
 * `wharf-container --serve` (native/wharf_container.c): one process an executor keeps, which forks a
 * launcher for each RUN and relays its output. Node's spawn of a launcher per RUN (the JavaScript
 * of a child process, two pipes, a fork of Node's large process, the exec) was ~2 ms of every RUN;
 * a fork of the small server is ~0.1 ms.
 *
 *   const server = startLaunchServer(program)
 *   const job = server.run(id, planFile, { stdout, stderr })   job.exited: the launcher's status
 *   job.kill()                                                 its container is killed
 *   server.close()                                             after the last run
 *
 * The server's process is referenced only while a run is in flight: an executor nobody closes
 * never keeps Node alive. It is started through the addon's posix_spawn (util/piped-child.ts).
 */
import { UserError, spawnPiped } from '../util/index.js';
import { LineSplitter } from './lines.js';
import type { Stdio } from './types.js';

export interface LaunchJob {
  /** The launcher's exit status (128+n for signal n; 125 when the container was not set up). */
  readonly exited: Promise<number>;
  /** Tells the launcher to end (SIGTERM), which kills its container. */
  kill(): void;
}

export interface LaunchServer {
  run(id: string, planFile: string, stdio: Stdio): LaunchJob;
  /** False once the server's process has ended (the next run needs a new server). */
  readonly alive: boolean;
  /** Ends the server once its runs are over (their launchers are told to end). */
  close(): void;
}

/** What a run's id and plan path may hold: the command line is split at spaces and ends at a newline. */
const SAFE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

interface Pending {
  readonly out: LineSplitter;
  readonly err: LineSplitter;
  readonly resolve: (status: number) => void;
  readonly reject: (e: Error) => void;
}

export function startLaunchServer(program: string): LaunchServer {
  const child = spawnPiped(program, ['--serve'], '/');
  const jobs = new Map<string, Pending>();
  let alive = true;
  let ended: UserError | undefined;
  child.ref(false);

  const gone = (why: string): void => {
    if (!alive) return;
    alive = false;
    // Its launchers and their containers died with it (PR_SET_PDEATHSIG): the steps in flight failed.
    ended = new UserError('runtime.launcher-gone', `wharf's container launcher (wharf-container --serve) ${why}: the steps it was running were stopped`,
      'run the build again; if it keeps happening, pass --runtime crun');
    for (const j of jobs.values()) j.reject(ended);
    jobs.clear();
    child.ref(false);
  };
  child.onExit((how) => gone('error' in how ? `could not run: ${how.error.message}` : `ended (${how.signal ?? `exit status ${how.code}`})`));
  child.stdin.on('error', () => undefined); // the exit above says what happened

  // Frames: `out ID LEN\n<bytes>`, `err ID LEN\n<bytes>`, `exit ID STATUS\n`.
  let buf: Buffer = Buffer.alloc(0);
  let payload: { job: Pending | undefined; stream: 'out' | 'err'; left: number } | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      if (payload) {
        if (buf.length === 0) return;
        const take = Math.min(payload.left, buf.length);
        payload.job?.[payload.stream].write(buf.subarray(0, take));
        buf = buf.subarray(take);
        payload.left -= take;
        if (payload.left > 0) return;
        payload = undefined;
        continue;
      }
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      const [kind, id, n] = buf.subarray(0, nl).toString('latin1').split(' ');
      buf = buf.subarray(nl + 1);
      const job = jobs.get(id ?? '');
      if (kind === 'exit') {
        if (!job) continue;
        jobs.delete(id!);
        job.out.end();
        job.err.end();
        job.resolve(Number(n));
        if (jobs.size === 0) child.ref(false);
      } else if (kind === 'out' || kind === 'err') {
        payload = { job, stream: kind, left: Number(n) };
      }
    }
  });

  return {
    get alive() {
      return alive;
    },
    run(id, planFile, stdio) {
      if (!SAFE_ID.test(id) || /[\n\0]/.test(planFile)) throw new Error(`launch server: unusable container id or plan path: ${id} ${planFile}`);
      if (!alive) return { exited: Promise.reject(ended), kill: () => undefined };
      const exited = new Promise<number>((resolve, reject) => {
        jobs.set(id, { out: new LineSplitter(stdio.stdout), err: new LineSplitter(stdio.stderr), resolve, reject });
      });
      child.ref(true);
      child.stdin.write(`run ${id} ${planFile}\n`);
      return {
        exited,
        kill: () => {
          if (alive && jobs.has(id)) child.stdin.write(`kill ${id}\n`);
        },
      };
    },
    close() {
      child.stdin.end();
    },
  };
}

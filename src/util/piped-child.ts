/**
 * A long-lived child with pipes on its stdin and stdout and nothing on its stderr (the launch
 * server), started through the addon's posix_spawn when there is one, else Node's spawn. Node's
 * spawn forks Node's whole address space: ~3.5 ms of the main thread, spent beside the first file
 * step of every build that runs a RUN (bench/README.md, "Speed, eighth round").
 *
 *   const child = spawnPiped(program, ['--serve'], '/')
 *   child.stdin.write(...); child.stdout.on('data', ...)
 *   child.onExit((how) => ...)     once: { code, signal }, or { error } when it could not start
 *   child.ref(false)               its pipes (and process) no longer keep Node running
 *
 * Through the addon, the exit is seen when its stdout closes: the child is then reaped (waitpid
 * without waiting, retried until it has ended), so a `wharf serve` running many builds leaves no
 * zombies. glibc's posix_spawn hands the child its two internal signals (32, 33) ignored when this
 * process handles them, and an ignored signal stays ignored across exec: a child that starts other
 * programs resets them (wharf-container --serve does).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { nativeAddon } from './native.js';

export type ChildEnd = { readonly code: number | null; readonly signal: NodeJS.Signals | null } | { readonly error: Error };

export interface PipedChild {
  readonly stdin: Writable;
  readonly stdout: Readable;
  onExit(cb: (how: ChildEnd) => void): void;
  ref(on: boolean): void;
}

/** How long a child whose stdout closed is waited for, at most, before it is left to init. */
const REAP_FOR_MS = 30_000;

export function spawnPiped(program: string, args: readonly string[], cwd: string): PipedChild {
  const addon = nativeAddon();
  if (!addon?.spawnPiped || !addon.reapChild) return nodeChild(program, args, cwd);
  const reapChild = addon.reapChild;
  const { end, onExit } = oneEnd();
  let fds: [number, number, number];
  try {
    fds = addon.spawnPiped([program, ...args], cwd);
  } catch (e) {
    // As Node's spawn: the caller hears of it as an exit, after it has set up its handlers.
    const error = e instanceof Error ? e : new Error(String(e));
    setImmediate(() => end({ error }));
    const none = new Socket();
    none.destroy();
    return { stdin: none, stdout: none, onExit, ref: () => undefined };
  }
  const [pid, inFd, outFd] = fds;
  const stdin = new Socket({ fd: inFd, readable: false, writable: true });
  const stdout = new Socket({ fd: outFd, readable: true, writable: false });
  const reap = (delay: number, waited: number) => {
    let r: [number, number] | undefined;
    try {
      r = reapChild(pid);
    } catch (e) {
      return end({ error: e instanceof Error ? e : new Error(String(e)) });
    }
    if (r) return end(r[1] ? { code: null, signal: signalName(r[1]) } : { code: r[0], signal: null });
    if (waited < REAP_FOR_MS) setTimeout(() => reap(Math.min(delay * 2, 100), waited + delay), delay);
  };
  stdout.once('close', () => reap(1, 0));
  return {
    stdin,
    stdout,
    onExit,
    ref: (on) => setRef([stdin, stdout], on),
  };
}

/** The first end reported is the one every onExit callback gets, whenever it was registered. */
function oneEnd(): { end: (how: ChildEnd) => void; onExit: (cb: (how: ChildEnd) => void) => void } {
  let ended: ChildEnd | undefined;
  const waiting: ((how: ChildEnd) => void)[] = [];
  return {
    end(how) {
      if (ended) return;
      ended = how;
      for (const cb of waiting.splice(0)) cb(how);
    },
    onExit: (cb) => (ended ? cb(ended) : void waiting.push(cb)),
  };
}

function signalName(n: number): NodeJS.Signals {
  const name = Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
  return (name ?? `SIG${n}`) as NodeJS.Signals;
}

function nodeChild(program: string, args: readonly string[], cwd: string): PipedChild {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'ignore'], cwd });
  const { end, onExit } = oneEnd();
  child.on('error', (error) => end({ error }));
  child.on('exit', (code, signal) => end({ code, signal }));
  return {
    stdin: child.stdin!,
    stdout: child.stdout!,
    onExit,
    // Node's child process pipes are sockets (they have ref/unref); the type says Writable/Readable.
    ref: (on) => setRef([child, child.stdin, child.stdout] as unknown as Refable[], on),
  };
}

type Refable = { ref(): unknown; unref(): unknown };

function setRef(handles: readonly Refable[], on: boolean): void {
  for (const h of handles) {
    if (on) h.ref();
    else h.unref();
  }
}

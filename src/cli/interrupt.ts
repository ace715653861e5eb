/**
 * Turns Ctrl-C / SIGTERM into an AbortSignal for the duration of one command, so the engine can
 * cancel containers and clean up instead of the process dying mid-way. `dispose` unhooks it.
 * `exitCode` is what a shell reports for a process that signal killed (128 + its number: 130 for
 * SIGINT, 143 for SIGTERM), as a command that was interrupted exits with it once cleaned up.
 */
export function interruptSignal(reason: () => unknown): { signal: AbortSignal; readonly exitCode: number; dispose(): void } {
  const controller = new AbortController();
  let exitCode = 0;
  const stop = (code: number) => {
    exitCode ||= code;
    controller.abort(reason());
  };
  const onInt = () => stop(130);
  const onTerm = () => stop(143);
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  active.add(stop);
  return {
    signal: controller.signal,
    get exitCode() {
      return exitCode;
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      active.delete(stop);
    },
  };
}

const active = new Set<(code: number) => void>();

/** Interrupts the running command as a signal would (e.g. 141 when its output pipe closed). */
export function interruptRunning(exitCode: number): void {
  for (const stop of active) stop(exitCode);
}

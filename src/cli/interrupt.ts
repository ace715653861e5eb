/**
 * Turns Ctrl-C / SIGTERM into an AbortSignal for the duration of one command, so the engine can
 * cancel containers and clean up instead of the process dying mid-way. `dispose` unhooks it.
 */
export function interruptSignal(reason: () => unknown): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort(reason());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

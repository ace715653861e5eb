/**
 * progress: build event types and the renderers, the only code that prints build output.
 *
 *   const r = createRenderer('plain' | 'json' | 'quiet' | 'tty', stream)
 *   solver emits BuildEvent → r.sink(event); r.close() when the build ends
 */
export * from './events.js';
export * from './render.js';
export { ttyRenderer } from './tty.js';

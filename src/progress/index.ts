/**
 * progress: build event types and the renderers, the only code that prints build output.
 *
 *   const sink = createRenderer('plain' | 'json' | 'quiet' | 'tty', stream)
 *   solver emits BuildEvent → sink(event)
 */
export * from './events.js';
export * from './render.js';

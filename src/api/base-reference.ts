import { parseReference } from '../store/index.js';

/** For the planner: why a FROM's expanded name is not an image reference (undefined when it is). */
export function checkBaseReference(ref: string): string | undefined {
  const r = parseReference(ref);
  return r.ok ? undefined : r.error.message.replace(/^invalid reference "[^"]*": /, '');
}

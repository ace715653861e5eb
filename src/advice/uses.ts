import type { OutlineInstruction } from './types.js';

const word = '[A-Za-z0-9_]';
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// A command that lists or passes on the whole environment reads every variable.
const WHOLE_ENV = /(?:^|[\s;&|(`])(?:env|printenv|export|set)\s*(?:$|[;&|)>`])/m;

/**
 * Whether an instruction (as written) may read a variable. A RUN gets every ARG and ENV in its
 * environment, so any mention of the name counts (`$V`, `${V}`, `printenv V`, `os.environ["V"]`),
 * as does a command that dumps the whole environment; a RUN that reads it only inside a script it
 * runs is not seen, which is why the advice names the lines to check. Other instructions read a
 * variable only through expansion (`$V`, `${V…}`). Declaring the name again ends the search too.
 */
export function usesVariable(i: OutlineInstruction, name: string): boolean {
  if (i.declares.includes(name)) return true;
  if (i.keyword === 'RUN') return new RegExp(`(?<!${word})${escape(name)}(?!${word})`).test(i.text) || WHOLE_ENV.test(i.text.replace(/^RUN\s+/i, ''));
  return new RegExp(`\\$\\{?${escape(name)}(?!${word})`).test(i.text);
}

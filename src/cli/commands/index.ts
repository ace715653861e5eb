import type { RegisterCommand } from '../context.js';
import { register as parse } from './parse.js';
import { register as plan } from './plan.js';

/**
 * Every command, in the order `wharf --help` lists them. Each module registers its options and
 * loads its implementation lazily inside the action, so `wharf images` never pays for the parser.
 */
export const commands: RegisterCommand[] = [
  parse,
  plan,
];

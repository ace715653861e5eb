import type { RegisterCommand } from '../context.js';
import { register as build } from './build.js';
import { register as bench } from './bench.js';
import { register as parse } from './parse.js';
import { register as plan } from './plan.js';
import { register as contextCommand } from './context.js';
import { register as images } from './images.js';
import { register as inspect } from './inspect.js';
import { register as history } from './history.js';
import { register as tag } from './tag.js';
import { register as rmi } from './rmi.js';
import { register as prune } from './prune.js';
import { register as fsck } from './fsck.js';
import { register as importImage } from './import.js';
import { register as save } from './save.js';
import { register as load } from './load.js';
import { register as containers } from './container.js';
import { register as login } from './login.js';
import { register as pull } from './pull.js';
import { register as push } from './push.js';
import { register as serve } from './serve.js';

/**
 * Every command, in the order `wharf --help` lists them. Each module registers its options and
 * loads its implementation lazily inside the action, so `wharf images` never pays for the parser.
 */
export const commands: RegisterCommand[] = [
  build,
  bench,
  parse,
  plan,
  contextCommand,
  images,
  inspect,
  history,
  tag,
  rmi,
  prune,
  fsck,
  importImage,
  save,
  load,
  pull,
  push,
  containers,
  login,
  serve,
];

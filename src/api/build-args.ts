// Flags that decide the front end's inputs, shared by `build`, `plan` and `bench`.
import { UserError, type Platform } from '../util/index.js';

/** `--build-arg K=V`, or `--build-arg K` to take K from the environment (as docker does). */
export function parseBuildArgs(list: readonly string[], env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq === 0) throw new UserError('cli.bad-build-arg', `invalid --build-arg "${a}"`, 'write --build-arg NAME=value');
    if (eq > 0) out.set(a.slice(0, eq), a.slice(eq + 1));
    else if (env[a] !== undefined) out.set(a, env[a]!);
  }
  return out;
}

/** `--platform os/arch[/variant]`. */
export function parsePlatform(text: string): Platform {
  const m = /^([a-z0-9_-]+)\/([a-z0-9_-]+)(?:\/([a-z0-9_.-]+))?$/i.exec(text);
  if (!m) throw new UserError('cli.bad-platform', `invalid --platform "${text}"`, 'write os/arch[/variant], e.g. linux/arm64');
  return { os: m[1]!.toLowerCase(), architecture: m[2]!.toLowerCase(), variant: m[3] };
}

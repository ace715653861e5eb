import { chmod, chown, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mount } from '../../instructions/index.js';
import { UserError } from '../../util/index.js';
import type { MountAddition } from './types.js';
import type { BuildDeps } from '../state.js';

/**
 * `RUN --mount=type=secret`: the value the CLI read (`--secret`) as a read-only file at the target
 * (default `/run/secrets/<id>`) and/or an environment variable, for this one RUN. The file is staged
 * in a private temp dir under the store (swept if wharf dies) and removed on every path out. Only
 * the mount's options enter the cache key (see mountKeyMaterial), as in BuildKit, never the value.
 */
export async function withSecret<T>(deps: BuildDeps, label: string, m: Mount, body: (add: MountAddition) => Promise<T>): Promise<T> {
  const id = m.id!;
  const value = deps.secrets?.get(id);
  if (value === undefined) {
    if (!m.required) return body({});
    throw new UserError(
      'build.secret-missing',
      `${label}: the secret "${id}" is required (RUN --mount=type=secret,id=${id},required) but the build was not given it`,
      `pass it with --secret id=${id},src=FILE or --secret id=${id},env=VARIABLE`,
    );
  }
  const env = m.env ? [`${m.env}=${Buffer.from(value).toString('utf8')}`] : [];
  if (!m.target) return body({ env });
  const dir = await deps.store.tempDir('secret');
  try {
    await chmod(dir, 0o700);
    const file = join(dir, 'secret');
    await writeFile(file, value, { mode: 0o400 });
    await chown(file, m.uid ?? 0, m.gid ?? 0);
    await chmod(file, m.mode ?? 0o400);
    return await body({ spec: { type: 'bind', source: file, destination: m.target, readonly: true }, env });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { SourceFile } from '../../src/diag/index.js';
import { parseDockerfile, type Dockerfile } from '../../src/syntax/index.js';

/** Parses a Dockerfile that the test expects to be syntactically valid. */
export function parseAst(text: string, name = 'Dockerfile'): Dockerfile {
  const r = parseDockerfile(new SourceFile(name, text));
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (!r.ast || errors.length) throw new Error(`test Dockerfile does not parse: ${errors.map((d) => d.message).join('; ')}`);
  return r.ast;
}

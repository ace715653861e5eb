/**
 * Hostile Dockerfiles for the fuzz campaign: valid seeds mutated by byte flips, dictionary tokens,
 * splices, NULs and invalid UTF-8, plus generators of deep nesting and huge inputs (the shapes
 * that once overflowed the stack). Case `i` of seed `s` is always the same bytes.
 */
import { caseRng, type Rng } from './rng.js';

export const SEEDS: readonly string[] = [
  `# syntax=docker/dockerfile:1
ARG BASE=busybox:test
ARG VERSION=1.2.3
FROM \${BASE} AS build
ARG VERSION
ENV APP_HOME=/app PATH="/app/bin:\${PATH}" VER=\${VERSION:-dev}
WORKDIR \${APP_HOME}
COPY --chown=app:app --chmod=0755 src/ ./src/
RUN --mount=type=cache,target=/root/.cache,id=c1,sharing=locked \\
    --mount=type=bind,source=.,target=/ctx \\
    echo "\${VER}" > /app/version && ls /ctx
FROM busybox:test
COPY --from=build /app/version /version
LABEL org.opencontainers.image.version=\${VERSION} maintainer="me <me@example.org>"
EXPOSE 80/tcp 8000-8010/udp
USER 1000:1000
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
`,
  `FROM scratch AS a
ADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 https://example.org/x.tar.gz /x
COPY --parents src/./app/**/*.go /out/
COPY --exclude=*.log --exclude=tmp logs/ /logs/
FROM a AS b
RUN <<EOF
set -e
echo "\${HOME}" > /home
EOF
COPY <<-EOT /etc/conf
	key=value
	EOT
RUN <<A cat - <<B > /out
first
A
second
B
FROM b
ONBUILD RUN echo onbuild
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q -O- http://localhost/ || exit 1
SHELL ["/bin/sh", "-eu", "-c"]
STOPSIGNAL SIGTERM
VOLUME ["/data", "/logs"]
`,
  `# escape=\`
FROM busybox:test
RUN echo a \`
    b \`
    c
ENV A=1 \`
    B=\${A:+set}
COPY a\`b /c
`,
  `ARG X
FROM busybox:test AS s1
RUN --network=none --security=sandbox true
RUN --mount=type=secret,id=tok,target=/run/secrets/tok,required=true cat /run/secrets/tok
RUN --mount=type=ssh,id=default true
RUN --mount=type=tmpfs,target=/tmp,size=1m true
FROM s1 AS s2
ARG X=\${X:-default}
ENV Y=\${X#de} Z=\${X%ult} W=\${X/fa/FA} V=\${X//a/b}
RUN echo $X $Y $Z '$W' "$V"
FROM s2
COPY --from=s1 --link /etc/passwd /p
MAINTAINER someone
`,
];

const KEYWORDS = [
  'FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD',
  'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'MAINTAINER', 'AS', 'scratch', 'NONE',
];
const FLAGS = [
  '--mount=type=cache,target=', '--mount=type=bind,from=', '--mount=type=secret,id=', '--mount=type=tmpfs,size=', '--mount=type=ssh',
  '--mount=', '--from=', '--from=0', '--chown=', '--chmod=', '--chmod=u+x', '--platform=', '--platform=$BUILDPLATFORM', '--network=host',
  '--security=insecure', '--link', '--parents', '--exclude=', '--keep-git-dir', '--checksum=', '--interval=', '--start-period=',
  '--retries=', '--unpack=', '--', '-', '--=',
];
const VARIABLES = [
  '$A', '${A}', '${A:-x}', '${A:+y}', '${A?err}', '${A:?}', '${A#*}', '${A##*/}', '${A%x}', '${A%%.*}', '${A/x/y}', '${A//x/}',
  '${', '}', '$', '${:}', '${A:', '${A:-${B:-${C}}}', '$$', '$1', '${#A}', '$TARGETPLATFORM', '${BUILDARCH}',
];
const PUNCT = [
  '"', "'", '\\', '`', '\\\n', '\n', '\r\n', '\r', '\t', ' ', '=', ':', '@', '@sha256:', '[', ']', '["', '"]', '{', '}', ',', '#',
  '# escape=`\n', '# escape=\\\n', '# syntax=x\n', '# check=error=true\n', '<<EOF\n', '<<-EOF\n', '<<"EOF"\n', 'EOF\n', '<<', '<<EOF',
  '\0', '\u00a0', '\u2028', '\ufeff', '\ufffd', '😀', '..', '../', '/', '*', '**', '?', '[!a-', '\\u0000',
];
const DICTIONARY = [...KEYWORDS, ...FLAGS, ...VARIABLES, ...PUNCT];
const INVALID_UTF8 = [[0xff], [0xfe], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0x80, 0x80]];

/** Deep nesting and huge shapes, each at a depth or size drawn by `r`. */
const GENERATORS: readonly ((r: Rng) => string)[] = [
  (r) => nest(r, 'ENV X=', '${A:-', 'v', '}'),
  (r) => nest(r, 'ARG X=', '${A:+', 'v', '}'),
  (r) => nest(r, 'RUN echo ', '"${A:-', 'v', '}"'),
  (r) => nest(r, 'LABEL l=', '${A#', '*', '}'),
  (r) => nest(r, 'RUN ', '[', '"x"', ']'),
  (r) => nest(r, 'CMD ', '["', 'x', '"]'),
  (r) => nest(r, 'ENV X=', '"\'', 'x', '\'"'),
  (r) => nest(r, 'RUN echo ', '$(', 'x', ')'),
  (r) => `FROM scratch\nRUN echo ${'a \\\n'.repeat(depth(r))}b\n`,
  (r) => `FROM scratch\nRUN echo ${'\\\n'.repeat(depth(r))}\n`,
  (r) => `FROM scratch\nRUN echo ${'x'.repeat(1 + r.int(2_000_000))}\n`,
  (r) => `FROM scratch\n${'RUN true\n'.repeat(depth(r))}`,
  (r) => `FROM scratch\nRUN ${Array.from({ length: Math.min(depth(r), 500) }, (_, i) => `<<E${i}`).join(' ')} cat\n${Array.from({ length: Math.min(depth(r), 500) }, (_, i) => `x\nE${i}\n`).join('')}`,
  (r) => `FROM scratch\nRUN <<EOF\n${'line\n'.repeat(depth(r))}`,
  (r) => stageChain(r),
  (r) => `FROM scratch\n${Array.from({ length: Math.min(depth(r), 3000) }, (_, i) => `ARG A${i + 1}=\${A${i}}`).join('\n')}\nRUN echo $A1\n`,
  (r) => `FROM scratch\nENV ${Array.from({ length: depth(r) }, (_, i) => `K${i}=v`).join(' ')}\n`,
  (r) => `FROM scratch\nRUN ${Array.from({ length: Math.min(depth(r), 2000) }, () => '--mount=type=tmpfs,target=/t').join(' ')} true\n`,
  (r) => `FROM scratch\nCOPY ${Array.from({ length: depth(r) }, (_, i) => `f${i}`).join(' ')} /d/\n`,
  (r) => `${'# comment\n'.repeat(depth(r))}FROM scratch\n`,
  (r) => `FROM scratch\nONBUILD ${'ONBUILD '.repeat(Math.min(depth(r), 1000))}RUN x\n`,
  // Shell patterns that make a backtracking matcher take exponential time.
  (r) => `FROM scratch\nENV A=${'a'.repeat(Math.min(depth(r), 5000))}\nENV B=\${A${r.pick(['#', '##', '%', '%%', '/', '//'])}${'*a'.repeat(1 + r.int(30))}*b}\n`,
  (r) => `FROM scratch\nCOPY ${r.pick(FLAGS).replace(/=$/, '=x')} `.repeat(1) + `${r.pick(FLAGS)}x `.repeat(Math.min(depth(r), 5000)) + 'a /b\n',
];

function depth(r: Rng): number {
  return r.pick([10, 100, 1000, 2000, 5000, 20_000]) + r.int(50);
}

function nest(r: Rng, head: string, open: string, middle: string, close: string): string {
  const n = depth(r);
  return `FROM scratch\n${head}${open.repeat(n)}${middle}${close.repeat(n)}\n`;
}

function stageChain(r: Rng): string {
  const n = Math.min(depth(r), 3000);
  const lines = ['FROM scratch AS s0'];
  for (let i = 1; i < n; i++) lines.push(r.chance(0.5) ? `FROM s${i - 1} AS s${i}` : `FROM scratch AS s${i}\nCOPY --from=s${i - 1} /a /a`);
  return lines.join('\n') + '\n';
}

/** One mutation of `b` in place of itself. */
function mutate(r: Rng, b: Buffer, seeds: readonly Buffer[]): Buffer {
  const at = (len = b.length) => r.int(len + 1);
  switch (r.int(10)) {
    case 0: {
      if (b.length === 0) return b;
      const c = Buffer.from(b);
      const i = r.int(c.length);
      c[i] = r.chance(0.5) ? c[i]! ^ (1 << r.int(8)) : r.int(256);
      return c;
    }
    case 1:
    case 2: {
      const i = at();
      return Buffer.concat([b.subarray(0, i), Buffer.from(r.pick(DICTIONARY)), b.subarray(i)]);
    }
    case 3: {
      const i = at();
      const j = Math.min(b.length, i + r.int(64));
      return Buffer.concat([b.subarray(0, i), b.subarray(j)]);
    }
    case 4: {
      const i = at();
      const j = Math.min(b.length, i + r.int(128));
      const times = r.pick([2, 10, 100, 1000]);
      return Buffer.concat([b.subarray(0, i), ...Array.from({ length: times }, () => b.subarray(i, j)), b.subarray(j)]);
    }
    case 5: {
      const i = at();
      return Buffer.concat([b.subarray(0, i), Buffer.from(r.pick(INVALID_UTF8)), b.subarray(i)]);
    }
    case 6: {
      const i = at();
      return Buffer.concat([b.subarray(0, i), Buffer.alloc(1 + r.int(4)), b.subarray(i)]);
    }
    case 7: {
      // Splice: the tail of another seed from a line start.
      const other = r.pick(seeds);
      const from = other.indexOf(10, r.int(other.length));
      const i = b.indexOf(10, at());
      return Buffer.concat([b.subarray(0, i < 0 ? b.length : i + 1), from < 0 ? other : other.subarray(from + 1)]);
    }
    case 8: {
      const lines = b.toString('latin1').split('\n');
      const i = r.int(lines.length);
      const j = r.int(lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      if (r.chance(0.3)) lines.splice(r.int(lines.length), 0, lines[i]!);
      return Buffer.from(lines.join(r.chance(0.1) ? '\r\n' : '\n'), 'latin1');
    }
    default: {
      // A whole dictionary line.
      const i = b.indexOf(10, at());
      const line = `${r.pick(KEYWORDS)} ${r.pick(DICTIONARY)}${r.pick(DICTIONARY)} ${r.pick(DICTIONARY)}\n`;
      return Buffer.concat([b.subarray(0, i < 0 ? b.length : i + 1), Buffer.from(line), b.subarray(i < 0 ? b.length : i + 1)]);
    }
  }
}

const SEED_BUFFERS = SEEDS.map((s) => Buffer.from(s));
const MAX_BYTES = 4 * 1024 * 1024;

/** What case `index` of campaign `seed` feeds the parser, and how it was made (for the report). */
export function dockerfileCase(seed: number, index: number): { bytes: Buffer; how: string } {
  const r = caseRng(seed, index, 1);
  if (r.chance(0.12)) {
    const g = r.int(GENERATORS.length);
    let b: Buffer = Buffer.from(GENERATORS[g]!(r));
    if (r.chance(0.3)) b = mutate(r, b, SEED_BUFFERS);
    return { bytes: b.subarray(0, MAX_BYTES), how: `generator ${g}` };
  }
  const s = r.int(SEED_BUFFERS.length);
  let b: Buffer = SEED_BUFFERS[s]!;
  const n = 1 + r.int(r.chance(0.2) ? 20 : 4);
  for (let k = 0; k < n && b.length < MAX_BYTES; k++) b = mutate(r, b, SEED_BUFFERS);
  return { bytes: b.subarray(0, MAX_BYTES), how: `seed ${s}, ${n} mutations` };
}

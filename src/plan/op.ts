/**
 * A vertex's operation as plain data: the instruction after expansion with source ranges and AST
 * nodes dropped, ready for `canonicalJSON` (the `op` part of a cache key) and for `--format json`.
 * Undefined members are meant to vanish in canonical JSON.
 */
import type { Command, TypedInstruction } from '../instructions/index.js';
import type { Vertex } from './types.js';

export type OpData = Readonly<Record<string, unknown>>;

const command = (c: Command): OpData => (c.form === 'exec' ? { exec: c.args.map((a) => a.value) } : { shell: c.text.value });

export function vertexOp(v: Vertex): OpData {
  return instructionOp(v.instruction);
}

export function instructionOp(i: TypedInstruction): OpData {
  switch (i.kind) {
    case 'FROM':
      return { kind: i.kind, image: i.image.value, platform: i.platform?.value, stage: i.stageName?.value.toLowerCase() };
    case 'RUN':
      return {
        kind: i.kind,
        command: command(i.command),
        heredocs: i.files.map((f) => ({ name: f.name, data: f.data, expand: f.expand, chomp: f.chomp, fd: f.fileDescriptor })),
        mounts: i.mounts.map(({ range: _range, ...m }) => m),
        network: i.network,
        security: i.security,
      };
    case 'COPY':
    case 'ADD':
      return {
        kind: i.kind,
        sources: i.sources.map((w) => w.value),
        contents: i.contents.map((c) => ({ name: c.name, data: c.data, expand: c.expand })),
        dest: i.dest.value,
        from: i.from?.value,
        chown: i.chown?.value,
        chmod: i.chmod?.value,
        link: i.link,
        parents: i.parents,
        exclude: i.exclude.map((w) => w.value),
        checksum: i.checksum?.value,
        keepGitDir: i.keepGitDir,
        unpack: i.unpack,
      };
    case 'ENV':
    case 'LABEL':
      return { kind: i.kind, pairs: i.pairs.map((p) => [p.key, p.value]) };
    case 'ARG':
      return { kind: i.kind, args: i.args.map((a) => [a.key, a.value ?? null]) };
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind: i.kind, command: command(i.command) };
    case 'SHELL':
      return { kind: i.kind, shell: i.shell };
    case 'EXPOSE':
    case 'VOLUME':
      return { kind: i.kind, items: i.items.map((w) => w.value) };
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      return { kind: i.kind, value: i.value.value };
    case 'HEALTHCHECK':
      return { kind: i.kind, command: i.command && command(i.command), options: i.options };
    case 'ONBUILD':
      return { kind: i.kind, trigger: i.trigger };
  }
}

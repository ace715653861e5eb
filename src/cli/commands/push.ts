import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('push')
    .description('Upload an image from the store to a registry')
    .argument('<name>', 'image name[:tag]')
    .option('-q, --quiet', 'print only the image name')
    .option('--progress <mode>', 'auto (default: bars on a tty, else a line per layer), tty, plain, or json (one event per line)')
    .option('--compression <kind>', 'how uncompressed layers go over the wire: gzip (default), zstd or none', 'gzip')
    .option('--format <format>', 'manifest format: docker (schema2 when every layer is gzip; the default) or oci', 'docker')
    .option('--chunk-size <size>', 'upload blobs larger than this in PATCH chunks of this size, e.g. 5m (default: one request per blob)')
    .action(async (name: string, opts: { quiet?: boolean; progress?: string; compression: string; format: string; chunkSize?: string }, cmd) => {
      const { pushCmd } = await import('../registry.js');
      setExitCode(cmd, await pushCmd(ctx, ctx.root(cmd), name, opts));
    });
};

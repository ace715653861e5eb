import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('import')
    .description('Create a one-layer image from a rootfs tarball (like docker import)')
    .argument('<file>', 'rootfs tarball: .tar, .tar.gz, .tar.xz, .tar.bz2 or .tar.zst')
    .argument('<name>', 'image name[:tag]')
    .option('--compression <kind>', 'layer compression: gzip or zstd', 'gzip')
    .action(async (file: string, name: string, opts: { compression: string }, cmd) => {
      const { importCmd } = await import('../archive-commands.js');
      setExitCode(cmd, await importCmd(ctx, ctx.root(cmd), file, name, opts));
    });
};

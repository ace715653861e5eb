/**
 * A platform as OCI image configs and index entries name it (`linux/arm/v7`). Declared here, below
 * both instructions (TARGETPLATFORM and friends) and image (the config's os/architecture), so the
 * two layers share one type.
 */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** Node's `process.arch` names → GOARCH names, with the variant Docker reports for the host. */
const BY_NODE_ARCH: Readonly<Record<string, { architecture: string; variant?: string }>> = {
  x64: { architecture: 'amd64' },
  ia32: { architecture: '386' },
  arm64: { architecture: 'arm64' },
  // Node's prebuilt 32-bit ARM binaries need ARMv7, so a host running one is v7.
  arm: { architecture: 'arm', variant: 'v7' },
  ppc64: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
};

/** The platform of a host with Node's `process.arch` value `arch`. */
export function hostPlatform(arch: string = process.arch, os = 'linux'): Platform {
  const p = BY_NODE_ARCH[arch];
  if (!p) return { architecture: arch, os };
  return p.variant ? { architecture: p.architecture, os, variant: p.variant } : { architecture: p.architecture, os };
}

/** `os/arch[/variant]`, as TARGETPLATFORM and `--platform` spell it. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * The /etc/resolv.conf of a RUN with its own network, as docker writes it for a bridge network
 * (libnetwork's resolvconf.FilterResolvDNS): the host's file without loopback nameservers (they
 * are the host's own, out of reach from the container) nor IPv6 ones (the network has no IPv6),
 * and Google's public servers when no nameserver is left.
 */
export const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'] as const;

export function containerResolvConf(host: string): string {
  const lines = host.split('\n');
  const kept = lines.filter((l) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    if (!m) return true;
    const ip = m[1]!;
    return !(ip.startsWith('127.') || ip.includes(':'));
  });
  let text = kept.join('\n').replace(/\n{3,}/g, '\n\n');
  if (!kept.some((l) => /^\s*nameserver\s/.test(l))) {
    if (text.length && !text.endsWith('\n')) text += '\n';
    text += DEFAULT_NAMESERVERS.map((ip) => `nameserver ${ip}\n`).join('');
  }
  return text;
}

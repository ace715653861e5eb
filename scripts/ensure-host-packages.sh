#!/usr/bin/env bash
# Installs the Debian packages wharf's tests and demo use (plus any named as arguments), when missing. Needs root (as CI is);
# without root it only reports what is missing, and the tests that need it fail with that message.
set -euo pipefail
want=(runc crun busybox-static slirp4netns iproute2 skopeo umoci attr zstd xz-utils bzip2 docker.io graphviz gcc libc6-dev docker-registry openssl apache2-utils chromium strace "$@")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "wharf: missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "wharf: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

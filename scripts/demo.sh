#!/usr/bin/env bash
# Shows preflight's first run and its no-op second run against throwaway servers.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f package.json ] || { echo "$0: cannot find the repository root" >&2; exit 1; }
bash scripts/ensure-deps.sh
npm run demo

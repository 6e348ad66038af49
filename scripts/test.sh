#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine. Arguments go to run-tests: test files
# (dist/test/x.test.js or test/x.test.ts) and `node --test` flags in --flag=value form.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f package.json ] || { echo "$0: cannot find the repository root" >&2; exit 1; }
bash scripts/ensure-deps.sh
npm run lint
npm test -- "$@"

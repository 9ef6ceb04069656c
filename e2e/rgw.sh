#!/usr/bin/env bash
# A throwaway single-node Ceph cluster with one RADOS Gateway (S3 + IAM user policies), for
# test_projects_rgw.py: moto, the suite's S3 server, does not evaluate IAM conditions such as
# the s3:prefix StringLike that limits a project's ListBucket; RGW does.
#   bash e2e/rgw.sh start DIR   # idempotent; prints the S3 endpoint; DIR/admin.json (0600) holds
#                               # the admin user's generated keys (caps user-policy=*, users=*)
#   bash e2e/rgw.sh stop DIR    # idempotent; stops every daemon started from DIR, keeps DIR/log
# Installs nothing: e2e/run installs radosgw, ceph-mon and ceph-osd (Debian 12: Ceph 16.2.15).
# One mon, one OSD on memstore (RAM only), pool size 1, cephx off, everything bound to 127.0.0.1.
set -euo pipefail

cmd="${1:-}"; dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ "$cmd" = start ] && mkdir -p "$dir"
[ -d "$dir" ] || exit 0   # stop: nothing was started there
dir="$(cd "$dir" && pwd)"
conf="$dir/ceph.conf"
log="$dir/log"
DAEMONS=(client.rgw.e2e osd.0 mon.a)   # stop order

die() { echo "rgw.sh: $*; logs in $log" >&2; exit 1; }

# A pid file's process, only if it is still one of ours (its command line names our ceph.conf).
ours() {
    local f="$dir/run/$1.pid" pid
    [ -f "$f" ] || return 1
    pid="$(cat "$f")"
    [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$conf" || return 1
    echo "$pid"
}

stop() {
    local d pid pids=()
    for d in "${DAEMONS[@]}"; do
        pid="$(ours "$d")" && { kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); }
    done
    for _ in $(seq 1 100); do
        local alive=0
        for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/run" "$conf" "$dir/admin.json" "$dir/endpoint"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_until() {  # wait_until SECONDS WHAT COMMAND...
    local secs="$1" what="$2"; shift 2
    for _ in $(seq 1 $((secs * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
    die "$what not ready after ${secs}s"
}

write_conf() {
    local mon_port="$1" rgw_port="$2"
    cat > "$conf" <<EOF
[global]
fsid = $(cat /proc/sys/kernel/random/uuid)
mon host = v1:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = /dev/null
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $log/\$name.log
osd objectstore = memstore
memstore device bytes = 536870912
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
# At start an OSD asks the mon to set its crush location and device class; in about one start
# in three that first command carried a zero fsid here ("wrong fsid", the OSD exits). The script
# places osd.0 in the crush map itself instead.
osd crush update on start = false
osd class update on start = false
mon allow pool size one = true
mon warn on pool no redundancy = false
# A nearly full CI disk must not stop the mon (it shuts down below mon_data_avail_crit, 5%).
mon data avail crit = 0
[client.admin]
admin socket =
[mon.a]
mon data = $dir/mon/a
[osd.0]
osd data = $dir/osd/0
[client.rgw.e2e]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
rgw enable apis = s3, iam, admin
EOF
}

start() {
    local pid
    if pid="$(ours client.rgw.e2e)" && [ -s "$dir/endpoint" ]; then cat "$dir/endpoint"; return 0; fi
    stop
    mkdir -p "$dir/run" "$dir/mon/a" "$dir/osd/0" "$dir/rgw" "$log"
    local mon_port rgw_port uuid id
    mon_port="$(free_port)"; rgw_port="$(free_port)"
    write_conf "$mon_port" "$rgw_port"
    local fsid; fsid="$(awk '/^fsid/{print $3}' "$conf")"
    monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$dir/run/monmap" > "$log/setup.log" 2>&1 \
        || die "monmaptool failed"
    ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/run/monmap" >> "$log/setup.log" 2>&1 || die "ceph-mon --mkfs failed"
    ceph-mon -c "$conf" -i a >> "$log/setup.log" 2>&1 || die "ceph-mon failed to start"
    wait_until 30 "mon" ceph -c "$conf" --connect-timeout 5 mon stat
    uuid="$(cat /proc/sys/kernel/random/uuid)"
    id="$(ceph -c "$conf" --connect-timeout 10 osd new "$uuid" 2>> "$log/setup.log")" || die "ceph osd new failed"
    [ "$id" = 0 ] || die "expected osd id 0, got $id"
    ceph -c "$conf" --connect-timeout 10 osd crush add osd.0 1.0 root=default >> "$log/setup.log" 2>&1 \
        || die "ceph osd crush add failed"
    ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$uuid" >> "$log/setup.log" 2>&1 || die "ceph-osd --mkfs failed"
    ceph-osd -c "$conf" -i 0 >> "$log/setup.log" 2>&1 || die "ceph-osd failed to start"
    wait_until 60 "osd.0 up" sh -c "ceph -c '$conf' --connect-timeout 5 osd dump | grep -q '^osd.0 up'"
    radosgw -c "$conf" -n client.rgw.e2e >> "$log/setup.log" 2>&1 || die "radosgw failed to start"
    # RGW creates its pools on first start, then answers anonymous GET / with 200.
    wait_until 90 "radosgw" python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$rgw_port/', timeout=2)"
    # Keys generated by radosgw-admin, kept in a 0600 file, never on a command line.
    (umask 077; radosgw-admin -c "$conf" user create --uid=e2e-admin --display-name=e2e-admin \
        --caps="user-policy=*;users=*;buckets=*" > "$dir/admin.json" 2>> "$log/setup.log") \
        || die "radosgw-admin user create failed"
    echo "http://127.0.0.1:$rgw_port" | tee "$dir/endpoint"
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

# Sourced by scripts/bench: processes it starts (stopped on exit, each by its own pid) and what /proc says of them.

# --- processes: everything started here is stopped on exit, by its own pid ----------------------------------

work="$(mktemp -d "${TMPDIR:-/tmp}/execbridge-bench.XXXXXX")"
started=()
stop_pid() {
    local pid="$1"
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${started[@]}"; do stop_pid "$pid"; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {
    local port="$1" pid="$2"
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_server NAME CMD... (PORT in the command is replaced by a free port): sets PID[NAME], PORT[NAME].
declare -A PID PORT
start_server() {
    local name="$1" port arg args=()
    shift
    port="$("$bench_bin" free-port)"
    for arg in "$@"; do args+=("${arg//PORT/$port}"); done
    "${args[@]}" >"$work/$name.log" 2>&1 &
    PID[$name]=$!
    PORT[$name]="$port"
    started+=("$!")
    wait_port "$port" "$!" || {
        echo "bench: $name did not start: $(tail -n 3 "$work/$name.log" | tr '\n' ' ')" >&2
        exit 1
    }
}

# Peak RSS of a server during one measurement: reset its high-water mark first (clear_refs 5), read it after.
reset_peak() { [ -z "$1" ] || echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
peak_kb() { [ -z "$1" ] || sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || true; }
# CPU seconds (user + system) a process has used, its children not included (fields 14 and 15 of stat).
clock_ticks="$(getconf CLK_TCK)"
cpu_s() { [ -z "$1" ] || awk -v t="$clock_ticks" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null || true; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || true; }


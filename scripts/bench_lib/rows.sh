# Sourced by scripts/bench: the rows measured in interleaved rounds, the command of each, and one measurement.


# Each row has a kind (stream: MB/s; sessions: sessions/s and latencies; h2load: requests/s; local: MB/s of the
# in-process bridge), a label, a thread count, the server whose RSS is watched, and the row its ratio is against.
ROWS=()
declare -A KIND LABEL THREADS SERVER ANCHOR
row() { # ID KIND LABEL THREADS SERVER ANCHOR
    ROWS+=("$1")
    KIND[$1]="$2"
    LABEL[$1]="$3"
    THREADS[$1]="$4"
    SERVER[$1]="$5"
    ANCHOR[$1]="$6"
}

url_gateway() { # PORT COMMAND...: the apiserver path form, as kubectl sends it
    local port="$1" q="" a
    shift
    for a in "$@"; do q+="&command=$a"; done
    printf 'http://127.0.0.1:%s/api/v1/namespaces/default/pods/bench/exec?container=app%s&stdout=true&stderr=true' "$port" "$q"
}
url_kubelet() { # PORT COMMAND...: the form a node's streaming server serves
    local port="$1" q="" a
    shift
    for a in "$@"; do q+="${q:+&}command=$a"; done
    printf 'http://127.0.0.1:%s/exec/default/bench/app?%s&output=1&error=1' "$port" "$q"
}


define_rows() {
    cores="$(nproc)"
    refused_port="$("$bench_bin" free-port)" # nothing listens there
    if wants local; then
        row local-ceiling local "head | cat > /dev/null (ceiling)" - "" ""
        row local-bridge local "LocalBackend -> Bridge -> discarding frontend" - "" local-ceiling
    fi
    with_upstream=0
    if wants upstream; then
        if [ "$have_go" = 1 ]; then with_upstream=1; else echo "bench: no Go server, no upstream section" >&2; fi
    fi
    if wants spdy || wants h2 || wants ws || wants sessions || [ "$with_upstream" = 1 ]; then
        # Floors: what a session costs before any protocol — starting the command, and starting the Go client.
        row floor-true sessions "floor: posix_spawn + wait \`true\`, no network" - "" ""
    fi
    if wants spdy || wants h2 || wants ws || wants sessions || wants bulk; then
        start_server gw1 "$gateway_bin" serve --listen 127.0.0.1:PORT --threads 1 --log-level error
        start_server gwN "$gateway_bin" serve --listen 127.0.0.1:PORT --log-level error
    fi
    if [ "$have_go" = 1 ] && { wants spdy || wants upstream || wants bulk; }; then
        # Kubelet's teardown (status, RST_STREAM, GOAWAY, close): the anchor, and the upstream behind a gateway.
        start_server goC "$go_server" -listen 127.0.0.1:PORT
    fi
    if wants spdy; then
        if [ "$have_go" = 1 ]; then
            # The in-repo client once lost the tail of its output to kubelet's classic teardown (fixed since: it
            # sends no WINDOW_UPDATE); its rows here keep the graceful teardown so that they stay comparable with
            # earlier runs. The upstream section uses classic.
            start_server goG "$go_server" -listen 127.0.0.1:PORT -teardown graceful
            row spdy-s-go-go stream "Go client -> Go spdy-exec-server (anchor)" - goC ""
            row spdy-s-sw-go stream "in-repo client -> Go server (graceful)" - goG ""
            row spdy-s-go-gw1 stream "Go client -> execbridge" 1 gw1 spdy-s-go-go
            row spdy-s-go-gwN stream "Go client -> execbridge" "$cores" gwN spdy-s-go-go
        fi
        row spdy-s-sw-gw1 stream "in-repo client -> execbridge" 1 gw1 spdy-s-sw-go
        row spdy-s-sw-gwN stream "in-repo client -> execbridge" "$cores" gwN spdy-s-sw-go
        if [ "$have_go" = 1 ]; then
            row floor-go sessions "floor: Go client start, connection refused" - "" ""
            row spdy-n-go-go sessions "Go client -> Go spdy-exec-server (anchor)" - goC ""
            row spdy-n-sw-go sessions "in-repo client -> Go server (graceful)" - goG ""
            row spdy-n-go-gw1 sessions "Go client -> execbridge" 1 gw1 spdy-n-go-go
            row spdy-n-go-gwN sessions "Go client -> execbridge" "$cores" gwN spdy-n-go-go
        fi
        row spdy-n-sw-gw1 sessions "in-repo client -> execbridge" 1 gw1 spdy-n-sw-go
        row spdy-n-sw-gwN sessions "in-repo client -> execbridge" "$cores" gwN spdy-n-sw-go
    fi
    if wants h2; then
        docroot="$work/docroot"
        mkdir -p "$docroot"
        printf 'ok' >"$docroot/healthz"
        start_server nghttpd /usr/sbin/nghttpd --no-tls -d "$docroot" PORT
        row h2-s-sw-gw1 stream "in-repo client -> execbridge" 1 gw1 ""
        row h2-s-sw-gwN stream "in-repo client -> execbridge" "$cores" gwN ""
        row h2-n-sw-gw1 sessions "in-repo client -> execbridge" 1 gw1 ""
        row h2-n-sw-gwN sessions "in-repo client -> execbridge" "$cores" gwN ""
        row h2-l-nghttpd h2load "nghttpd --no-tls (static file)" 1 nghttpd ""
        row h2-l-gw1 h2load "execbridge /healthz" 1 gw1 h2-l-nghttpd
        row h2-l-gwN h2load "execbridge /healthz" "$cores" gwN h2-l-nghttpd
    fi
    if wants ws; then
        # Compared with the in-repo SPDY and HTTP/2 clients against the same gateways in the same rounds: their rows
        # come from sections 2 and 3, or are measured here when those sections are not run.
        for wire in spdy h2; do
            wants "$wire" && continue
            row "$wire-s-sw-gw1" stream "in-repo client -> execbridge" 1 gw1 ""
            row "$wire-s-sw-gwN" stream "in-repo client -> execbridge" "$cores" gwN ""
            row "$wire-n-sw-gw1" sessions "in-repo client -> execbridge" 1 gw1 ""
            row "$wire-n-sw-gwN" sessions "in-repo client -> execbridge" "$cores" gwN ""
        done
        row ws-s-sw-gw1 stream "in-repo client -> execbridge" 1 gw1 ""
        row ws-s-sw-gwN stream "in-repo client -> execbridge" "$cores" gwN ""
        row ws-n-sw-gw1 sessions "in-repo client -> execbridge" 1 gw1 ""
        row ws-n-sw-gwN sessions "in-repo client -> execbridge" "$cores" gwN ""
    fi
    if [ "$with_upstream" = 1 ]; then
        # The gateway in front of the classic Go server, at its default loop count. The anchors are the same clients
        # against that Go server directly; HTTP/2 and WebSocket clients cannot reach a SPDY server directly, so their
        # rows compare with the in-repo SPDY client's direct row (the same client code base, the same upstream).
        start_server gwU "$gateway_bin" serve --listen 127.0.0.1:PORT --backend "spdy://127.0.0.1:${PORT[goC]}" --log-level error
        wants spdy || row spdy-s-go-go stream "Go client -> Go spdy-exec-server (anchor)" - goC ""
        row up-s-sw-go stream "in-repo SPDY client -> Go server" - goC ""
        row up-s-go-gwU stream "Go client -> execbridge -> Go server" "$cores" gwU spdy-s-go-go
        # The ceiling of any relay on this machine: the same bytes moved by splice(2), never through user space.
        start_server spl "$bench_bin" splice-relay --port PORT --to "${PORT[goC]}"
        row up-s-go-spl stream "Go client -> splice(2) relay -> Go server" - spl spdy-s-go-go
        row up-s-sw-gwU stream "in-repo SPDY -> execbridge -> Go server" "$cores" gwU up-s-sw-go
        row up-s-h2-gwU stream "in-repo HTTP/2 -> execbridge -> Go server" "$cores" gwU up-s-sw-go
        row up-s-ws-gwU stream "in-repo WS v5 -> execbridge -> Go server" "$cores" gwU up-s-sw-go
        if ! wants spdy; then
            row floor-go sessions "floor: Go client start, connection refused" - "" ""
            row spdy-n-go-go sessions "Go client -> Go spdy-exec-server (anchor)" - goC ""
        fi
        row up-n-sw-go sessions "in-repo SPDY client -> Go server" - goC ""
        row up-n-go-gwU sessions "Go client -> execbridge -> Go server" "$cores" gwU spdy-n-go-go
        row up-n-sw-gwU sessions "in-repo SPDY -> execbridge -> Go server" "$cores" gwU up-n-sw-go
        row up-n-h2-gwU sessions "in-repo HTTP/2 -> execbridge -> Go server" "$cores" gwU up-n-sw-go
        row up-n-ws-gwU sessions "in-repo WS v5 -> execbridge -> Go server" "$cores" gwU up-n-sw-go
    fi
    ! wants upstream || define_relay_rows
    ! wants sessions || define_session_rows
    ! wants bulk || define_bulk_rows
}


# The command of one row's measurement (one round).
row_command() {
    local id="$1" server="${SERVER[$1]}" port="" wire
    [ -z "$server" ] || port="${PORT[$server]}"
    case "$id" in h2-* | up-?-h2* | bulk-h2-*) wire=h2 ;; ws-* | up-?-ws-*) wire=ws ;; *) wire=spdy ;; esac
    CMD=()
    case "$id" in
    mux-n-seq-*) CMD=(h2load -n "$sessions_per_round" -c 1 -m 1 --log-file "$work/$id.h2load-log" "$(url_single "$port" true)") ;;
    mux-n-*) CMD=(h2load -n "$sessions_per_round" -c 10 -m 10 --log-file "$work/$id.h2load-log" "$(url_single "$port" true)") ;;
    bulk-socat) CMD=("$bench_bin" spawn --bytes "$bytes" -- socat -u -b 65536 "TCP:127.0.0.1:$port" STDOUT) ;;
    bulk-h2ss-*) CMD=(h2load_stream "$(url_single "$port" head -c "$bytes" /dev/zero)") ;;
    local-ceiling) CMD=("$bench_bin" spawn --bytes "$bytes" -- sh -c "head -c $bytes /dev/zero | cat >/dev/null") ;;
    local-bridge) CMD=("$bench_bin" bridge --bytes "$bytes") ;;
    floor-true) CMD=("$bench_bin" spawn --count "$sessions_per_round" --samples "$work/$id.samples" -- true) ;;
    floor-go) CMD=("$bench_bin" spawn --count "$sessions_per_round" --samples "$work/$id.samples" --any-exit yes -- \
        "$go_client" -timeout 5s "$(url_gateway "$refused_port" true)") ;;
    *-s-go-go | *-s-go-spl) CMD=("$bench_bin" spawn --bytes "$bytes" -- "$go_client" -timeout 30m "$(url_kubelet "$port" head -c "$bytes" /dev/zero)") ;;
    *-s-go-*) CMD=("$bench_bin" spawn --bytes "$bytes" -- "$go_client" -timeout 30m "$(url_gateway "$port" head -c "$bytes" /dev/zero)") ;;
    *-s-sw-* | up-s-h2* | up-s-ws-*) CMD=("$bench_bin" stream --proto "$wire" --port "$port" --bytes "$bytes") ;;
    *-n-go-go) CMD=("$bench_bin" spawn --count "$sessions_per_round" --samples "$work/$id.samples" -- "$go_client" "$(url_kubelet "$port" true)") ;;
    *-n-go-*) CMD=("$bench_bin" spawn --count "$sessions_per_round" --samples "$work/$id.samples" -- "$go_client" "$(url_gateway "$port" true)") ;;
    *-n-sw-* | up-n-h2* | up-n-ws-*) CMD=("$bench_bin" sessions --proto "$wire" --port "$port" --count "$sessions_per_round" --samples "$work/$id.samples") ;;
    *-l-*) CMD=(h2load -n "$requests_per_round" -c 10 -m 10 "http://127.0.0.1:$port/healthz") ;;
    esac
}

kv() { # KEY LINE: the value of KEY in a key=value line
    awk -v k="$1" '{ for (i = 1; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) { print substr($i, n + 1); exit } } }' <<<"$2"
}

# Results per row: the main figure of each round, the largest peak RSS, totals for rates, the first failure.
declare -A VALUES PEAK TOTAL_N TOTAL_S FAILURE CPU
measure_row() {
    local id="$1" pid="" line out peak cpu0 cpu
    [ -z "${SERVER[$id]}" ] || pid="${PID[${SERVER[$id]}]}"
    row_command "$id"
    reset_peak "$pid"
    cpu0="$(cpu_s "$pid")"
    if [ "${KIND[$id]}" = h2load ] || [ "${KIND[$id]}" = h2sessions ]; then
        local n="$requests_per_round"
        [ "${KIND[$id]}" = h2load ] || { n="$sessions_per_round"; rm -f "$work/$id.h2load-log"; }
        out="$(timeout 600 "${CMD[@]}" 2>&1 || true)"
        line="$(h2load_summary "$out" "$n")"
        # h2load's per-request log: start (us since the epoch), status, microseconds to the end of the response.
        [ ! -s "$work/$id.h2load-log" ] ||
            awk -F '\t' '$2 ~ /^2/ { printf "- %.3f\n", $3 / 1000 }' "$work/$id.h2load-log" >>"$work/$id.samples"
    else
        line="$("${CMD[@]}" 2>>"$work/measure.err")" || line="ok=no failure=exit_$?"
    fi
    cpu="$(awk -v a="$cpu0" -v b="$(cpu_s "$pid")" 'BEGIN { if (a != "" && b != "") printf "%.2f", b - a }')"
    [ "${KIND[$id]}" = local ] && cpu="$(kv cpu_s "$line")"
    [ -z "$raw" ] || echo "$id round: $line server_cpu_s=$cpu" >>"$raw"
    # Server CPU: per round for streams (median later), summed for sessions and requests.
    if [ -n "$cpu" ]; then
        case "${KIND[$id]}" in
        local | stream) CPU[$id]+="$cpu " ;;
        *) CPU[$id]="$(awk -v a="${CPU[$id]:-0}" -v b="$cpu" 'BEGIN { print a + b }')" ;;
        esac
    fi
    if [ "$(kv ok "$line")" = no ] && [ -z "${FAILURE[$id]:-}" ]; then FAILURE[$id]="$(kv failure "$line")"; fi
    case "${KIND[$id]}" in
    local | stream) VALUES[$id]+="$(kv mbps "$line") " ;;
    sessions | h2load | h2sessions)
        local count
        count="$(kv count "$line")"
        TOTAL_N[$id]=$((${TOTAL_N[$id]:-0} + ${count:-0}))
        TOTAL_S[$id]="$(awk -v a="${TOTAL_S[$id]:-0}" -v b="$(kv seconds "$line")" 'BEGIN { print a + b }')"
        ;;
    esac
    peak="$(peak_kb "$pid")"
    [ "${KIND[$id]}" = local ] && peak="$(kv peak_rss_kb "$line")"
    if [ -n "$peak" ] && [ "$peak" -gt "${PEAK[$id]:-0}" ]; then PEAK[$id]="$peak"; fi
    return 0
}


# h2load's report → count, 2xx responses, seconds; ok=no unless every request got a 2xx (the gateway answers a
# request it cannot serve with 4xx/5xx, which h2load would count as a success).
h2load_summary() { # OUTPUT COUNT
    local secs ok
    # "finished in 2.31s, …" or "finished in 912.4ms, …"
    secs="$(sed -n 's/^finished in \([0-9.]*\)\(m\{0,1\}s\),.*/\1 \2/p' <<<"$1" | awk '{ print ($2 == "ms") ? $1 / 1000 : $1 }')"
    ok="$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$1")"
    printf 'count=%s succeeded=%s seconds=%s' "$2" "${ok:-0}" "${secs:-0}"
    [ "${ok:-0}" = "$2" ] || printf ' ok=no failure=%s_of_%s_answered_2xx' "${ok:-0}" "$2"
    echo
}

# One single-stream HTTP/2 session read by h2load (C, nghttp2): bytes of the response body, MB/s.
h2load_stream() { # URL
    local out data line
    out="$(timeout 1800 h2load -n 1 -c 1 -m 1 "$1" 2>&1 || true)"
    line="$(h2load_summary "$out" 1)"
    # "traffic: 1.00GB (1073742123) total, 93B (93) headers (space savings 0.00%), 1.00GB (1073741824) data"
    data="$(sed -n 's/^traffic: .*(\([0-9]*\)) data.*/\1/p' <<<"$out")"
    awk -v l="$line" -v d="${data:-0}" -v want="$bytes" 'BEGIN {
        split(l, f, " "); for (i in f) { n = index(f[i], "="); v[substr(f[i], 1, n - 1)] = substr(f[i], n + 1) }
        printf "bytes=%d seconds=%s mbps=%.1f", d, v["seconds"], (v["seconds"] > 0) ? d / v["seconds"] / 1e6 : 0
        if (v["ok"] == "no") printf " ok=no failure=%s", v["failure"]
        else if (d != want) printf " ok=no failure=got_%d_bytes", d
        print "" }'
}

url_single() { # PORT COMMAND...: a single-stream HTTP/2 session (no streamtype): stdout is the response body
    local port="$1" q="" a
    shift
    for a in "$@"; do q+="&command=$a"; done
    printf 'http://127.0.0.1:%s/api/v1/namespaces/default/pods/bench/exec?container=app%s&stdout=true' "$port" "$q"
}

row_once() { [ -n "${KIND[$1]:-}" ] || row "$@"; } # a row another section may have defined already

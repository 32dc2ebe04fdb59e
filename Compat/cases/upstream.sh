# Upstream cases (issue 6), run with the Go client. Sourced by run.sh; acts in --gateway mode only.
#
# Go client -> ExecBridge (--backend spdy:// to the Go spdy-exec-server) -> Go server must pass the same SPDY cases
# as Go client -> Go server (cases/spdy.sh, re-run here with names prefixed "upstream-"), plus what only a
# forwarding gateway has: the upstream path and query, a v2-only upstream behind a v4 client, an upstream refusal,
# an upstream that dies, an unreachable upstream, and the passthrough of other routes. It starts its own Go servers
# and gateways (the --gateway binary, with --backend) beside the one run.sh started; all are stopped on exit.

upstream_cases() {
    if [ "$MODE" != gateway ]; then
        return 0
    fi
    needs upstream spdy-go || return 0
    local saved_base="$BASE" saved_case_dir="$CASE_DIR"
    UPSTREAM_DIR="$CASE_DIR/upstream"
    mkdir -p "$UPSTREAM_DIR"

    # up_server LABEL SERVER_ARGS...: a Go server (kubelet-like SPDY upstream); sets UP_SERVER_PORT.
    up_server() {
        local label="$1"
        shift
        local port_file="$UPSTREAM_DIR/$label.server.port"
        rm -f "$port_file"
        start_bg "$UPSTREAM_DIR/$label.server.log" "$BIN_DIR/spdy-exec-server" -listen 127.0.0.1:0 -port-file "$port_file" \
            -request-log "$UPSTREAM_DIR/$label.requests.jsonl" -v "$@"
        wait_file "$port_file" "$BG_PID" || return 1
        UP_SERVER_PORT="$(cat "$port_file")"
    }

    # up_gateway LABEL BACKEND_URL GATEWAY_ARGS...: an ExecBridge in front of it; sets UP_GATEWAY_PORT.
    up_gateway() {
        local label="$1" url="$2"
        shift 2
        UP_GATEWAY_PORT="$(free_port)"
        start_bg "$UPSTREAM_DIR/$label.gateway.log" "$GATEWAY" serve --listen "127.0.0.1:$UP_GATEWAY_PORT" --backend "$url" "$@"
        wait_port "$UP_GATEWAY_PORT" "$BG_PID"
    }

    # up_log_has LABEL NEEDLE...: the Go server's last request-log line (JSON; Go writes & as \u0026) has every NEEDLE.
    up_log_has() {
        local line needle
        line="$(tail -n 1 "$UPSTREAM_DIR/$1.requests.jsonl" 2>/dev/null)"
        shift
        for needle in "$@"; do
            case "$line" in *"$needle"*) ;; *)
                WHY="upstream request log lacks '$needle': $line"
                return 1
                ;;
            esac
        done
    }

    # up_pair LABEL [SERVER_ARGS...] [-- GATEWAY_ARGS...]: both; BASE points at the gateway.
    up_pair() {
        local label="$1" server_args=() gateway_args=()
        shift
        while [ $# -gt 0 ] && [ "$1" != -- ]; do
            server_args+=("$1")
            shift
        done
        [ "${1:-}" = -- ] && shift
        gateway_args=("$@")
        if ! up_server "$label" "${server_args[@]}"; then
            fail_case "upstream-$label" "spdy-exec-server did not start: $(tail -n 3 "$UPSTREAM_DIR/$label.server.log" | tr '\n' ' ')"
            return 1
        fi
        if ! up_gateway "$label" "spdy://127.0.0.1:$UP_SERVER_PORT" "${gateway_args[@]}"; then
            fail_case "upstream-$label" "execbridge --backend did not start: $(tail -n 3 "$UPSTREAM_DIR/$label.gateway.log" | tr '\n' ' ')"
            return 1
        fi
        BASE="http://127.0.0.1:$UP_GATEWAY_PORT"
    }

    # --- the SPDY cases, through the gateway to the Go server -------------------------------------------------
    if up_pair main; then
        CASE_DIR="$UPSTREAM_DIR"
        # The case file reports and filters by its own names: prefix them for the time of the run.
        eval "upstream_orig_$(declare -f pass_case)"
        eval "upstream_orig_$(declare -f fail_case)"
        eval "upstream_orig_$(declare -f skip_case)"
        eval "upstream_orig_$(declare -f wanted)"
        pass_case() { upstream_orig_pass_case "upstream-$1"; }
        fail_case() { upstream_orig_fail_case "upstream-$1" "$2"; }
        skip_case() { upstream_orig_skip_case "upstream-$1" "$2"; }
        wanted() { upstream_orig_wanted "upstream-$1"; }
        source "$COMPAT_DIR/cases/spdy.sh"
        eval "$(declare -f upstream_orig_pass_case | sed '1s/^upstream_orig_//')"
        eval "$(declare -f upstream_orig_fail_case | sed '1s/^upstream_orig_//')"
        eval "$(declare -f upstream_orig_skip_case | sed '1s/^upstream_orig_//')"
        eval "$(declare -f upstream_orig_wanted | sed '1s/^upstream_orig_//')"

        # What the Go server saw: kubelet path, kubelet-style flags (true ones only), every version offered.
        if wanted upstream-path; then
            run_client upstream-path "" "$(exec_url main stdin,stdout,stderr sh -c 'echo "$EXEC_NAMESPACE/$EXEC_POD/$EXEC_CONTAINER"; cat >/dev/null')"
            UP_PATH='"path":"/exec/default/demo/app"'
            UP_FLAGS='\u0026error=1\u0026input=1\u0026output=1"'
            UP_OFFERED="\"offered\":[\"$V4\",\"$V3\",\"$V2\",\"$V1\"]"
            check upstream-path 'expect_rc 0' 'expect_out default/demo/app' 'up_log_has main "$UP_PATH" "$UP_FLAGS" "$UP_OFFERED"'
        fi

        if wanted upstream-passthrough; then
            UP_BODY="$UPSTREAM_DIR/passthrough.body"
            UP_CODE="$(curl -s -o "$UP_BODY" -w '%{http_code}' --max-time 10 "$BASE/api/v1/namespaces" 2>/dev/null)"
            if grep -q '"kind":"Status"' "$UP_BODY" 2>/dev/null; then
                skip_case upstream-passthrough "the gateway answered itself (serve does not install the passthrough yet)"
            else
                check upstream-passthrough '[ "$UP_CODE" = 404 ] || { WHY="HTTP status $UP_CODE, want the upstream 404"; false; }' \
                    'grep -q "404 page not found" "$UP_BODY" || { WHY="body $(brief "$UP_BODY")"; false; }'
            fi
        fi
    fi

    # --- the apiserver path form upstream ---------------------------------------------------------------------
    if wanted upstream-apiserver-path && up_pair apiserver -- --backend-path '/api/v1/namespaces/{namespace}/pods/{pod}/exec'; then
        run_client upstream-apiserver-path "" "$(exec_url alt stdout sh -c 'echo "$EXEC_NAMESPACE/$EXEC_POD/$EXEC_CONTAINER"')"
        UP_PATH='"path":"/api/v1/namespaces/default/pods/demo/exec"'
        UP_QUERY='\u0026container=app\u0026output=1"'
        check upstream-apiserver-path 'expect_rc 0' 'expect_out default/demo/app' 'up_log_has apiserver "$UP_PATH" "$UP_QUERY"'
    fi

    # --- a v2-only upstream: a v4 client still gets exact exit codes and byte-exact Status JSON ------------------
    if wanted upstream-v2-only && up_pair v2only -versions "$V2"; then
        run_client upstream-v2-only "" "$(exec_url main stdout,stderr sh -c 'echo hi; exit 3')"
        check upstream-v2-only "expect_report protocol $V4" 'expect_out hi' 'expect_rc 3' 'expect_status "$ST_EXIT3"'
        run_client upstream-v2-only-signal "" "$(exec_url main stdout,stderr sh -c 'kill -9 $$')"
        check upstream-v2-only-signal 'expect_rc 137' 'expect_status "$ST_KILLED"'
        printf 'abc' >"$UPSTREAM_DIR/abc.in"
        run_client upstream-v2-only-stdin "$UPSTREAM_DIR/abc.in" "$(exec_url main stdin,stdout,stderr wc -c)"
        check upstream-v2-only-stdin 'expect_rc 0' 'expect_out 3'
    fi

    # --- the upstream refuses (no common version): its 403 and message reach the client --------------------------
    if wanted upstream-refusal-403 && up_pair refuses -versions v9.channel.k8s.io; then
        run_client upstream-refusal-403 "" "$(exec_url main stdout echo never)"
        check upstream-refusal-403 'expect_rc 1' 'expect_out ""' 'expect_err_contains "unable to negotiate protocol"' \
            'grep -q "\"code\":403" "$STATUS" || { WHY="error stream $(brief "$STATUS") lacks code 403"; false; }'
    fi

    # --- the upstream dies without a status: never success ---------------------------------------------------------
    if wanted upstream-lost && up_pair lost -teardown drop; then
        run_client upstream-lost "" "$(exec_url main stdout,stderr echo hi)"
        check upstream-lost 'expect_rc 1' 'expect_err_contains "lost connection to backend"'
    fi

    # --- nothing listens upstream ------------------------------------------------------------------------------
    if wanted upstream-unreachable; then
        dead="$(free_port)"
        if up_gateway unreachable "spdy://127.0.0.1:$dead"; then
            BASE="http://127.0.0.1:$UP_GATEWAY_PORT"
            run_client upstream-unreachable "" "$(exec_url main stdout echo never)"
            check upstream-unreachable 'expect_rc 1' \
                "expect_err_contains 'error dialing backend: dial tcp 127.0.0.1:$dead: connect: connection refused'"
        else
            fail_case upstream-unreachable "execbridge --backend did not start"
        fi
    fi

    BASE="$saved_base"
    CASE_DIR="$saved_case_dir"
}

upstream_cases

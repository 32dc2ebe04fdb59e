# deploy/: no cluster and no container engine run on these machines, so this case checks what can be checked
# here (docs/scaling.md says what was and was not run):
#   deploy-manifests-values   every manifest parses (PyYAML) and the values that matter agree with the gateway:
#                             probe paths and ports, --listen/--metrics-listen against containerPorts, grace
#                             period above drain delay + timeout + reaping, file flags on mounted keys, selectors,
#                             memory limit against the measured peak, the Containerfile's user, ports, entrypoint
#   deploy-manifests-runs     the Deployment's own command line, with the ConfigMap's and Secret's files written where
#                             it mounts them (and a test certificate), starts a gateway here: /readyz and /healthz
#                             answer 200 over TLS as the probes ask, a caller without a token gets 401, one with a
#                             token in the policy's group runs a command, metrics answer over TLS, SIGTERM
#                             turns /readyz to 503 (/healthz stays 200) and, after the drain, exit 0
#   deploy-container-libs     the Containerfile's runtime packages provide every shared library the gateway links
#                             (the Swift runtime is linked in by --static-swift-stdlib there)
#   deploy-haproxy-config     `haproxy -c` accepts deploy/haproxy/haproxy.cfg
# Gateway mode only.

in_mode gateway || return 0
needs deploy py:yaml cmd:curl cmd:openssl || return 0

deploy_src="$COMPAT_DIR/../deploy"
ddir="$CASE_DIR/deploy"
rm -rf "$ddir"
mkdir -p "$ddir"
checker=("$PY" "$COMPAT_DIR/deploy/check_manifests.py")

if wanted deploy-manifests-values; then
    run_cmd deploy-manifests-values "" "${checker[@]}" values "$deploy_src"
    check deploy-manifests-values 'expect_rc 0' 'expect_out "ok"'
fi

if wanted deploy-manifests-runs; then
    tls_cert
    dport="$(free_port)"
    mport="$(free_port)"
    mapfile -t dargs < <("${checker[@]}" localize "$deploy_src" "$ddir/root" "$dport" "$mport" "$TLS_CERT" "$TLS_KEY")
    tokens="$(printf '%s\n' "${dargs[@]}" | grep -A1 -x -- --token-file | tail -n 1)"
    printf '%s\n' 'deploy-test-token,alice,1001,"execbridge-users"' >>"$tokens"
    start_bg "$ddir/gateway.log" "$GATEWAY" "${dargs[@]}"
    dpid="$BG_PID"
    if ! wait_port "$dport" "$dpid"; then
        fail_case deploy-manifests-runs "the Deployment's command line did not start a gateway: $(tail -n 3 "$ddir/gateway.log" | tr '\n' ' ')"
    else
        base="https://127.0.0.1:$dport"
        # A probe as the kubelet makes it: HTTPS, certificate not verified, plain GET.
        ready="$(curl -sk -o /dev/null -w '%{http_code}' "$base/readyz")"
        live="$(curl -sk -o /dev/null -w '%{http_code}' "$base/healthz")"
        target="$base/api/v1/namespaces/default/pods/demo/exec?container=app"
        run_cmd deploy-anonymous "" "$GATEWAY" exec --ca "$TLS_CERT" --protocol ws "$target" -- echo hi
        anon_rc="$RC"
        anon_err="$(cat "$ERR")"
        run_cmd deploy-with-token "" "$GATEWAY" exec --ca "$TLS_CERT" --protocol ws --token deploy-test-token \
            "$target" -- echo deploy-ok
        # Metrics share the exec port's certificate. (Moved to loopback here, they would take anonymous scrapes:
        # the need for a credential on 0.0.0.0 is checked in deploy-manifests-values.)
        scrape_token="$(curl -sk -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer deploy-test-token' \
            "https://127.0.0.1:$mport/metrics")"
        kill -TERM "$dpid"
        # As the kubelet's next readiness probe sees it: not ready at once, still alive, for --drain-delay.
        sleep 0.5
        drain_ready="$(curl -sk -o /dev/null -w '%{http_code}' "$base/readyz")"
        drain_live="$(curl -sk -o /dev/null -w '%{http_code}' "$base/healthz")"
        drc=0
        timeout 40 tail --pid="$dpid" -f /dev/null || drc=timeout
        wait "$dpid" 2>/dev/null || drc=$?
        check deploy-manifests-runs \
            '[ "$ready" = 200 ] && [ "$live" = 200 ] || { WHY="probes: /readyz $ready, /healthz $live"; false; }' \
            '[ "$anon_rc" != 0 ] && [[ "$anon_err" == *401* || "$anon_err" == *nauthorized* ]] || { WHY="no token: rc $anon_rc, $(brief "$CASE_DIR/deploy-anonymous.err")"; false; }' \
            'expect_rc 0' 'expect_out "deploy-ok"' \
            '[ "$scrape_token" = 200 ] || { WHY="metrics over TLS with the token: $scrape_token"; false; }' \
            '[ "$drain_ready" = 503 ] && [ "$drain_live" = 200 ] || { WHY="after SIGTERM: /readyz $drain_ready, /healthz $drain_live"; false; }' \
            '[ "$drc" = 0 ] || { WHY="after SIGTERM the gateway exited $drc"; false; }'
    fi
fi

if wanted deploy-container-libs; then
    # Debian packages of every shared library the gateway links, but for the C library (in every Debian image)
    # and the Swift toolchain's own (linked in statically by the Containerfile's build).
    need_pkgs="$(ldd "$GATEWAY" | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
        dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null
    done | cut -d: -f1 | sort -u | grep -vx 'libc6')"
    have_pkgs="$("${checker[@]}" runtime-packages "$deploy_src" | sort -u)"
    missing="$(comm -23 <(echo "$need_pkgs") <(echo "$have_pkgs") | tr '\n' ' ')"
    WHY=""
    check deploy-container-libs \
        '[ -n "$need_pkgs" ] || { WHY="ldd found no Debian library: not a dynamically linked gateway?"; false; }' \
        '[ -z "$missing" ] || { WHY="the Containerfile runtime stage lacks: $missing"; false; }'
fi

if wanted deploy-haproxy-config; then
    if ! have cmd:haproxy; then
        skip_case deploy-haproxy-config "no haproxy here (Debian package haproxy)"
    else
        run_cmd deploy-haproxy-config "" haproxy -c -f "$deploy_src/haproxy/haproxy.cfg"
        check deploy-haproxy-config 'expect_rc 0'
    fi
fi

# --metrics-listen (docs/operations.md "Metrics"): a second gateway with a metrics listener; prometheus_client's own
# text parser reads /metrics (families and types), sessions run through `execbridge exec` on every protocol, and
# the counters must move by exactly what ran (Compat/metrics/check_metrics.py). A public metrics address without
# authentication must refuse to start and name the option. Gateway mode only.

in_mode gateway || return 0

if needs metrics py:prometheus_client; then
    if wanted metrics-counters-move; then
        METRICS_PORT="$(free_port)"
        if start_gateway metrics --metrics-listen "127.0.0.1:$METRICS_PORT" && wait_port "$METRICS_PORT" "$GW_PID"; then
            run_cmd metrics-counters-move "" "$PY" "$COMPAT_DIR/metrics/check_metrics.py" --gateway "$GATEWAY" \
                --port "$GW_PORT" --metrics-port "$METRICS_PORT"
            WHY_OUT() { WHY="$(brief "$OUT") $(brief "$ERR")"; }
            check metrics-counters-move '[ "$RC" = 0 ] || { WHY_OUT; false; }'
        else
            fail_case metrics-counters-move "the gateway did not serve --metrics-listen: $(tail -n 3 "$CASE_DIR/metrics.log" | tr '\n' ' ')"
        fi
    fi
fi

if wanted metrics-public-without-auth-refused; then
    run_cmd metrics-public-without-auth-refused "" "$GATEWAY" serve --listen "127.0.0.1:$(free_port)" \
        --metrics-listen "0.0.0.0:$(free_port)"
    check metrics-public-without-auth-refused '[ "$RC" != 0 ] || { WHY="it started (exit $RC)"; false; }' \
        'expect_err_contains "refusing --metrics-listen 0.0.0.0:"' 'expect_err_contains "--token-file"'
fi

# A public metrics address with --client-ca: curl without a client certificate gets 401, with one the CA signed
# the metrics (TLS with the gateway's own certificate on the metrics listener too).
if needs metrics-tls cmd:openssl cmd:curl && wanted metrics-client-cert-scrape; then
    mdir="$CASE_DIR/metrics-tls"
    mkdir -p "$mdir"
    if tls_cert && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=metrics-ca -keyout "$mdir/ca.key" \
        -out "$mdir/ca.pem" >"$mdir/openssl.log" 2>&1 &&
        openssl req -newkey rsa:2048 -nodes -subj /CN=prometheus -keyout "$mdir/client.key" -out "$mdir/client.csr" \
            >>"$mdir/openssl.log" 2>&1 &&
        openssl x509 -req -in "$mdir/client.csr" -CA "$mdir/ca.pem" -CAkey "$mdir/ca.key" -CAcreateserial -days 2 \
            -out "$mdir/client.pem" >>"$mdir/openssl.log" 2>&1; then
        METRICS_TLS_PORT="$(free_port)"
        if start_gateway metrics-tls --tls-cert "$TLS_CERT" --tls-key "$TLS_KEY" --client-ca "$mdir/ca.pem" \
            --metrics-listen "0.0.0.0:$METRICS_TLS_PORT" && wait_port "$METRICS_TLS_PORT" "$GW_PID"; then
            murl="https://127.0.0.1:$METRICS_TLS_PORT/metrics"
            anon_code="$(curl -s -o "$mdir/anon.out" -w '%{http_code}' --cacert "$TLS_CERT" "$murl")"
            run_cmd metrics-client-cert-scrape "" curl -sS --fail --cacert "$TLS_CERT" --cert "$mdir/client.pem" \
                --key "$mdir/client.key" "$murl"
            check metrics-client-cert-scrape \
                '[ "$anon_code" = 401 ] || { WHY="without a certificate: HTTP $anon_code, want 401"; false; }' \
                'expect_rc 0' 'expect_out_contains "# TYPE execbridge_sessions_active gauge"'
        else
            fail_case metrics-client-cert-scrape "the gateway did not start: $(tail -n 3 "$CASE_DIR/metrics-tls.log" | tr '\n' ' ')"
        fi
    else
        fail_case metrics-client-cert-scrape "openssl could not make the certificates: $(tail -n 2 "$mdir/openssl.log" | tr '\n' ' ')"
    fi
fi

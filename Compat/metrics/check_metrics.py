#!/usr/bin/env python3
"""Scrapes an ExecBridge gateway's /metrics with prometheus_client's own text parser, runs real
sessions through `execbridge exec` on every protocol, and checks that the numbers moved by exactly
what ran. Exits 0 when every check holds, 1 otherwise (one line per failed check).

    check_metrics.py --gateway BIN --port EXEC_PORT --metrics-port METRICS_PORT
"""
import argparse
import subprocess
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

# Family name (as prometheus_client names it: counters without _total) → type.
FAMILIES = {
    "execbridge_sessions_started": "counter",
    "execbridge_sessions_ended": "counter",
    "execbridge_sessions_active": "gauge",
    "execbridge_session_bytes": "counter",
    "execbridge_session_duration_seconds": "histogram",
    "execbridge_session_setup_seconds": "histogram",
    "execbridge_refusals": "counter",
    "execbridge_connections_open": "gauge",
    "execbridge_process_resident_memory_bytes": "gauge",
    "execbridge_process_open_fds": "gauge",
    "execbridge_config_reloads": "counter",
}


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        content_type = answer.headers.get("Content-Type", "")
        text = answer.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {}
    for family in families.values():
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return content_type, families, samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--metrics-port", type=int, required=True)
    args = ap.parse_args()
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    content_type, _, before = scrape(args.metrics_port)
    check(content_type.startswith("text/plain; version=0.0.4"), f"content type {content_type!r}")

    url = f"http://127.0.0.1:{args.port}/exec/default/web/app"
    runs = [  # protocol, command, stdin, exit code, generation, outcome, stdout bytes
        ("spdy", ["sh", "-c", "echo hello"], None, 0, "spdy", "exit_zero", 6),
        ("h2", ["sh", "-c", "printf abc; exit 3"], None, 3, "http2", "exit_nonzero", 3),
        ("h2c-upgrade", ["sh", "-c", "printf 12345"], None, 0, "http2", "exit_zero", 5),
        ("ws", ["cat"], b"0123456789\n", 0, "websocket", "exit_zero", 11),
    ]
    started, ended = {}, {}
    stdout_total = stdin_total = 0
    for protocol, argv, stdin, code, generation, outcome, out in runs:
        cmd = [args.gateway, "exec", "--protocol", protocol] + (["-i"] if stdin is not None else []) + [url, "--"] + argv
        done = subprocess.run(cmd, input=stdin or b"", capture_output=True, timeout=30)
        check(done.returncode == code, f"{protocol}: exit {done.returncode}, expected {code}: {done.stderr!r}")
        check(len(done.stdout) == out, f"{protocol}: {len(done.stdout)} stdout bytes, expected {out}")
        started[generation] = started.get(generation, 0) + 1
        ended[(generation, outcome)] = ended.get((generation, outcome), 0) + 1
        stdout_total += out
        stdin_total += len(stdin or b"")

    # The session ends on the gateway's thread just after the client saw the status: poll, bounded.
    deadline = time.monotonic() + 10
    while True:
        _, families, after = scrape(args.metrics_port)
        settled = value(after, "execbridge_sessions_active") == 0 and all(
            value(after, "execbridge_sessions_ended_total", generation=g, version="v5" if g == "websocket" else "v4",
                  backend="local", outcome=o) - value(before, "execbridge_sessions_ended_total", generation=g,
                  version="v5" if g == "websocket" else "v4", backend="local", outcome=o) >= n
            for (g, o), n in ended.items())
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.05)

    # Families with labels appear with their first sample: all of them are there once sessions ran.
    for name, kind in FAMILIES.items():
        check(name in families, f"family {name} missing")
        check(name not in families or families[name].type == kind,
              f"{name} is {families.get(name) and families[name].type}, not {kind}")

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    for generation, n in started.items():
        version = "v5" if generation == "websocket" else "v4"
        got = moved("execbridge_sessions_started_total", generation=generation, version=version, backend="local")
        check(got == n, f"sessions started {generation}: +{got}, expected +{n}")
        got = moved("execbridge_session_duration_seconds_count", generation=generation)
        check(got == n, f"duration observations {generation}: +{got}, expected +{n}")
        got = moved("execbridge_session_setup_seconds_count", generation=generation)
        check(got == n, f"set-up observations {generation}: +{got}, expected +{n}")
    for (generation, outcome), n in ended.items():
        version = "v5" if generation == "websocket" else "v4"
        got = moved("execbridge_sessions_ended_total", generation=generation, version=version, backend="local", outcome=outcome)
        check(got == n, f"sessions ended {generation} {outcome}: +{got}, expected +{n}")
    got = moved("execbridge_session_bytes_total", channel="stdout", direction="out")
    check(got == stdout_total, f"stdout bytes +{got}, expected +{stdout_total}")
    got = moved("execbridge_session_bytes_total", channel="stdin", direction="in")
    check(got == stdin_total, f"stdin bytes +{got}, expected +{stdin_total}")
    check(value(after, "execbridge_sessions_active") == 0, "sessions still active")
    check(value(after, "execbridge_process_resident_memory_bytes") > 1e6, "no resident memory")
    check(value(after, "execbridge_process_open_fds") > 2, "no open fds")

    for line in failures:
        print(line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""The gateways the soak starts and the clients it runs against them."""
import os
import re
import signal
import subprocess
import sys
import time
from urllib.parse import quote

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXEC_PATH = "/proxy/nodes/n1/exec/default/web/app"
GENERATIONS = ["spdy", "h2", "h2-single", "ws"]


def log(msg):
    print(f"soak: {msg}", file=sys.stderr, flush=True)


class Gateway:
    """One `execbridge serve` on a free loopback port; its log goes to a file."""

    def __init__(self, binary, workdir, name, args=(), nofile=None):
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log_file = open(self.log_path, "w")
        argv = [binary, "serve", "--listen", "127.0.0.1:0", *args]
        if nofile:
            argv = ["prlimit", f"--nofile={nofile}", "--", *argv]
        self.proc = subprocess.Popen(argv, stdout=self.log_file, stderr=self.log_file)
        self.port = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"127\.0\.0\.1:(\d+)", self.log_text())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise RuntimeError(f"{name} did not start: {self.log_text()[-500:]}")
        self.peak_rss_kb = 0

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def sample_rss(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
        except OSError:
            pass
        return self.peak_rss_kb

    def children(self):
        """PIDs whose parent is the gateway (the local backend's commands)."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                if int(stat[stat.rindex(")") + 2:].split()[1]) == self.proc.pid:
                    out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
        return out

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def url(self, query=""):
        return f"http://127.0.0.1:{self.port}{EXEC_PATH}" + (f"?{query}" if query else "")

    def stop(self):
        self.sample_rss()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()

    def kill(self):
        self.sample_rss()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def query(argv, flags="input=1&output=1&error=1"):
    return "&".join("command=" + quote(a, safe="") for a in argv) + "&" + flags


class Tools:
    def __init__(self, args):
        self.gateway = args.gateway
        self.spdy = args.spdy_client


def client_argv(tools, gw, generation, argv, hdr_path):
    """The client command line for one session: stdin is the session's input, stdout its output."""
    if generation == "spdy":
        return [tools.spdy, "-timeout", "10m", gw.url(query(argv))]
    if generation == "h2":
        return [tools.gateway, "exec", "--protocol", "h2", "-i", gw.url(), "--", *argv]
    if generation == "ws":
        return [tools.gateway, "exec", "--protocol", "ws", "-i", gw.url(), "--", *argv]
    if generation == "h2-single":
        return ["curl", "-sS", "--max-time", "600", "--http2-prior-knowledge", "-X", "POST", "--data-binary", "@-",
                "-D", hdr_path, gw.url(query(argv, "input=1&output=1"))]
    raise ValueError(generation)


class Result:
    def __init__(self):
        self.sessions = 0
        self.bytes = 0
        self.lost = 0
        self.failed = 0
        self.expected_failures = 0
        self.notes = []

    def fail(self, note):
        self.failed += 1
        if len(self.notes) < 8:
            self.notes.append(note)



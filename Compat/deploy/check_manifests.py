#!/usr/bin/env python3
"""Checks deploy/ against the gateway it deploys: no cluster or container engine runs here, so this reads every
manifest with PyYAML and checks the values that matter to a running gateway, and can turn the Deployment's
command line into one that runs on this machine.

  check_manifests.py values DEPLOY_DIR
      prints one line per problem and exits 1 if there is any (0 and "ok" otherwise).
  check_manifests.py localize DEPLOY_DIR WORK_DIR PORT METRICS_PORT TLS_CERT TLS_KEY
      writes the ConfigMap's and Secret's files under WORK_DIR where the Deployment mounts them, and prints the
      gateway's arguments (one per line) with those paths, the listen addresses moved to 127.0.0.1:PORT and
      127.0.0.1:METRICS_PORT, and the TLS files replaced by the given ones.
  check_manifests.py runtime-packages DEPLOY_DIR
      prints the Debian packages the Containerfile's runtime stage installs, one per line.
"""
import os
import re
import sys

import yaml

# Measured in docs/performance.md (latest run): RSS of an idle gateway, and the peak growth per concurrent
# session that streams output (1,000 sessions each printing 1 MiB peaked at ~160 MiB over ~31 MiB).
BASE_RSS_MIB = 31
PEAK_PER_STREAMING_SESSION_MIB = 0.13
# The gateway reaps children for up to ~15 s after the drain timeout (deploy/systemd uses the same margin).
REAP_MARGIN_S = 15
FILE_FLAGS = ("--tls-cert", "--tls-key", "--token-file", "--inventory", "--policy", "--client-ca",
              "--node-addresses", "--record-dir")


def load(deploy_dir):
    docs = []
    kdir = os.path.join(deploy_dir, "kubernetes")
    for name in sorted(os.listdir(kdir)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(kdir, name)) as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    docs.append((name, doc))
    return docs


def by_kind(docs, kind):
    return [d for _, d in docs if d.get("kind") == kind]


def one(docs, kind):
    found = by_kind(docs, kind)
    if len(found) != 1:
        raise SystemExit(f"expected one {kind}, found {len(found)}")
    return found[0]


def flags(args):
    """serve's arguments as {flag: [values]}; a flag without a value maps to [None]."""
    out = {}
    i = 1
    while i < len(args):
        a = args[i]
        if "=" in a and a.startswith("--"):
            k, v = a.split("=", 1)
            out.setdefault(k, []).append(v)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            out.setdefault(a, []).append(args[i + 1])
            i += 1
        else:
            out.setdefault(a, []).append(None)
        i += 1
    return out


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def quantity_mib(q):
    m = re.fullmatch(r"(\d+)(Mi|Gi|Ki)?", str(q))
    if not m:
        raise ValueError(f"memory quantity {q!r}")
    n = int(m.group(1))
    return {"Ki": n / 1024, "Mi": n, "Gi": n * 1024, None: n / 2**20}[m.group(2)]


def selector_matches(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def containerfile(deploy_dir):
    with open(os.path.join(deploy_dir, "container", "Containerfile")) as f:
        text = f.read().replace("\\\n", " ")
    stages = re.split(r"(?m)^FROM ", text)
    return stages[-1]


def runtime_packages(deploy_dir):
    runtime = containerfile(deploy_dir)
    pkgs = []
    for m in re.finditer(r"apt-get install ([^&]+)", runtime):
        pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def mount_for(container, volumes, path):
    """The (mount, volume) whose mountPath holds `path`."""
    for mount in container.get("volumeMounts", []):
        root = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(root):
            return mount, volumes.get(mount["name"])
    return None, None


def check_values(deploy_dir):
    problems = []
    docs = load(deploy_dir)

    def need(cond, why):
        if not cond:
            problems.append(why)

    for name, d in docs:
        need(all(k in d for k in ("apiVersion", "kind", "metadata")), f"{name}: apiVersion, kind, metadata")
        if d.get("kind") != "Namespace":
            need(d["metadata"].get("namespace") == "execbridge", f"{name}: {d.get('kind')} not in namespace execbridge")
    kinds = {d.get("kind") for _, d in docs}
    for kind in ("Namespace", "ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"):
        need(kind in kinds, f"no {kind} in deploy/kubernetes")
    if problems:
        return problems

    dep = one(docs, "Deployment")
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    need(selector_matches(spec["selector"]["matchLabels"], labels), "Deployment selector does not match its pods")
    c = pod["containers"][0]
    args = c["args"]
    need(args[0] == "serve", "the container does not run `serve`")
    f = flags(args)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}

    need(len(f.get("--listen", [])) == 1, "one --listen expected")
    listen = f["--listen"][0]
    need(listen.startswith("0.0.0.0:") or listen.startswith("[::]:"), f"--listen {listen} is not reachable from outside the pod")
    need(port_of(listen) == ports.get("exec"), f"--listen port {port_of(listen)} != containerPort exec {ports.get('exec')}")
    if "--metrics-listen" in f:
        need(port_of(f["--metrics-listen"][0]) == ports.get("metrics"), "--metrics-listen port != containerPort metrics")
        need("--token-file" in f or "--client-ca" in f, "a non-loopback --metrics-listen needs --token-file or --client-ca")
    scheme = "HTTPS" if "--tls-cert" in f else "HTTP"
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = c.get(probe, {}).get("httpGet", {})
        need(get.get("path") == path, f"{probe} path {get.get('path')} != {path}")
        need(get.get("port") in ("exec", ports.get("exec")), f"{probe} port {get.get('port')} is not the exec port")
        need(get.get("scheme", "HTTP") == scheme, f"{probe} scheme {get.get('scheme', 'HTTP')} != {scheme}")

    drain = float(f.get("--drain-timeout", ["30"])[0])
    delay = float(f.get("--drain-delay", ["0"])[0]) if "--drain-delay" in f else 0.0
    pre = c.get("lifecycle", {}).get("preStop", {})
    pre_sleep = 0.0
    if "exec" in pre:
        cmd = pre["exec"]["command"]
        need(os.path.basename(cmd[0]) == "sleep", f"preStop runs {cmd}, not a sleep")
        pre_sleep = float(cmd[1])
    elif "sleep" in pre:
        pre_sleep = float(pre["sleep"]["seconds"])
    need(pre_sleep + delay > 0, "no preStop wait nor --drain-delay: balancers still send sessions after SIGTERM")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    need(grace > pre_sleep + delay + drain + REAP_MARGIN_S,
         f"terminationGracePeriodSeconds {grace} <= preStop {pre_sleep} + --drain-delay {delay} + --drain-timeout "
         f"{drain} + {REAP_MARGIN_S} s of reaping: SIGKILL would cut the drain")

    res = c.get("resources", {})
    need("cpu" in res.get("requests", {}) and "memory" in res.get("requests", {}), "cpu and memory requests")
    need(quantity_mib(res["requests"]["memory"]) >= BASE_RSS_MIB * 2, "memory request below twice the idle RSS")
    limit = res.get("limits", {}).get("memory")
    need(limit is not None, "no memory limit")
    if limit is not None and "--max-sessions" in f:
        peak = BASE_RSS_MIB + int(f["--max-sessions"][0]) * PEAK_PER_STREAMING_SESSION_MIB
        need(quantity_mib(limit) >= peak, f"memory limit {limit} below the measured peak of --max-sessions "
                                          f"streaming sessions ({peak:.0f} MiB)")
    sc = c.get("securityContext", {})
    need(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    need(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false")
    need(sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities drop ALL")
    need(pod.get("securityContext", {}).get("runAsNonRoot") is True, "runAsNonRoot")
    need(any(m["mountPath"] == "/tmp" for m in c.get("volumeMounts", [])), "no writable /tmp with a read-only root")

    cms = {d["metadata"]["name"]: d for d in by_kind(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"]: d for d in by_kind(docs, "Secret")}
    for flag in FILE_FLAGS:
        for path in f.get(flag, []):
            mount, vol = mount_for(c, volumes, path)
            need(mount is not None and vol is not None, f"{flag} {path} is not on a mounted volume")
            if vol is None:
                continue
            key = os.path.relpath(path, mount["mountPath"])
            if "configMap" in vol:
                cm = cms.get(vol["configMap"]["name"])
                need(cm is not None and key in cm.get("data", {}), f"{flag} {path}: ConfigMap has no key {key}")
            if "secret" in vol and vol["secret"]["secretName"] in secrets:
                s = secrets[vol["secret"]["secretName"]]
                need(key in s.get("stringData", {}) or key in s.get("data", {}), f"{flag} {path}: Secret has no key {key}")

    svc = one(docs, "Service")
    need(selector_matches(svc["spec"]["selector"], labels), "Service selector does not match the pods")
    for p in svc["spec"]["ports"]:
        need(p["targetPort"] in ports or p["targetPort"] in ports.values(), f"Service targetPort {p['targetPort']} unknown")
    pdb = one(docs, "PodDisruptionBudget")
    need(selector_matches(pdb["spec"]["selector"]["matchLabels"], labels), "PDB selector does not match the pods")
    need(spec.get("replicas", 1) >= 2, "a PodDisruptionBudget with one replica blocks every drain")
    need(pdb["spec"].get("maxUnavailable", 0) and pdb["spec"]["maxUnavailable"] < spec.get("replicas", 1),
         "PDB maxUnavailable must let one replica go and keep one")
    np = one(docs, "NetworkPolicy")
    need(selector_matches(np["spec"]["podSelector"]["matchLabels"], labels), "NetworkPolicy does not select the pods")
    for rule in np["spec"].get("ingress", []):
        for p in rule.get("ports", []):
            need(p["port"] in ports or p["port"] in ports.values(), f"NetworkPolicy port {p['port']} unknown")

    runtime = containerfile(deploy_dir)
    user = re.search(r"(?m)^USER (\d+)", runtime)
    need(user is not None and int(user.group(1)) == pod["securityContext"].get("runAsUser"),
         "Containerfile USER != runAsUser")
    exposed = {int(p) for m in re.finditer(r"(?m)^EXPOSE (.*)$", runtime) for p in m.group(1).split()}
    need(set(ports.values()) <= exposed, f"Containerfile EXPOSE {sorted(exposed)} lacks {sorted(ports.values())}")
    entry = re.search(r'(?m)^ENTRYPOINT \["([^"]+)"', runtime)
    need(entry is not None and entry.group(1) == "/usr/local/bin/execbridge", "ENTRYPOINT is not the gateway")
    return problems


def localize(deploy_dir, work, port, metrics_port, tls_cert, tls_key):
    docs = load(deploy_dir)
    dep = one(docs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    cms = {d["metadata"]["name"]: d for d in by_kind(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"]: d for d in by_kind(docs, "Secret")}
    for mount in c.get("volumeMounts", []):
        vol = volumes[mount["name"]]
        root = os.path.join(work, mount["mountPath"].lstrip("/"))
        os.makedirs(root, mode=0o700, exist_ok=True)
        files = {}
        if "configMap" in vol:
            files = cms[vol["configMap"]["name"]].get("data", {})
        elif "secret" in vol and vol["secret"]["secretName"] in secrets:
            files = secrets[vol["secret"]["secretName"]].get("stringData", {})
        for key, text in files.items():
            path = os.path.join(root, key)
            with open(path, "w") as out:
                out.write(text)
            os.chmod(path, 0o600)
    out = []
    args = c["args"]
    i = 0
    while i < len(args):
        a = args[i]
        out.append(a)
        if a in ("--listen", "--metrics-listen") and i + 1 < len(args):
            out.append(f"127.0.0.1:{port if a == '--listen' else metrics_port}")
            i += 1
        elif a in ("--tls-cert", "--tls-key") and i + 1 < len(args):
            out.append(tls_cert if a == "--tls-cert" else tls_key)
            i += 1
        elif a in FILE_FLAGS and i + 1 < len(args):
            out.append(os.path.join(work, args[i + 1].lstrip("/")))
            i += 1
        i += 1
    print("\n".join(out))


def main(argv):
    if len(argv) >= 3 and argv[1] == "values":
        problems = check_values(argv[2])
        for p in problems:
            print(p)
        if not problems:
            print("ok")
        return 1 if problems else 0
    if len(argv) == 8 and argv[1] == "localize":
        localize(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7])
        return 0
    if len(argv) == 3 and argv[1] == "runtime-packages":
        print("\n".join(runtime_packages(argv[2])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

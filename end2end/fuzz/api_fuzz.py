"""Fuzzes Paydeck's JSON API from its own OpenAPI document, as three identities, then checks
that the cluster changed only where the audit log says an authorised edit was applied.

    python api_fuzz.py [--seconds-per-identity N] [--seed S]

Starts the release binary (PAYDECK_BIN, default target/release/paydeck) on the simulated
cluster with a fresh database, runs schemathesis against it as anonymous, viewer and
operator, and prints one FUZZ line of figures. Exits non-zero when any check failed: a 5xx,
a 4xx without a readable message, a response outside its schema or status codes, a request
outside the schema that was accepted, or a change in the cluster the audit log does not
explain.
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
IDENTITIES = [
    ("anonymous", None),
    ("viewer", "paydeck-audience-viewer"),
    ("operator", "paydeck-audience-operator"),
]
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "readable_error",
]
# The live feed is a stream that stays open by design (the first cluster's and each cluster's);
# its query has property tests.
EXCLUDED_PATHS = ["/api/v1/live", "/api/v1/clusters/{cluster}/live"]


def sim_start():
    """When the simulated clock starts: PAYDECK_SIM_START, else the instant every suite pins
    (sim/test-start). The simulated traffic follows the time of day; a pinned start makes a
    run the same at any hour."""
    return os.environ.get("PAYDECK_SIM_START") or (REPO / "sim/test-start").read_text().strip()


def start_paydeck(workdir: Path):
    binary = os.environ.get("PAYDECK_BIN", str(REPO / "target/release/paydeck"))
    kubeconfig = workdir / "sim.kubeconfig"
    child = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--cluster", "sim", "--sim-start", sim_start(),
         "--sim-kubeconfig", str(kubeconfig),
         "--db", str(workdir / "history.db"), "--sample-interval", "2", "--sim-history", "2h"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PAYDECK_LOG": os.environ.get("PAYDECK_LOG", "warn")},
    )
    found = {}
    log = []

    def read():
        for line in child.stdout:
            log.append(line)
            m = re.search(r"serving on (http://\S+)", line)
            if m and "url" not in found:
                found["url"] = m.group(1)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.time() + 120
    while "url" not in found:
        if child.poll() is not None or time.time() > deadline:
            raise SystemExit(f"{binary} did not start:\n{''.join(log[-30:])}")
        time.sleep(0.1)
    url = found["url"]
    while True:
        try:
            if requests.get(f"{url}/readyz", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        if time.time() > deadline:
            raise SystemExit(f"{url}/readyz did not turn ready")
        time.sleep(0.2)
    return child, url, kubeconfig, log


class Cluster:
    """The simulated API server, read with the admin kubeconfig."""

    def __init__(self, kubeconfig: Path, workdir: Path):
        text = kubeconfig.read_text()
        self.server = re.search(r"server: (\S+)", text).group(1)
        ca = base64.b64decode(re.search(r"certificate-authority-data: (\S+)", text).group(1))
        self.ca = workdir / "ca.pem"
        self.ca.write_bytes(ca)
        self.token = re.search(r"token: (\S+)", text).group(1)

    def list(self, path):
        r = requests.get(f"{self.server}{path}", headers={"Authorization": f"Bearer {self.token}"},
                         verify=str(self.ca), timeout=10)
        r.raise_for_status()
        return r.json()["items"]

    def get(self, path):
        r = requests.get(f"{self.server}{path}", headers={"Authorization": f"Bearer {self.token}"},
                         verify=str(self.ca), timeout=10)
        r.raise_for_status()
        return r.json()

    def scaling_state(self):
        """What scaling edits can change: each HPA's spec, and the replicas of Deployments no
        HPA manages (an HPA's own scaling moves the others)."""
        hpas = {(h["metadata"]["namespace"], h["spec"]["scaleTargetRef"]["name"]): h["spec"]
                for h in self.list("/apis/autoscaling/v2/horizontalpodautoscalers")}
        state = {("hpa",) + key: spec for key, spec in hpas.items()}
        for d in self.list("/apis/apps/v1/deployments"):
            key = (d["metadata"]["namespace"], d["metadata"]["name"])
            if key not in hpas:
                state[("replicas",) + key] = d["spec"].get("replicas")
        return state


def run_identity(url, name, token, seconds, seed, workdir):
    report = workdir / f"{name}.json"
    counts = workdir / f"{name}.counts.json"
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/api/v1/openapi.json",
               "--checks", ",".join(CHECKS), "--max-time", str(seconds), "--seed", str(seed),
               "--workers", "1", "--request-timeout", "10", "--no-color",
               "--report", "json", "--report-json-path", str(report),
               "--suppress-health-check", "all"]
    for path in EXCLUDED_PATHS:
        command += ["--exclude-path", path]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "checks", "PYTHONPATH": str(HERE), "FUZZ_COUNTS": str(counts)}
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    if not report.exists():
        raise SystemExit(f"schemathesis did not run for {name}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result = json.loads(report.read_text())
    tally = json.loads(counts.read_text()) if counts.exists() else {}
    failures = {f["code"]: f["count"] for f in result.get("failures", [])}
    return result, tally, failures, done.stdout


def known_edit(url, cluster):
    """One valid, authorised edit through the API, so the comparison after the run always has
    a change the audit log must explain (the fuzzer rarely composes one)."""
    fx = cluster.get("/apis/apps/v1/namespaces/payments-core/deployments/fx-rates")
    replicas = 3 if fx["spec"].get("replicas") != 3 else 2
    r = requests.post(f"{url}/api/v1/workloads/payments-core/fx-rates/scaling",
                      headers={"Authorization": "Bearer paydeck-audience-operator"},
                      json={"replicas": replicas, "reason": "FUZZ known edit",
                            "generation": fx["metadata"]["generation"], "dryRun": False}, timeout=30)
    if r.status_code != 200 or r.json().get("outcome") != "applied":
        raise SystemExit(f"the known edit was not applied: {r.status_code} {r.text[:500]}")


def audit_applied(url):
    """The applied rows, read as the viewer. The fuzzing spent the viewer's audit reads for
    the minute (Paydeck answers 429 with Retry-After): wait as a client should."""
    for _ in range(3):
        r = requests.get(f"{url}/api/v1/audit", params={"outcome": "applied", "limit": 1000},
                         headers={"Authorization": "Bearer paydeck-audience-viewer"}, timeout=10)
        if r.status_code != 429:
            break
        time.sleep(int(r.headers.get("Retry-After", "1")) + 1)
    r.raise_for_status()
    return r.json()


def unexplained_changes(before, after, applied):
    """Objects whose scaling changed without an applied audit row for them, and applied rows
    whose replicas the cluster does not hold."""
    problems = []
    edited = {}
    for row in sorted(applied, key=lambda r: r["seq"]):
        # A plan's own rows (drafted, approved…) change no object: its steps are rows of
        # their own, on the HPA.
        if row.get("target", "").startswith("Plan"):
            continue
        edited[(row["namespace"], row["name"])] = row
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        kind, namespace, name = key
        row = edited.get((namespace, name))
        if row is None:
            problems.append(f"{kind} of {namespace}/{name} changed with no applied audit row: "
                            f"{before.get(key)!r} -> {after.get(key)!r}")
        elif kind == "replicas" and isinstance(row.get("after"), dict) and "replicas" in row["after"] \
                and row["after"]["replicas"] != after.get(key):
            problems.append(f"{namespace}/{name} holds {after.get(key)} replicas; the audit log's "
                            f"last applied edit set {row['after']['replicas']}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-per-identity", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("PAYDECK_FUZZ_SEED", "20261201")))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="paydeck-fuzz-") as tmp:
        workdir = Path(tmp)
        child, url, kubeconfig, log = start_paydeck(workdir)
        try:
            cluster = Cluster(kubeconfig, workdir)
            before = cluster.scaling_state()
            known_edit(url, cluster)
            started = time.time()
            totals = {"responses": 0, "5xx": 0, "unreadable_4xx": 0}
            failures_all = {}
            reports = []
            for name, token in IDENTITIES:
                result, tally, failures, output = run_identity(url, name, token, args.seconds_per_identity,
                                                               args.seed, workdir)
                for k in totals:
                    totals[k] += tally.get(k, 0)
                for code, count in failures.items():
                    failures_all[code] = failures_all.get(code, 0) + count
                reports.append((name, result, failures, output))
                print(f"fuzz | {name}: {tally.get('responses', 0)} responses "
                      f"({', '.join(f'{k} {v}' for k, v in sorted(tally.items()) if k.endswith('xx'))}), "
                      f"{result['test_cases']['generated']} test cases, failures {failures or 'none'}", flush=True)
            elapsed = time.time() - started
            after = cluster.scaling_state()
            applied = audit_applied(url)
            problems = unexplained_changes(before, after, applied)
            changed = sum(1 for k in set(before) | set(after) if before.get(k) != after.get(k))
            if changed == 0:
                problems.append("the known edit is not in the cluster: the comparison checked nothing")
        finally:
            child.terminate()
            child.wait(timeout=30)
        if child.returncode not in (0, -15):
            problems.append(f"paydeck exited with {child.returncode}")
        if any("panicked" in line for line in log):
            problems.append("paydeck panicked:\n" + "".join(l for l in log if "panicked" in l))

    invalid_accepted = failures_all.get("ST201", 0)
    schema = failures_all.get("ST108", 0)
    print(f"FUZZ | requests fuzzed {totals['responses']} in {elapsed:.0f} s, as 3 identities (seed {args.seed}) "
          f"| 5xx {totals['5xx']} (goal 0) | invalid accepted {invalid_accepted} (goal 0) "
          f"| schema mismatches {schema} | unreadable 4xx {totals['unreadable_4xx']} "
          f"| objects changed {changed}, applied edits {len(applied)}, unexplained {len(problems)}", flush=True)
    failed = bool(failures_all) or totals["5xx"] or problems
    if failed:
        for name, _, failures, output in reports:
            if failures:
                print(f"\n===== {name}: schemathesis' report =====\n{output[-12000:]}")
        for p in problems:
            print(f"cluster: {p}")
        sys.exit(1)


if __name__ == "__main__":
    main()

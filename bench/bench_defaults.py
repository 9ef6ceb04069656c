"""`BENCH_MODE=defaults npm run bench`: the MLflow server of the previous local default against
the one the program renders now, side by side on the same database and bucket, A/B interleaved.

- before: 4 uvicorn workers, job execution (job runner and huey consumers) and periodic tasks
  on, started as the previous entrypoint did: `mlflow server`, which stays as a launcher;
- default: the rendered environment through images/tracking-server/entrypoint.py as it is;
- BENCH_AB_VARIANTS="w2:MLFLOW_WORKERS=2;jobs:MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true": more
  servers, each the rendered environment plus those variables, through the entrypoint.

Every server is requested directly (no proxy). Targets: `log_metric` sequential and at 8
clients, median default / median before >= 0.95; the default's process tree <= 1 GiB RSS at its
peak while it is measured. Results also go to e2e/out/<backend>/bench-defaults.{txt,json}.
"""
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from bench_platform import (CONC_TOTAL, ERRORS, QUICK, ROUNDS, SEQ_N, Target, ab, concurrent, get_run, log_metric, ok,
                            process_table, pss_kib, rss_kib, sequential)
from e2e_harness import BACKEND, OUT, MlflowServer, Proc, descendants, mlflow_env

BEFORE = {"MLFLOW_WORKERS": "4", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "true", "MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS": "true"}
TARGETS = {"log_metric sequential": 0.95, "log_metric 8 clients": 0.95}
TREE_RSS_LIMIT_MIB = 1024


def variants():
    """[(name, extra environment)] from BENCH_AB_VARIANTS ("name:K=V,K=V;name2:K=V")."""
    out = []
    for item in filter(None, os.environ.get("BENCH_AB_VARIANTS", "").split(";")):
        name, _, pairs = item.partition(":")
        out.append((name.strip(), dict(p.strip().split("=", 1) for p in pairs.split(",") if p.strip())))
    return out


class TreeSampler:
    """Peak RSS/PSS of one process tree, sampled every 0.25 s while armed."""

    def __init__(self, pid):
        self.pid, self.peaks, self.armed = pid, {}, threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        tick = 0
        while not self._stop.is_set():
            if self.armed.is_set():
                pids = [self.pid] + descendants(self.pid)
                rss = [rss_kib(p) for p in pids]
                self._note("tree_rss_mib", sum(rss) / 1024)
                self._note("processes", len([r for r in rss if r > 0]))
                if tick % 4 == 0:
                    self._note("tree_pss_mib", sum(pss_kib(p) for p in pids) / 1024)
                tick += 1
            self._stop.wait(0.25)

    def _note(self, key, value):
        self.peaks[key] = max(self.peaks.get(key, 0), value)

    def stop(self):
        self._stop.set()
        self._thread.join()


def start_before(env):
    """The previous entrypoint's last step, `os.execv(mlflow, [mlflow, "server"])`: the launcher stays."""
    server = MlflowServer(env, name="mlflow-before")
    server.proc = Proc("mlflow-before", [str(Path(sys.executable).parent / "mlflow"), "server"], env, cwd=str(OUT))
    return server.start()


@pytest.fixture(scope="module")
def servers(mlflow_env_rendered, database, artifact_store):
    started = {}
    try:
        # The default first: its entrypoint brings the schema up to date for all of them.
        started["default"] = MlflowServer(mlflow_env(mlflow_env_rendered, database, artifact_store), name="mlflow-default").start()
        started["before"] = start_before(mlflow_env(mlflow_env_rendered, database, artifact_store, **BEFORE))
        for name, extra in variants():
            env = mlflow_env(mlflow_env_rendered, database, artifact_store, **extra)
            started[name] = MlflowServer(env, name=f"mlflow-{name}").start()
        yield started
    finally:
        for s in started.values():
            s.proc.stop()


def measured(target, sampler, measure):
    sampler.armed.set()
    try:
        return measure(target)
    finally:
        sampler.armed.clear()


def test_defaults_ab(servers):
    targets = [Target(name, s.url, None) for name, s in servers.items()]
    samplers = {name: TreeSampler(s.proc.pid) for name, s in servers.items()}
    setup = targets[0].session()
    exp = setup.post(f"{targets[0].base}/api/2.0/mlflow/experiments/create", json={"name": f"bench-ab-{uuid.uuid4().hex[:8]}"}).json()["experiment_id"]
    run_id = ok(setup.post(f"{targets[0].base}/api/2.0/mlflow/runs/create", json={"experiment_id": exp})).json()["run"]["info"]["run_id"]
    load_before = os.getloadavg()
    calls = {
        "log_metric sequential": lambda t: sequential(t, log_metric, run_id, SEQ_N),
        "get_run sequential": lambda t: sequential(t, get_run, run_id, SEQ_N),
        "log_metric 8 clients": lambda t: concurrent(t, log_metric, run_id, 8, CONC_TOTAL),
        "log_metric 32 clients": lambda t: concurrent(t, log_metric, run_id, 32, CONC_TOTAL),
    }
    results = {name: ab(targets, lambda t, m=m: measured(t, samplers[t.name], m), ROUNDS) for name, m in calls.items()}
    for s in samplers.values():
        s.stop()
    tables = {name: process_table(s.proc.pid) for name, s in servers.items()}
    report(results, {n: s.peaks for n, s in samplers.items()}, tables, load_before)


def report(results, peaks, tables, load_before):
    lines, missed = [], []
    lines.append(f"bench defaults {BACKEND}: rounds={ROUNDS} seq_n={SEQ_N} conc_total={CONC_TOTAL} quick={QUICK}"
                 f" variants={[n for n, _ in variants()]} load before {load_before[0]:.2f} after {os.getloadavg()[0]:.2f} (2 cores shared)")
    lines.append(f"{'measurement':26} {'server':10} {'min':>8} {'median':>8}  req/s")
    ratios = {}
    for name, by_server in results.items():
        for server, values in by_server.items():
            lines.append(f"{name:26} {server:10} {min(values):8.1f} {statistics.median(values):8.1f}")
        before = statistics.median(by_server["before"])
        for server, values in by_server.items():
            if server != "before":
                ratios[f"{name}, {server}/before"] = statistics.median(values) / before
    lines.append("ratios (median / median of before):")
    for key, value in ratios.items():
        name, server = key.split(", ")
        target = TARGETS.get(name) if server == "default/before" else None
        verdict = "info" if target is None else ("ok" if value >= target else "MISSED")
        if verdict == "MISSED":
            missed.append(f"{key} {value:.2f} < {target}")
        lines.append(f"  {key:44} {value:6.2f}  target {'>= ' + str(target) if target else '-':8} {verdict}")
    for server, p in peaks.items():
        lines.append(f"peaks of {server} while measured: " + ", ".join(f"{k}={v:.0f}" for k, v in sorted(p.items())))
    rss = peaks["default"].get("tree_rss_mib", 0)
    verdict = "ok" if rss <= TREE_RSS_LIMIT_MIB else "MISSED"
    if verdict == "MISSED":
        missed.append(f"default tree RSS {rss:.0f} MiB > {TREE_RSS_LIMIT_MIB}")
    lines.append(f"  default MLflow tree RSS {rss:.0f} MiB  target <= {TREE_RSS_LIMIT_MIB} MiB  {verdict}")
    for server, rows in tables.items():
        lines.append(f"process tree of {server} after the load:")
        lines.extend(rows)
    if ERRORS:
        missed.append(f"non-2xx answers: {ERRORS}")
    lines.append(f"non-2xx answers: {ERRORS or 'none'}")
    text = "\n".join(lines)
    print("\n" + text)
    (OUT / "bench-defaults.txt").write_text(text + "\n")
    (OUT / "bench-defaults.json").write_text(json.dumps({"backend": BACKEND, "results": results, "ratios": ratios, "peaks": peaks,
                                                          "missed": missed, "quick": QUICK, "at": time.time()}, indent=2))
    assert not missed, "targets missed: " + "; ".join(missed)

"""`npm run bench`: the e2e-realized stack, through the proxy vs directly, A/B interleaved.

Each measurement runs in rounds; within a round the order of the paths alternates, so drift
of the shared machine's load hits both sides. Printed per path: min and median; the ratio
of medians is compared with its target. Results also go to e2e/out/<backend>/bench.json.
Any non-2xx answer fails the run: a fast error is not a result.
"""
import json
import os
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import requests

from e2e_harness import BACKEND, OUT, descendants

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3" if QUICK else "5"))
SEQ_N = int(os.environ.get("BENCH_SEQ_N", "60" if QUICK else "200"))
CONC_TOTAL = int(os.environ.get("BENCH_CONC_TOTAL", "96" if QUICK else "320"))
BATCH_N = 3 if QUICK else 5
BIG_BYTES = int(os.environ.get("BENCH_BIG_BYTES", str(100_000_000 if QUICK else 1 << 30)))
TRANSFER_ROUNDS = int(os.environ.get("BENCH_TRANSFER_ROUNDS", "1" if QUICK else "2"))
MIB = 1 << 20

# Targets: ratio of medians proxy/direct, or an absolute bound.
TARGETS = {
    "log_metric sequential": 0.95,
    "get_run sequential": 0.95,
    "log_metric 8 clients": 0.90,
    "upload proxy/direct MLflow": 0.80,
}
NGINX_RSS_LIMIT_MIB = 64


# --- sampling RSS and database connections -------------------------------------------------

def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_table(root):
    """One line per process of a tree: pid, RSS, PSS and the start of its command line."""
    rows = []
    for pid in [root] + descendants(root):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        cmd = " ".join(w.rsplit("/", 1)[-1] if "/" in w and i < 2 else w for i, w in enumerate(cmd.split()))
        rows.append(f"    {pid:>7} rss {rss_kib(pid) / 1024:6.0f} MiB  pss {pss_kib(pid) / 1024:6.0f} MiB  {cmd[:110]}")
    return rows


def db_connections(database):
    """Connections the MLflow database user holds right now."""
    if BACKEND == "mysql":
        conn = harness_mysql()
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.processlist WHERE user = %s", (database["user"],))
            n = cur.fetchone()[0]
        conn.close()
        return int(n)
    r = harness_psql(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{database['user']}'")
    return int(r.stdout.strip() or 0)


def harness_mysql():
    import e2e_harness
    return e2e_harness._mysql_admin()


def harness_psql(sql):
    import e2e_harness
    return e2e_harness._psql(sql)


class Sampler:
    """Peaks of nginx/MLflow memory and DB connections while a phase runs."""

    def __init__(self, nginx_pid, mlflow_pid, database):
        self.nginx_pid, self.mlflow_pid, self.database = nginx_pid, mlflow_pid, database
        self.peaks = {}
        self._stop = threading.Event()
        self._thread = None

    def _note(self, key, value):
        self.peaks[key] = max(self.peaks.get(key, 0), value)

    def _loop(self):
        tick = 0
        while not self._stop.is_set():
            nginx = [self.nginx_pid] + descendants(self.nginx_pid)
            self._note("nginx_rss_mib", sum(rss_kib(p) for p in nginx) / 1024)
            mlflow = [self.mlflow_pid] + descendants(self.mlflow_pid)
            rss = [rss_kib(p) for p in mlflow]
            self._note("mlflow_processes", len([r for r in rss if r > 0]))
            self._note("mlflow_tree_rss_mib", sum(rss) / 1024)
            self._note("mlflow_max_process_rss_mib", max(rss, default=0) / 1024)
            if tick % 4 == 0:
                self._note("mlflow_tree_pss_mib", sum(pss_kib(p) for p in mlflow) / 1024)
                try:
                    self._note("db_connections", db_connections(self.database))
                except Exception:  # noqa: BLE001 - a missed sample is not a failure
                    pass
            tick += 1
            self._stop.wait(0.25)

    def __enter__(self):
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --- the calls -------------------------------------------------------------------------------

class Target:
    def __init__(self, name, base, auth, headers=None):
        self.name, self.base, self.auth, self.headers = name, base, auth, headers or {}

    def session(self):
        s = requests.Session()
        s.auth = self.auth
        s.headers.update(self.headers)
        return s


ERRORS = {}
_errors_lock = threading.Lock()


def ok(r):
    """Counts a non-2xx answer (reported, and fails the run) and goes on: one 502 must not hide the numbers."""
    if not 200 <= r.status_code < 300:
        key = f"{r.request.method} {r.url.split('?')[0].split('/api/', 1)[-1][:60]} -> {r.status_code}"
        with _errors_lock:
            ERRORS[key] = ERRORS.get(key, 0) + 1
    return r


def log_metric(s, t, run_id, i):
    ok(s.post(f"{t.base}/api/2.0/mlflow/runs/log-metric", json={"run_id": run_id, "key": f"m-{t.name}", "value": float(i),
                                                                "timestamp": int(time.time() * 1000), "step": i}, timeout=60))


def get_run(s, t, run_id, i):
    ok(s.get(f"{t.base}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=60))


def log_batch(s, t, run_id, i):
    now = int(time.time() * 1000)
    metrics = [{"key": f"b-{t.name}", "value": float(k), "timestamp": now, "step": i * 1000 + k} for k in range(1000)]
    ok(s.post(f"{t.base}/api/2.0/mlflow/runs/log-batch", json={"run_id": run_id, "metrics": metrics}, timeout=120))


def sequential(t, call, run_id, n):
    s = t.session()
    call(s, t, run_id, -1)  # warm the keep-alive connection
    start = time.perf_counter()
    for i in range(n):
        call(s, t, run_id, i)
    return n / (time.perf_counter() - start)


def concurrent(t, call, run_id, clients, total):
    per = max(1, total // clients)
    sessions = [t.session() for _ in range(clients)]
    for s in sessions:
        call(s, t, run_id, -1)
    barrier = threading.Barrier(clients + 1)

    def worker(s):
        barrier.wait()
        for i in range(per):
            call(s, t, run_id, i)

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker, s) for s in sessions]
        barrier.wait()
        start = time.perf_counter()
        for f in futures:
            f.result()
        return clients * per / (time.perf_counter() - start)


def ab(targets, measure, rounds):
    """Rounds of every target, order rotated each round; returns {target name: [values]}."""
    out = {t.name: [] for t in targets}
    for r in range(rounds):
        order = targets[r % len(targets):] + targets[:r % len(targets)]
        for t in order:
            out[t.name].append(measure(t))
    return out


# --- transfers ---------------------------------------------------------------------------------

def big_file(path, size):
    chunk = os.urandom(8 * MIB)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))
    return path


def transfer_paths(proxy_t, direct_t, store):
    s3 = boto3.client("s3", **store["admin"])
    bucket = store["bucket"]

    def http_up(t):
        def up(key, path):
            with open(path, "rb") as f:
                ok(t.session().put(f"{t.base}/api/2.0/mlflow-artifacts/artifacts/{key}", data=f, timeout=3600))
        return up

    def http_down(t):
        def down(key):
            n = 0
            with t.session().get(f"{t.base}/api/2.0/mlflow-artifacts/artifacts/{key}", stream=True, timeout=3600) as r:
                ok(r)
                for block in r.iter_content(MIB):
                    n += len(block)
            return n
        return down

    def s3_up(key, path):
        s3.upload_file(str(path), bucket, key)

    def s3_down(key):
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().__len__()

    return {"proxy": (http_up(proxy_t), http_down(proxy_t)), "direct MLflow": (http_up(direct_t), http_down(direct_t)),
            "direct S3": (s3_up, s3_down)}, (lambda key: s3.delete_object(Bucket=bucket, Key=key))


# --- the benchmark -------------------------------------------------------------------------------

def summary(values):
    return {"min": min(values), "median": statistics.median(values), "n": len(values), "values": values}


def test_bench(proxy, mlflow_server, credentials, artifact_store, database, tmp_path):
    proxy_t = Target("proxy", proxy.url, tuple(credentials))
    # With team accounts MLflow answers only requests that carry the proxy's identity headers:
    # the direct side sends what nginx would, so the ratio is nginx's cost alone.
    token = mlflow_server.env.get("MLFLOW_PLATFORM_PROXY_TOKEN")
    direct_t = Target("direct", mlflow_server.url, None, {"X-Mlflow-Platform-User": credentials[0], "X-Mlflow-Platform-Token": token} if token else None)
    setup = direct_t.session()
    exp = setup.post(f"{direct_t.base}/api/2.0/mlflow/experiments/create", json={"name": f"bench-{uuid.uuid4().hex[:8]}"}).json()["experiment_id"]
    run_id = ok(setup.post(f"{direct_t.base}/api/2.0/mlflow/runs/create", json={"experiment_id": exp})).json()["run"]["info"]["run_id"]
    sampler = Sampler(proxy.proc.pid, mlflow_server.proc.pid, database)
    results, peaks = {}, {}
    load_before = os.getloadavg()

    ab2 = [proxy_t, direct_t]
    results["log_metric sequential"] = ab(ab2, lambda t: sequential(t, log_metric, run_id, SEQ_N), ROUNDS)
    results["get_run sequential"] = ab(ab2, lambda t: sequential(t, get_run, run_id, SEQ_N), ROUNDS)
    with sampler:
        results["log_metric 8 clients"] = ab(ab2, lambda t: concurrent(t, log_metric, run_id, 8, CONC_TOTAL), ROUNDS)
        results["log_metric 32 clients"] = ab(ab2, lambda t: concurrent(t, log_metric, run_id, 32, CONC_TOTAL), ROUNDS)
        results["log_batch 1000 points"] = ab(ab2, lambda t: sequential(t, log_batch, run_id, BATCH_N), ROUNDS)
    peaks["under request load"] = dict(sampler.peaks)
    processes = process_table(mlflow_server.proc.pid)

    path = big_file(tmp_path / "big.bin", BIG_BYTES)
    paths, delete = transfer_paths(proxy_t, direct_t, artifact_store)
    up, down = {k: [] for k in paths}, {k: [] for k in paths}
    sampler.peaks = {}
    with sampler:
        names = list(paths)
        for r in range(TRANSFER_ROUNDS):
            for name in names[r % 3:] + names[:r % 3]:
                key = f"bench/{uuid.uuid4().hex}/big.bin"
                start = time.perf_counter()
                paths[name][0](key, path)
                up[name].append(BIG_BYTES / MIB / (time.perf_counter() - start))
                start = time.perf_counter()
                got = paths[name][1](key)
                down[name].append(BIG_BYTES / MIB / (time.perf_counter() - start))
                if got != BIG_BYTES:
                    ERRORS[f"{name} download size {got} != {BIG_BYTES}"] = 1
                delete(key)
    peaks["during transfers"] = dict(sampler.peaks)
    path.unlink()
    results["upload MiB/s"] = up
    results["download MiB/s"] = down

    report(results, peaks, load_before, processes)


def report(results, peaks, load_before, processes):
    lines, missed = [], []
    size = "1 GiB" if BIG_BYTES == 1 << 30 else f"{BIG_BYTES / 1e6:.0f} MB"
    lines.append(f"bench {BACKEND}: rounds={ROUNDS} seq_n={SEQ_N} conc_total={CONC_TOTAL} big={size} x{TRANSFER_ROUNDS}"
                 f" quick={QUICK} chosen_password={os.environ.get('E2E_CHOSEN_PASSWORD', '1') != '0' and BACKEND == 'postgres'}"
                 f" load before {load_before[0]:.2f} after {os.getloadavg()[0]:.2f} (2 cores shared)")
    lines.append(f"{'measurement':32} {'path':14} {'min':>9} {'median':>9}  unit")
    ratios = {}
    for name, by_path in results.items():
        unit = "MiB/s" if "MiB/s" in name else "req/s"
        for p, values in by_path.items():
            s = summary(values)
            lines.append(f"{name:32} {p:14} {s['min']:9.1f} {s['median']:9.1f}  {unit}")
        if "proxy" in by_path and "direct" in by_path:
            ratios[name] = statistics.median(by_path["proxy"]) / statistics.median(by_path["direct"])
    ratios["upload proxy/direct MLflow"] = statistics.median(results["upload MiB/s"]["proxy"]) / statistics.median(results["upload MiB/s"]["direct MLflow"])
    ratios["download proxy/direct MLflow"] = statistics.median(results["download MiB/s"]["proxy"]) / statistics.median(results["download MiB/s"]["direct MLflow"])
    ratios["upload proxy/direct S3"] = statistics.median(results["upload MiB/s"]["proxy"]) / statistics.median(results["upload MiB/s"]["direct S3"])
    lines.append("ratios (median proxy / median direct):")
    for name, value in ratios.items():
        target = TARGETS.get(name)
        verdict = "info" if target is None else ("ok" if value >= target else "MISSED")
        if verdict == "MISSED":
            missed.append(f"{name} {value:.2f} < {target}")
        lines.append(f"  {name:40} {value:6.2f}  target {'>= ' + str(target) if target else '-':8} {verdict}")
    for phase, p in peaks.items():
        lines.append(f"peaks {phase}: " + ", ".join(f"{k}={v:.0f}" for k, v in sorted(p.items())))
    lines.append("MLflow process tree after the request load:")
    lines.extend(processes)
    if ERRORS:
        missed.append(f"non-2xx answers: {ERRORS}")
    lines.append(f"non-2xx answers: {ERRORS or 'none'}")
    nginx_peak = peaks["during transfers"].get("nginx_rss_mib", 0)
    verdict = "ok" if nginx_peak < NGINX_RSS_LIMIT_MIB else "MISSED"
    if verdict == "MISSED":
        missed.append(f"nginx RSS {nginx_peak:.0f} MiB >= {NGINX_RSS_LIMIT_MIB}")
    lines.append(f"  nginx RSS during transfers {nginx_peak:.1f} MiB  target < {NGINX_RSS_LIMIT_MIB} MiB  {verdict}")
    text = "\n".join(lines)
    print("\n" + text)
    (OUT / "bench.txt").write_text(text + "\n")
    (OUT / "bench.json").write_text(json.dumps({"backend": BACKEND, "results": results, "ratios": ratios, "peaks": peaks,
                                                 "missed": missed, "quick": QUICK, "big_bytes": BIG_BYTES}, indent=2))
    assert not missed, "targets missed: " + "; ".join(missed)

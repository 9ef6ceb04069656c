"""`BENCH_MODE=accounts npm run bench`: team accounts with 50 users, A/B interleaved in one run.

bench/run renders the spec with 50 entries in the `users` key (1 admin, 25 editors, 24 viewers,
generated passwords: SHA-512-crypt 1000 rounds), beside the username key's login. Three paths,
the same request mix on each, in rounds whose order rotates:

- proxy: nginx with the rendered config (51 htpasswd lines) -> MLflow with the auth app, as
  rendered (`--app-name basic-auth`, `mlflow_platform_auth:authenticate_proxied`);
- auth direct: that MLflow without nginx, with the identity headers nginx would send (user + token);
- plain: a second MLflow from the same rendered environment on the same database and bucket,
  without the auth app (no MLFLOW_PLATFORM_* variables): MLflow as it was before team accounts.

The mix, spread over the 50 users in turn: the admin and each editor `log_metric` to a run of
their own experiment (created through the proxy as that user, so the editor holds MANAGE on
it); each viewer `get_run` on an editor's run (READ through the platform-viewer role). 8 clients.
CPU: utime + stime of each process tree from /proc (nginx master + workers; each MLflow's tree)
around every phase, per request. Targets: nginx CPU per request plus the auth app's MLflow CPU
per request (proxy's MLflow minus plain) <= 5 ms; 8-client req/s proxy / plain >= 0.90.

Afterwards (BENCH_PROFILE=0 skips it), where MLflow's time goes: one more MLflow with and one
without the auth app, each under cProfile (thread CPU time) in its worker threads (where Flask handles requests)
plus a count of SQL statements per database, the same mix directly. Results: e2e/out/<backend>/bench-accounts.{txt,json}.
"""
import json
import os
import pstats
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bench_platform import ERRORS, QUICK, ROUNDS, ok
from e2e_harness import AUTH_DB_URI, BACKEND, OUT, MlflowServer, Redacted, descendants, mlflow_env

USER_HEADER, TOKEN_HEADER = "X-Mlflow-Platform-User", "X-Mlflow-Platform-Token"
# Without these the entrypoint starts MLflow without its auth app.
AUTH_OFF = {AUTH_DB_URI: None, "MLFLOW_PLATFORM_AUTH_INI": None, "MLFLOW_PLATFORM_USERS": None, "MLFLOW_PLATFORM_PROXY_TOKEN": None}
CLIENTS = 8
TOTAL = int(os.environ.get("BENCH_ACCOUNTS_TOTAL", "200" if QUICK else "480"))
PROFILE = os.environ.get("BENCH_PROFILE", "1") not in ("0", "false")
PROFILE_TOTAL = int(os.environ.get("BENCH_PROFILE_TOTAL", "300"))
TARGET_RATIO = 0.90
TARGET_CPU_MS = 5.0
HZ = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid):
    """utime + stime of a process and its live descendants."""
    total = 0
    for p in [pid] + descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / HZ


# --- the users and the request mix ----------------------------------------------------------------

@pytest.fixture(scope="module")
def users(spec):
    got = {name: (u["role"], u["password"]) for name, u in (spec.get("users") or {}).items()}
    roles = [r for r, _ in got.values()]
    assert len(got) == 50 and roles.count("admin") == 1 and roles.count("editor") == 25 and roles.count("viewer") == 24, \
        "the spec must be rendered with 50 users (BENCH_MODE=accounts bench/run sets E2E_USERS)"
    return Redacted(got)


def mix(users, runs, total):
    """[(kind, user, run_id)]: user k % 50 in turn; writers log to their own run, viewers read an editor's."""
    names = sorted(users)
    editors = [n for n in names if users[n][0] == "editor"]
    ops = []
    for k in range(total):
        name = names[k % len(names)]
        if users[name][0] == "viewer":
            ops.append(("get_run", name, runs[editors[k % len(editors)]]))
        else:
            ops.append(("log_metric", name, runs[name]))
    return ops


class Route:
    """One way to reach MLflow: base URL and what a request carries for a user."""

    def __init__(self, name, base, creds):
        self.name, self.base, self.creds = name, base, creds


def call(s, path, op, i):
    kind, user, run_id = op
    kw = dict(path.creds(user), timeout=60)
    if kind == "log_metric":
        ok(s.post(f"{path.base}/api/2.0/mlflow/runs/log-metric",
                  json={"run_id": run_id, "key": "m", "value": float(i), "timestamp": int(time.time() * 1000), "step": i}, **kw))
    else:
        ok(s.get(f"{path.base}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, **kw))


def load(path, ops, watched):
    """ops spread over CLIENTS keep-alive sessions; returns (req/s, {tree: CPU seconds during the load})."""
    slices = [ops[c::CLIENTS] for c in range(CLIENTS)]
    sessions = [requests.Session() for _ in range(CLIENTS)]
    for s, part in zip(sessions, slices):
        call(s, path, part[0], -1)  # open the keep-alive connection
    barrier = threading.Barrier(CLIENTS + 1)

    def worker(s, part):
        barrier.wait()
        for i, op in enumerate(part):
            call(s, path, op, i)

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(worker, s, part) for s, part in zip(sessions, slices)]
        before = {name: tree_cpu_seconds(pid) for name, pid in watched.items()}
        barrier.wait()
        start = time.perf_counter()
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - start
    after = {name: tree_cpu_seconds(pid) for name, pid in watched.items()}
    return len(ops) / elapsed, {name: after[name] - before[name] for name in watched}


# --- servers ---------------------------------------------------------------------------------------

def without_auth_env(rendered, database, artifact_store, **extra):
    return mlflow_env(rendered, database, artifact_store, **AUTH_OFF, **extra)


@pytest.fixture(scope="module")
def plain_server(mlflow_env_rendered, database, artifact_store, mlflow_server):
    # After mlflow_server: the auth server's entrypoint has brought the schema up to date.
    server = MlflowServer(without_auth_env(mlflow_env_rendered, database, artifact_store), name="mlflow-plain")
    try:
        yield server.start()
    finally:
        server.proc.stop()


def runs_of(proxy, users):
    """An experiment and a run per writer, created through the proxy as that user."""
    runs = {}
    for name, (role, password) in sorted(users.items()):
        if role == "viewer":
            continue
        s = requests.Session()
        s.auth = (name, password)
        exp = ok(s.post(f"{proxy.url}/api/2.0/mlflow/experiments/create", json={"name": f"bench-acc-{uuid.uuid4().hex[:8]}-{name}"}, timeout=60))
        run = ok(s.post(f"{proxy.url}/api/2.0/mlflow/runs/create", json={"experiment_id": exp.json()["experiment_id"]}, timeout=60))
        runs[name] = run.json()["run"]["info"]["run_id"]
    return runs


def check_paths(paths, users, runs, plain):
    """What each side is: the auth app refuses an anonymous request and a viewer's write; plain MLflow answers both."""
    viewer = next(n for n, (r, _) in sorted(users.items()) if r == "viewer")
    run = next(iter(runs.values()))
    write = {"run_id": run, "key": "m", "value": 0.0, "timestamp": 0}
    assert requests.get(f"{paths['auth direct'].base}/api/2.0/mlflow/runs/get", params={"run_id": run}, timeout=30).status_code == 401
    assert requests.get(f"{plain.url}/api/2.0/mlflow/runs/get", params={"run_id": run}, timeout=30).status_code == 200
    r = requests.post(f"{paths['proxy'].base}/api/2.0/mlflow/runs/log-metric", json=write, timeout=30, **paths["proxy"].creds(viewer))
    assert r.status_code == 403, (r.status_code, r.text[:200])


# --- the benchmark ---------------------------------------------------------------------------------

def test_accounts_ab(proxy, mlflow_server, plain_server, users, mlflow_env_rendered, database, artifact_store, auth_database):
    token = mlflow_server.env["MLFLOW_PLATFORM_PROXY_TOKEN"]
    paths = {
        "proxy": Route("proxy", proxy.url, lambda u: {"auth": (u, users[u][1])}),
        "auth direct": Route("auth direct", mlflow_server.url, lambda u: {"headers": {USER_HEADER: u, TOKEN_HEADER: token}}),
        "plain": Route("plain", plain_server.url, lambda u: {}),
    }
    runs = runs_of(proxy, users)
    check_paths(paths, users, runs, plain_server)
    watched = {"nginx": proxy.proc.pid, "mlflow auth": mlflow_server.proc.pid, "mlflow plain": plain_server.proc.pid}
    ops = mix(users, runs, TOTAL)
    load_before = os.getloadavg()
    for p in paths.values():  # steady state: every user seen, every connection and cache warm
        load(p, mix(users, runs, 100), watched)
    order = list(paths.values())
    rps, cpu = {n: [] for n in paths}, {n: {t: [] for t in watched} for n in paths}
    for r in range(ROUNDS):
        for p in order[r % 3:] + order[:r % 3]:
            rate, used = load(p, ops, watched)
            rps[p.name].append(rate)
            for t, seconds in used.items():
                cpu[p.name][t].append(seconds * 1000 / len(ops))
    profiles = profile_both(users, runs, token, mlflow_env_rendered, database, artifact_store, auth_database) if PROFILE else {}
    report(rps, cpu, profiles, load_before)


# --- where MLflow's time goes ------------------------------------------------------------------------

SITECUSTOMIZE = '''\
"""Bench only (BENCH_PROFILE_OUT): cProfile (thread CPU time) in every thread started after this (the request handlers
run in worker threads; startup imports on the main thread stay out), SQL statements counted per database."""
import cProfile, json, os, threading, time

_out = os.environ.get("BENCH_PROFILE_OUT")
if _out:
    _profiles, _queries = [], {}

    def _start(*_):
        p = cProfile.Profile(time.thread_time)  # CPU time of the thread: waits on locks and sockets count nothing
        _profiles.append(p)
        p.enable()

    def _watch():
        # uvicorn ends with the signal it was stopped by (no atexit): the bench asks for the dump first.
        while not os.path.exists(os.path.join(_out, "dump")):
            time.sleep(0.2)
        _dump()
        open(os.path.join(_out, f"{os.getpid()}.done"), "w").close()

    threading.Thread(target=_watch, daemon=True).start()
    threading.setprofile(_start)  # a thread's first event starts its own profiler
    try:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        @event.listens_for(Engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            key = conn.engine.url.database or "?"
            _queries[key] = _queries.get(key, 0) + 1
    except ImportError:
        pass

    def _dump():
        import pstats
        stats = None
        for p in _profiles:
            try:
                stats = pstats.Stats(p) if stats is None else stats.add(p)
            except Exception:
                pass
        if stats is not None:
            stats.dump_stats(os.path.join(_out, f"{os.getpid()}.prof"))
        with open(os.path.join(_out, f"{os.getpid()}.queries.json"), "w") as f:
            json.dump(_queries, f)
'''

# (file suffix, function): what the table shows per request.
PROFILED = [
    ("flask/app.py", "full_dispatch_request"),
    ("mlflow/server/auth/__init__.py", "_before_request"),
    ("mlflow_platform_auth.py", "authenticate_proxied"),
    ("mlflow/server/auth/__init__.py", "sender_is_admin"),
    ("mlflow/server/auth/__init__.py", "validate_can_update_run"),
    ("mlflow/server/auth/__init__.py", "validate_can_read_run"),
    ("mlflow/server/auth/__init__.py", "_run_requirement"),
    ("mlflow/server/auth/__init__.py", "authorize"),
    ("mlflow/server/auth/__init__.py", "get_anchor_workspace"),
    ("mlflow/server/auth/__init__.py", "resolve_permissions"),
    ("mlflow/server/auth/__init__.py", "_after_request"),
    ("mlflow/store/tracking/sqlalchemy_store.py", "get_run"),
    ("mlflow/server/auth/sqlalchemy_store.py", "get_user"),
    ("mlflow/server/handlers.py", "_log_metric"),
    ("mlflow/server/handlers.py", "_get_run"),
    ("sqlalchemy/engine/base.py", "_execute_context"),
    ("sqlalchemy/orm/session.py", "execute"),
]


def profile_one(name, env, ops, path_creds):
    out = OUT / "profile" / name
    out.mkdir(parents=True, exist_ok=True)
    site = OUT / "profile" / "site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = dict(env, PYTHONPATH=str(site), BENCH_PROFILE_OUT=str(out))
    server = MlflowServer(env, name=f"mlflow-profile-{name}").start()
    try:
        p = Route(name, server.url, path_creds)
        load(p, ops[:100], {})
        start = time.perf_counter()
        load(p, ops, {})
        elapsed = time.perf_counter() - start
        (out / "dump").touch()
        deadline = time.monotonic() + 60
        while not list(out.glob("*.done")) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.proc.stop()
    stats, queries = None, {}
    for f in out.glob("*.prof"):
        stats = pstats.Stats(str(f)) if stats is None else stats.add(str(f))
    for f in out.glob("*.queries.json"):
        for db, n in json.loads(f.read_text()).items():
            queries[db] = queries.get(db, 0) + n
    return {"stats": stats, "queries": queries, "requests": len(ops) + 100 + CLIENTS * 2, "seconds": elapsed}


def profile_both(users, runs, token, rendered, database, artifact_store, auth_database):
    ops = mix(users, runs, PROFILE_TOTAL)
    auth_env = mlflow_env(rendered, database, artifact_store, **{AUTH_DB_URI: auth_database})
    return {
        "auth": profile_one("auth", auth_env, ops, lambda u: {"headers": {USER_HEADER: u, TOKEN_HEADER: token}}),
        "plain": profile_one("plain", without_auth_env(rendered, database, artifact_store), ops, lambda u: {}),
    }


def profile_lines(profiles):
    lines = []
    if not profiles:
        return lines
    lines.append("where MLflow's CPU goes (cProfile, thread CPU time, in the worker threads; inflated by the profiler: compare the columns, not with the CPU above)")
    lines.append(f"  {'function':58} {'auth ms/req':>11} {'calls/req':>9} {'plain ms/req':>12} {'calls/req':>9}")
    for suffix, func in PROFILED:
        cells = []
        for side in ("auth", "plain"):
            stats, n = profiles[side]["stats"], profiles[side]["requests"]
            cc = ct = 0
            for (file, _line, fn), (c, nc, _tt, cum, _callers) in (stats.stats.items() if stats else []):
                if fn == func and file.endswith(suffix):
                    cc, ct = cc + nc, ct + cum
            cells.append(f"{ct * 1000 / n:11.2f} {cc / n:9.1f}")
        lines.append(f"  {suffix.rsplit('/', 1)[-1] + ':' + func:58} {cells[0]} {' ' + cells[1]}")
    for side in ("auth", "plain"):
        n = profiles[side]["requests"]
        q = ", ".join(f"{db}: {c / n:.1f}" for db, c in sorted(profiles[side]["queries"].items()))
        lines.append(f"  SQL statements per request, {side}: {q or 'none counted'}")
    stats = profiles["auth"]["stats"]
    if stats:
        n = profiles["auth"]["requests"]
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:15]
        lines.append("  auth side, top functions by own time (ms/req):")
        for (file, line, fn), (_c, nc, tt, _cum, _callers) in rows:
            lines.append(f"    {tt * 1000 / n:6.2f}  {nc / n:6.1f} calls  {'/'.join(file.split('/')[-2:])}:{line} {fn}")
    return lines


def report(rps, cpu, profiles, load_before):
    med = statistics.median
    lines, missed = [], []
    lines.append(f"bench accounts {BACKEND}: 50 users (1 admin, 25 editors, 24 viewers), {CLIENTS} clients, rounds={ROUNDS}"
                 f" requests/phase={TOTAL} quick={QUICK} load before {load_before[0]:.2f} after {os.getloadavg()[0]:.2f} (2 cores shared)")
    lines.append(f"{'path':12} {'req/s min':>9} {'median':>8}   CPU ms/request (median): nginx / mlflow auth / mlflow plain")
    for name, values in rps.items():
        c = cpu[name]
        lines.append(f"{name:12} {min(values):9.1f} {med(values):8.1f}   "
                     + " / ".join(f"{med(c[t]):6.2f}" for t in ("nginx", "mlflow auth", "mlflow plain")))
    nginx_ms = med(cpu["proxy"]["nginx"])
    plain_ms = med(cpu["plain"]["mlflow plain"])
    auth_via_proxy = med(cpu["proxy"]["mlflow auth"]) - plain_ms
    auth_direct = med(cpu["auth direct"]["mlflow auth"]) - plain_ms
    total = nginx_ms + auth_via_proxy
    ratio = med(rps["proxy"]) / med(rps["plain"])
    derived = {"nginx ms/req": nginx_ms, "auth app ms/req (proxy's MLflow - plain)": auth_via_proxy,
               "auth app ms/req (auth direct - plain)": auth_direct, "plain MLflow ms/req": plain_ms,
               "total added ms/req (nginx + auth app)": total,
               "req/s proxy / plain": ratio, "req/s proxy / auth direct (nginx alone)": med(rps["proxy"]) / med(rps["auth direct"]),
               "req/s auth direct / plain (auth app alone)": med(rps["auth direct"]) / med(rps["plain"])}
    for key, value in derived.items():
        target = {"total added ms/req (nginx + auth app)": f"<= {TARGET_CPU_MS}", "req/s proxy / plain": f">= {TARGET_RATIO}"}.get(key)
        verdict = "info"
        if target:
            good = value <= TARGET_CPU_MS if target.startswith("<=") else value >= TARGET_RATIO
            verdict = "ok" if good else "MISSED"
            if not good:
                missed.append(f"{key} {value:.2f} (target {target})")
        lines.append(f"  {key:44} {value:7.2f}  target {target or '-':8} {verdict}")
    lines.extend(profile_lines(profiles))
    if ERRORS:
        missed.append(f"non-2xx answers: {ERRORS}")
    lines.append(f"non-2xx answers: {ERRORS or 'none'}")
    text = "\n".join(lines)
    print("\n" + text)
    (OUT / "bench-accounts.txt").write_text(text + "\n")
    (OUT / "bench-accounts.json").write_text(json.dumps({"backend": BACKEND, "rps": rps, "cpu_ms_per_request": cpu, "derived": derived,
                                                          "queries": {k: v["queries"] for k, v in profiles.items()},
                                                          "missed": missed, "quick": QUICK, "at": time.time()}, indent=2))
    assert not missed, "targets missed: " + "; ".join(missed)

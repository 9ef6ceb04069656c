#!/usr/bin/env python3
"""Serves one registered model at an alias and follows the alias (issue 12).

Environment (rendered by components/render/serving.ts):
  MLFLOW_TRACKING_URI         the proxy's read-only registry endpoint
  MLFLOW_TRACKING_USERNAME    this model's reader account, and MLFLOW_TRACKING_PASSWORD its password
  MLFLOW_SERVE_MODEL_NAME     registered model name
  MLFLOW_SERVE_MODEL_ALIAS    alias to serve (e.g. champion)
  MLFLOW_SERVE_HOST           address to listen on (0.0.0.0 in a container)
  MLFLOW_SERVE_PORTS          two ports, e.g. "8080,8081"
  MLFLOW_SERVE_POLL_SECONDS   seconds between two look-ups of the alias
  MLFLOW_MODELS_WORKERS       uvicorn workers of `mlflow models serve`

Every POLL seconds the alias is resolved to a version through the tracking server. A version
not yet served is downloaded by this process into a local directory and started with `mlflow
models serve -m <that directory> --env-manager local` on the port the current process does not
use, in an environment without the reader's credentials (the model's code runs there); this
process is not dumpable, so that code cannot read them from /proc/<this pid>/environ or this
process's memory either. Once the new /ping answers 200 the previous process is stopped, and the version is moved back to the first port the same way. The proxy
tries the first port, then the second (a refused connection is passed on: nothing was sent, so
POSTs too), so moving the alias drops no request, and in steady state nothing is refused.

While nothing can be served (no such model or alias, tracking server unreachable, the version
failed to start), a placeholder answers every path, /ping included, with 503 and a JSON body
saying why. The reason is logged once each time it changes, and this process keeps retrying:
the container stays up and reports unhealthy, never a crash loop that hides the cause.
When the alias disappears while a version is served, that version keeps being served (logged).

`serve_model.py healthcheck` exits 0 when one of the ports answers /ping with 200.
"""
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Download and load of a large model through the tracking server can take minutes.
START_TIMEOUT_SECONDS = 900
STOP_TIMEOUT_SECONDS = 30
# A version that failed to start is tried again after this long, or at once when the alias moves.
FAILED_RETRY_SECONDS = 300


# What this process reads the registry with; the served model's process gets none of them.
CREDENTIAL_ENV = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_URI")
PR_SET_DUMPABLE = 4


def log(message):
    print(f"serve_model: {message}", file=sys.stderr, flush=True)


def settings_from_env(env):
    missing = [k for k in ("MLFLOW_TRACKING_URI", "MLFLOW_SERVE_MODEL_NAME", "MLFLOW_SERVE_MODEL_ALIAS") if not env.get(k)]
    if missing:
        raise SystemExit(f"serve_model: set {', '.join(missing)}")
    ports = [int(p) for p in env.get("MLFLOW_SERVE_PORTS", "8080,8081").split(",")]
    if len(ports) != 2 or ports[0] == ports[1]:
        raise SystemExit(f"serve_model: MLFLOW_SERVE_PORTS must name two different ports, got {env.get('MLFLOW_SERVE_PORTS')!r}")
    poll = int(env.get("MLFLOW_SERVE_POLL_SECONDS", "30"))
    workers = int(env.get("MLFLOW_MODELS_WORKERS", "1"))
    if poll < 1 or workers < 1:
        raise SystemExit("serve_model: MLFLOW_SERVE_POLL_SECONDS and MLFLOW_MODELS_WORKERS must be at least 1")
    return {
        "tracking_uri": env["MLFLOW_TRACKING_URI"], "name": env["MLFLOW_SERVE_MODEL_NAME"],
        "alias": env["MLFLOW_SERVE_MODEL_ALIAS"], "host": env.get("MLFLOW_SERVE_HOST", "0.0.0.0"),
        "ports": ports, "poll": poll, "workers": workers,
    }


def served_env(env):
    """The served process's environment: this one's without the registry credentials."""
    return {k: v for k, v in env.items() if k not in CREDENTIAL_ENV}


def make_undumpable():
    """
    A process of the same user (the served model's code) may read another's /proc/<pid>/environ
    and memory only while that one is dumpable (ptrace access mode checks, proc(5)): clearing
    the flag keeps the password in this process's environment out of the model's reach.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


class ModelFiles:
    """Downloaded versions, one directory each; at most the served one and the one starting are kept."""

    def __init__(self, name, root, download):
        self.name, self.root, self.download, self.dirs = name, root, download, {}

    def path(self, version, keep):
        for v in [v for v in self.dirs if v not in (version, keep)]:
            shutil.rmtree(self.dirs.pop(v), ignore_errors=True)
        if version not in self.dirs:
            target = tempfile.mkdtemp(prefix=f"v{version}-", dir=self.root)
            try:
                self.dirs[version] = self.download(f"models:/{self.name}/{version}", target)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
        return self.dirs[version]


def starter(s, env, files, argv=None, current_version=lambda: None):
    """start_process for the Supervisor: download with this process's credentials, serve without them."""
    argv = argv or (lambda path, port: serve_argv(path, s["host"], port, s["workers"]))
    child_env = served_env(env)

    def start(version, port):
        return ModelProcess(argv(files.path(version, current_version()), port), child_env, port, version)
    return start


def with_env(overrides, fn):
    """fn, run with os.environ updated by overrides and put back afterwards (MLflow reads these per request)."""
    def run():
        saved = {k: os.environ.get(k) for k in overrides}
        os.environ.update(overrides)
        try:
            return fn()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return run


def ping(port, timeout=2):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=timeout) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def healthcheck(env):
    ports = [int(p) for p in env.get("MLFLOW_SERVE_PORTS", "8080,8081").split(",")]
    return 0 if any(ping(p) for p in ports) else 1


def resolve_alias(client, tracking_uri, name, alias):
    """(version, None) or (None, why not), the reason naming the fix."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version), None
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None, (f"cannot serve models:/{name}@{alias}: {e.message.rstrip('. ')}. Fix: register a version of model {name!r} and "
                          f"point alias {alias!r} at it, e.g. MlflowClient().set_registered_model_alias({name!r}, {alias!r}, <version>)")
        # Also what an unreachable server gives (MLflow wraps connection errors, code INTERNAL_ERROR).
        return None, f"looking up models:/{name}@{alias} at {tracking_uri} failed: {e.error_code}: {e.message}"
    except Exception as e:  # noqa: BLE001 - unreachable server, DNS, timeouts: retried
        return None, f"cannot reach the tracking server at {tracking_uri}: {type(e).__name__}: {e}"


class Placeholder:
    """Answers every request with 503 and the reason, so /ping reports unhealthy with a cause."""

    def __init__(self, host, port, reason):
        self.port, self.reason = port, reason
        placeholder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                body = json.dumps({"error_code": "TEMPORARILY_UNAVAILABLE", "message": placeholder.reason}).encode()
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self._answer()

            do_GET = do_HEAD = do_PUT = _answer  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alive(self):
        return True

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ModelProcess:
    """`mlflow models serve` (or any argv) in its own process group, so stop() ends uvicorn too."""

    def __init__(self, argv, env, port, version):
        self.argv, self.env, self.port, self.version = argv, env, port, version
        self.popen = subprocess.Popen(argv, env=env, start_new_session=True, stdin=subprocess.DEVNULL)

    def alive(self):
        return self.popen.poll() is None

    def ready(self):
        return ping(self.port)

    def stop(self):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()


def serve_argv(path, host, port, workers):
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", path, "--env-manager", "local",
            "-h", host, "-p", str(port), "-w", str(workers)]


class Supervisor:
    """One step per poll: resolve the alias, then keep, swap, or explain why nothing is served."""

    def __init__(self, settings, resolve, start_process, stopping, clock=time.monotonic, start_timeout=START_TIMEOUT_SECONDS):
        self.s, self.resolve, self.start_process, self.stopping = settings, resolve, start_process, stopping
        self.clock, self.start_timeout = clock, start_timeout
        self.current = None  # a ModelProcess or a Placeholder, on one of the two ports
        self.failed = {}  # version -> when it failed to start
        self.said = None

    @property
    def version(self):
        return getattr(self.current, "version", None)

    def say(self, message):
        if message != self.said:
            log(message)
            self.said = message

    def serving(self):
        return f"serving models:/{self.s['name']}/{self.version} (alias {self.s['alias']}) on port {self.current.port}"

    def free_port(self):
        ports = self.s["ports"]
        return ports[1] if self.current is not None and self.current.port == ports[0] else ports[0]

    def step(self):
        if self.version is not None and not self.current.alive():
            rc = self.current.popen.returncode
            self.failed[self.version] = self.clock()
            self.unavailable(f"version {self.version} of {self.s['name']} exited with status {rc} (its log is above); "
                             f"retrying in {FAILED_RETRY_SECONDS} s or when alias {self.s['alias']!r} moves")
        version, reason = self.resolve()
        if version is None:
            if self.version is not None:
                self.say(f"still serving version {self.version}: {reason}")
            else:
                self.unavailable(f"{reason} (retrying every {self.s['poll']} s)")
            return
        if version == self.version:
            self.say(self.serving())
            return
        failed_at = self.failed.get(version)
        if failed_at is not None and self.clock() - failed_at < FAILED_RETRY_SECONDS:
            return
        self.swap(version)

    def start_ready(self, version, port):
        """A process serving `version` on `port` that answers /ping, or (None, why it did not)."""
        try:
            proc = self.start_process(version, port)
        except Exception as e:  # noqa: BLE001 - a failed download is retried like a failed start
            return None, f"download failed: {type(e).__name__}: {e}"
        deadline = self.clock() + self.start_timeout
        while not proc.ready():
            if not proc.alive() or self.clock() > deadline or self.stopping.is_set():
                why = "stopping" if self.stopping.is_set() else (
                    f"exited with status {proc.popen.returncode}" if not proc.alive() else f"not ready after {self.start_timeout} s")
                proc.stop()
                return None, why
            time.sleep(0.5)
        return proc, None

    def swap(self, version):
        port = self.free_port()
        log(f"alias {self.s['alias']!r} of {self.s['name']!r} points to version {version}: starting it on port {port}")
        proc, why = self.start_ready(version, port)
        if proc is None:
            self.failed[version] = self.clock()
            message = (f"version {version} of {self.s['name']} failed to start ({why}; its log is above); "
                       f"retrying in {FAILED_RETRY_SECONDS} s or when alias {self.s['alias']!r} moves")
            if self.version is None:
                self.unavailable(message)
            else:
                self.say(f"{message}; still serving version {self.version}")
            return
        old, self.current = self.current, proc
        if old is not None:
            old.stop()
            log(f"stopped what was served on port {old.port}")
        self.failed.pop(version, None)
        if proc.port != self.s["ports"][0]:
            self.back_to_first_port(version)
        self.say(self.serving())

    def back_to_first_port(self, version):
        """
        The proxy tries the first port before the second (`backup`), and logs an error for each
        refused attempt: so the same version is started again on the first port and the second
        process stopped, and in steady state nothing is refused. Costs a second load per swap.
        """
        first = self.s["ports"][0]
        proc, why = self.start_ready(version, first)
        if proc is None:
            log(f"could not move version {version} to port {first} ({why}); it keeps being served on port {self.current.port}")
            return
        old, self.current = self.current, proc
        old.stop()
        log(f"moved version {version} to port {first}")

    def unavailable(self, reason):
        if isinstance(self.current, Placeholder):
            self.current.reason = reason
        else:
            if self.current is not None:
                self.current.stop()
                self.current = None
            try:
                self.current = Placeholder(self.s["host"], self.free_port(), reason)
            except OSError as e:
                log(f"placeholder could not listen on port {self.free_port()}: {e}")
        self.say(reason)

    def close(self):
        if self.current is not None:
            self.current.stop()
            self.current = None


def main(argv):
    if argv[1:] == ["healthcheck"]:
        return healthcheck(os.environ)
    s = settings_from_env(os.environ)
    make_undumpable()
    # The served process gets the environment as it was, less the credentials. Alias look-ups
    # fail fast instead of retrying for minutes (MLflow's default), so the next poll tries
    # again; downloads keep MLflow's retries and timeout (a large model over a slow link).
    child_env = dict(os.environ)
    fast = {k: v for k, v in (("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"), ("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")) if k not in os.environ}
    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts

    client = MlflowClient(s["tracking_uri"])
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    files = ModelFiles(s["name"], tempfile.mkdtemp(prefix="served-model-"),
                       lambda uri, dst: download_artifacts(artifact_uri=uri, dst_path=dst, tracking_uri=s["tracking_uri"]))
    holder = {}
    start = starter(s, child_env, files, current_version=lambda: holder["sup"].version)
    resolve = with_env(fast, lambda: resolve_alias(client, s["tracking_uri"], s["name"], s["alias"]))
    supervisor = holder["sup"] = Supervisor(s, resolve, start, stopping)
    log(f"serving models:/{s['name']}@{s['alias']} from {s['tracking_uri']}, alias checked every {s['poll']} s")
    try:
        while not stopping.is_set():
            supervisor.step()
            stopping.wait(s["poll"])
    finally:
        supervisor.close()
        shutil.rmtree(files.root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

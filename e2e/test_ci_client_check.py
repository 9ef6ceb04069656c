"""The real-deploy CI job's client check (.github/scripts/client_check.py), run against this
suite's platform exactly as the workflow runs it against the deployed stack: a subprocess with
only the tracking URI and the basic-auth credentials in its environment."""
import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / ".github" / "scripts" / "client_check.py"


def run_check(proxy, user, password, mode, state):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_TRACKING_URI": proxy.url, "MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password})
    return subprocess.run([sys.executable, str(SCRIPT), mode, str(state)], env=env, capture_output=True, text=True, timeout=300)


def test_client_check_logs_then_verifies_a_run(proxy, credentials, tmp_path):
    state = tmp_path / "state.json"
    logged = run_check(proxy, *credentials, "log", state)
    assert logged.returncode == 0, logged.stdout + logged.stderr
    assert "no credentials: 401" in logged.stdout and "are intact" in logged.stdout
    assert credentials[1] not in logged.stdout + logged.stderr
    again = run_check(proxy, *credentials, "verify", state)
    assert again.returncode == 0, again.stdout + again.stderr


def test_client_check_fails_on_a_changed_artifact_and_on_a_wrong_password(proxy, credentials, tmp_path):
    state = tmp_path / "state.json"
    assert run_check(proxy, *credentials, "log", state).returncode == 0
    tampered = json.loads(state.read_text())
    tampered["artifact_sha256"] = "0" * 64
    state.write_text(json.dumps(tampered))
    bad = run_check(proxy, *credentials, "verify", state)
    assert bad.returncode != 0 and "artifact sha256" in bad.stdout + bad.stderr
    wrong = run_check(proxy, credentials[0], credentials[1] + "x", "verify", state)
    assert wrong.returncode != 0

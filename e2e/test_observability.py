"""Observability of the shared deployment (docs/observability.md), on the session's servers:

- the scrape endpoint of the server at `/` (authProxy/metrics.ts): the scraper's own login only,
  and MLflow's request counters move by exactly the requests sent;
- the proxy's JSON access log (authProxy/accessLog.ts): one parseable line per request, with
  the documented fields, the admitted user, and no secret of any rendered spec.

The projects' and the model servers' scrape paths are proven where their servers run
(test_projects.py, test_serving.py).
"""
import json
import time
import uuid

import pytest
import requests

from conftest import RedactedPair, known_secrets


METRICS_PATH = "/metrics/tracking"
LOG_FIELDS = {"time", "msec", "status", "method", "path", "server", "upstream", "upstream_status", "duration",
              "upstream_duration", "bytes_sent", "request_bytes", "user"}


def parse_prometheus(text):
    """[(name, {label: value}, float)] of a Prometheus text exposition (what the suite's asserts need)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name, _, rest = head.partition("{")
        labels = {}
        for pair in filter(None, rest.rstrip("}").split('",')):
            k, _, v = pair.partition("=")
            labels[k.strip(", ")] = v.strip('"')
        out.append((name, labels, float(value)))
    return out


def counter(text, name, **labels):
    """Sum of the samples of `name` whose labels include `labels` (prometheus_client sums the workers' files already)."""
    return sum(v for n, ls, v in parse_prometheus(text) if n == name and all(ls.get(k) == str(w) for k, w in labels.items()))


def scrape(url, auth):
    r = requests.get(url, auth=auth, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r.text


@pytest.fixture(scope="module")
def metrics_credentials(spec):
    c = spec["metricsCredentials"]
    return RedactedPair((c["user"], c["password"]))


def test_the_scrape_endpoint_wants_the_scrapers_login_and_no_other(proxy, credentials, metrics_credentials):
    url = f"{proxy.url}{METRICS_PATH}"
    assert requests.get(url, timeout=30).status_code == 401
    assert requests.get(url, auth=credentials, timeout=30).status_code == 401, "a user's login must not read the metrics"
    wrong = RedactedPair((metrics_credentials[0], metrics_credentials[1] + "x"))
    assert requests.get(url, auth=wrong, timeout=30).status_code == 401
    # The scraper's login opens the scrape paths only, never MLflow itself.
    assert requests.get(f"{proxy.url}/api/2.0/mlflow/experiments/search?max_results=1", auth=metrics_credentials, timeout=30).status_code == 401
    text = scrape(url, metrics_credentials)
    assert "# TYPE mlflow_exporter_info gauge" in text and "mlflow_exporter_info{" in text, text[:500]


def test_request_counters_move_by_the_requests_sent(proxy, credentials, metrics_credentials):
    url = f"{proxy.url}{METRICS_PATH}"
    found, missing = 5, 4
    before = scrape(url, metrics_credentials)
    for _ in range(found):
        r = requests.get(f"{proxy.url}/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}, auth=credentials, timeout=30)
        assert r.status_code == 200, r.text[:300]
    for _ in range(missing):
        r = requests.get(f"{proxy.url}/api/2.0/mlflow/experiments/get", params={"experiment_id": "987654321"}, auth=credentials, timeout=30)
        assert r.status_code == 404, r.text[:300]
    after = scrape(url, metrics_credentials)
    # Nothing else of the session asks for a missing experiment meanwhile: exactly the requests sent.
    moved = {s: counter(after, "mlflow_http_request_total", method="GET", status=s) - counter(before, "mlflow_http_request_total", method="GET", status=s)
             for s in (200, 404)}
    assert moved[404] == missing, moved
    assert moved[200] >= found, moved
    hist = "mlflow_http_request_duration_seconds_count"
    assert counter(after, hist, method="GET", status=404) - counter(before, hist, method="GET", status=404) == missing


def json_log_lines(proxy, since_msec):
    lines = [line for line in proxy.json_log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line parses, or this fails
    return lines, [e for e in entries if e["msec"] >= since_msec]


def test_the_access_log_has_one_json_line_per_request_without_secrets(proxy, credentials, spec):
    marker = uuid.uuid4().hex
    start = time.time() - 0.001
    sent = [
        ("GET", f"/api/2.0/mlflow/experiments/get-by-name?experiment_name={marker}", credentials, 404),
        ("GET", f"/api/2.0/mlflow/experiments/search?max_results=1&token={marker}", credentials, 200),
        ("GET", f"/api/2.0/mlflow/experiments/search?max_results=1&m={marker}", (credentials[0], marker), 401),
        ("GET", f"/{marker}/nothing?x=1", None, 401),
    ]
    for method, path, auth, status in sent:
        r = requests.request(method, f"{proxy.url}{path}", auth=auth, timeout=30)
        assert r.status_code == status, (path, r.status_code)
    time.sleep(0.5)  # nginx writes the line once the response is sent
    lines, entries = json_log_lines(proxy, start)
    mine = [e for e in entries if marker in json.dumps(e) or e["path"].startswith("/api/2.0/mlflow/experiments/")]
    assert len(mine) == len(sent), mine
    by_status = sorted((e["status"], e["path"]) for e in mine)
    assert by_status == sorted((s, p.split("?")[0]) for _, p, _, s in sent), "the path is logged without its query"
    for e in mine:
        assert set(e) == LOG_FIELDS, sorted(e)
        assert e["method"] == "GET" and e["duration"] >= 0 and e["bytes_sent"] >= 0 and e["request_bytes"] > 0
    proxied = [e for e in mine if e["status"] != 401]
    assert all(e["user"] == credentials[0] and e["server"] == "mlflow_tracking" and e["upstream"] and e["upstream_status"] == str(e["status"])
               for e in proxied), proxied
    # A refused login logs no name: what was typed may be a password in the wrong field.
    assert all(e["user"] == "" and e["server"] == "" and e["upstream"] == "" for e in mine if e["status"] == 401), mine
    text = "\n".join(lines)
    leaked = [s for s in known_secrets() if s in text]
    assert not leaked, f"{len(leaked)} known secrets appear in the proxy's JSON access log"
    assert marker not in "".join(line for line in lines if '"status":401' in line and "/api/" in line), \
        "a refused request's password or query reached the log"

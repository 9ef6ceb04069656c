"""Headless Chromium driven over the DevTools protocol.

Credentials in the URL (http://user:pass@host/) authenticate only the top-level document;
Chromium does not reuse them for the UI's scripts and API calls, so every request here gets
an Authorization header through Network.setExtraHTTPHeaders instead.
"""
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import websocket

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]


class Browser:
    def __init__(self, binary, log_path):
        self.profile = tempfile.mkdtemp(prefix="e2e-chromium-")
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "--window-size=1280,900",
                                      "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError(f"chromium did not start (see {log_path})")
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        import requests
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)

    def send(self, method, **params):
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def evaluate(self, expression):
        return self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def close(self):
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def render_page(binary, url, user, password, screenshot, log_path, wait_for_text, timeout=60):
    """Opens url with basic auth on every request; returns (body text, html) once wait_for_text shows up."""
    b = Browser(binary, log_path)
    try:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        b.send("Network.enable")
        b.send("Network.setExtraHTTPHeaders", headers={"Authorization": f"Basic {token}"})
        b.send("Page.enable")
        b.send("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = b.evaluate("document.body ? document.body.innerText : ''") or ""
            if all(t in text for t in wait_for_text):
                break
            time.sleep(0.5)
        time.sleep(1)  # let the last paint settle before the screenshot
        shot = b.send("Page.captureScreenshot", format="png")
        Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
        html = b.evaluate("document.documentElement.outerHTML") or ""
        return text, html
    finally:
        b.close()

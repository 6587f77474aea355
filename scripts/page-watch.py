#!/usr/bin/env python3
"""Watches a page in a real headless Chromium while something changes behind it.

    page-watch.py [--lookup-newest] URL BEFORE COMMAND AFTER [AFTER ...]

Opens URL, waits until the page's text contains BEFORE, runs COMMAND (a shell command), then
waits until the text contains every AFTER, without reloading: the page has to update itself.
With --lookup-newest, then types the newest recent order's id into the sale page's order
lookup and waits for that order to be shown. Prints the page's text at the end. Exit 0; 1 on a timeout (with what the page showed); 2 when
Chromium is missing.

It speaks the DevTools protocol over Chromium's pipe (--remote-debugging-pipe: commands on fd 3,
answers on fd 4, each a JSON message ended by a NUL byte), so it needs no WebSocket client and
no port.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = 20


class Browser:
    def __init__(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            print("page-watch: chromium is not installed (scripts/install-deps.sh installs it)", file=sys.stderr)
            sys.exit(2)
        self.profile = tempfile.mkdtemp(prefix="page-watch-")
        to_chromium_r, self.to_chromium = os.pipe()
        self.from_chromium, from_chromium_w = os.pipe()

        def plumb():
            # Through fresh copies: a pipe end may already be fd 3 or 4, and dup2 onto itself
            # would leave it close-on-exec.
            read, write = os.dup(to_chromium_r), os.dup(from_chromium_w)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--user-data-dir=" + self.profile, "about:blank"],
            preexec_fn=plumb, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chromium_r)
        os.close(from_chromium_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def call(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_chromium, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.from_chromium, 65536)
                if not chunk:
                    raise RuntimeError("chromium closed its pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def open(self, url):
        target = self.call("Target.createTarget", {"url": url}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]

    def text(self):
        result = self.call("Runtime.evaluate", {"expression": "document.body ? document.body.innerText : ''", "returnByValue": True})
        return result.get("result", {}).get("value", "")

    def wait_for(self, wanted):
        deadline = time.time() + TIMEOUT
        text = ""
        while time.time() < deadline:
            text = self.text()
            if all(w in text for w in wanted):
                return text
            time.sleep(0.2)
        print(f"page-watch: after {TIMEOUT} s the page still lacks {wanted}; it shows:\n{text}", file=sys.stderr)
        self.close()
        sys.exit(1)

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}).get("result", {}).get("value")

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    args = sys.argv[1:]
    lookup = "--lookup-newest" in args
    args = [a for a in args if a != "--lookup-newest"]
    if len(args) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    url, before, command, after = args[0], args[1], args[2], args[3:]
    browser = Browser()
    browser.open(url)
    browser.wait_for([before])
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)
    text = browser.wait_for(after)
    if lookup:
        # As a person would: the id into the field, then the form submitted.
        order = browser.evaluate("""(() => {
            const id = document.querySelector('#orders tbody tr td').textContent;
            document.getElementById('order-id').value = id;
            document.getElementById('lookup').requestSubmit();
            return id; })()""")
        text = browser.wait_for(['"order_id": "' + order + '"'])
    print(text)
    browser.close()


if __name__ == "__main__":
    main()

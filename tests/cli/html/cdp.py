#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol on a pipe, for the
--html tests (tests/cli/html.rs): load a page, wait until its script is
ready, run a list of JavaScript expressions as a user's clicks would, and
report what the browser saw.

Usage: cdp.py CHROMIUM URL PROFILE_DIR EXPR...

Prints one JSON object: `results` (the value of each expression, in order),
`console_errors` (console.error calls and error log entries), `exceptions`
(uncaught), and `requests` (every network request the page started, the
page itself excepted). Exits non-zero if the page never becomes ready.
Standard library only.
"""

import json
import os
import subprocess
import sys
import time

chromium, url, profile, *expressions = sys.argv[1:]

to_browser_r, to_browser_w = os.pipe()
from_browser_r, from_browser_w = os.pipe()


def child_fds():
    # The DevTools pipe: Chromium reads commands on fd 3, answers on fd 4.
    # Copied out of the way first, since either may already be 3 or 4.
    reads, writes = os.dup(to_browser_r), os.dup(from_browser_w)
    os.dup2(reads, 3)
    os.dup2(writes, 4)


browser = subprocess.Popen(
    [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--user-data-dir=" + profile,
        "--remote-debugging-pipe",
        "about:blank",
    ],
    stdin=subprocess.DEVNULL,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    preexec_fn=child_fds,
    # Kept open in the child: the pipe ends and their copies on 3 and 4.
    pass_fds=(3, 4, to_browser_r, from_browser_w),
)
os.close(to_browser_r)
os.close(from_browser_w)
out = os.fdopen(to_browser_w, "wb", buffering=0)
inp = os.fdopen(from_browser_r, "rb", buffering=0)

buffer = b""
next_id = 0
events = []


def receive():
    global buffer
    while b"\0" not in buffer:
        chunk = inp.read(65536)
        if not chunk:
            raise SystemExit("chromium closed the pipe")
        buffer += chunk
    message, buffer = buffer.split(b"\0", 1)
    return json.loads(message)


def send(method, params=None, session=None):
    global next_id
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session:
        message["sessionId"] = session
    out.write(json.dumps(message).encode() + b"\0")
    while True:
        reply = receive()
        if reply.get("id") == next_id:
            if "error" in reply:
                raise SystemExit(f"{method}: {reply['error']}")
            return reply.get("result", {})
        events.append(reply)


def evaluate(session, expression):
    result = send(
        "Runtime.evaluate",
        {"expression": expression, "returnByValue": True, "awaitPromise": True},
        session,
    )
    if "exceptionDetails" in result:
        raise SystemExit(f"{expression}: {result['exceptionDetails']}")
    return result["result"].get("value")


try:
    target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        send(domain + ".enable", {}, session)
    send("Page.navigate", {"url": url}, session)
    deadline = time.monotonic() + 60
    while evaluate(session, "document.body && document.body.getAttribute('data-ready')") != "1":
        if time.monotonic() > deadline:
            raise SystemExit("the page never became ready")
        time.sleep(0.05)
    results = [evaluate(session, e) for e in expressions]
    # Let late events (a request started by a click) arrive.
    evaluate(session, "new Promise(function (r) { setTimeout(r, 200); })")
    page = url.split("#")[0]
    report = {"results": results, "console_errors": [], "exceptions": [], "requests": []}
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            report["console_errors"].append([a.get("value") for a in params.get("args", [])])
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            report["console_errors"].append(params["entry"].get("text"))
        elif method == "Runtime.exceptionThrown":
            report["exceptions"].append(params["exceptionDetails"].get("text"))
        elif method == "Network.requestWillBeSent" and params["request"]["url"].split("#")[0] != page:
            report["requests"].append(params["request"]["url"])
    print(json.dumps(report))
finally:
    try:
        send("Browser.close")
    except BaseException:
        pass
    try:
        browser.wait(timeout=10)
    except subprocess.TimeoutExpired:
        browser.kill()

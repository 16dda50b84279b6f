#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Drives a headless Chromium over the DevTools protocol (python3-websocket), as a user's
# browser would show a page:
#   cdp.py PORT wait EXPR [SECONDS]   polls the page's JavaScript EXPR until it is truthy,
#                                     prints its value (exit 1 with the last value on timeout)
#   cdp.py PORT eval EXPR             prints EXPR's value
#   cdp.py PORT screenshot FILE       a PNG of the page
# PORT is Chromium's --remote-debugging-port; the first page tab is used.
import base64
import json
import sys
import time
import urllib.request

import websocket

port, verb = sys.argv[1], sys.argv[2]


def page_socket():
    deadline = time.time() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as f:
                pages = [t for t in json.load(f) if t.get("type") == "page"]
            if pages:
                return websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=20,
                                                   suppress_origin=True)
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit(f"cdp.py: no page on port {port}")
        time.sleep(0.2)


ws = page_socket()
next_id = 0


def call(method, **params):
    global next_id
    next_id += 1
    ws.send(json.dumps({"id": next_id, "method": method, "params": params}))
    while True:
        msg = json.loads(ws.recv())
        if msg.get("id") == next_id:
            if "error" in msg:
                sys.exit(f"cdp.py: {method}: {msg['error']}")
            return msg["result"]


def evaluate(expr):
    r = call("Runtime.evaluate", expression=expr, returnByValue=True)
    if "exceptionDetails" in r:
        return None
    return r["result"].get("value")


if verb == "eval":
    print(json.dumps(evaluate(sys.argv[3])))
elif verb == "wait":
    deadline = time.time() + float(sys.argv[4] if len(sys.argv) > 4 else 20)
    while True:
        v = evaluate(sys.argv[3])
        if v or time.time() > deadline:
            print(v if isinstance(v, str) else json.dumps(v))
            sys.exit(0 if v else 1)
        time.sleep(0.2)
elif verb == "screenshot":
    with open(sys.argv[3], "wb") as f:
        f.write(base64.b64decode(call("Page.captureScreenshot")["data"]))
else:
    sys.exit(f"cdp.py: unknown verb {verb}")

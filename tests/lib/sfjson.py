#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""JSON glue for the shell tests. Run with /usr/bin/python3 (Debian's, with python3-dbus).

  sfjson.py call METHOD JSON-ARG...   call org.sockfix.SockFix1.Manager.METHOD over the
                                      system bus (DBUS_SYSTEM_BUS_ADDRESS) with python3-dbus;
                                      prints the reply as plain JSON, or
                                      {"error": NAME, "message": M} and exits 1
  sfjson.py get PROPERTY              one property of the Manager interface, as JSON
  sfjson.py unwrap                    stdin: `busctl --json=short` output; stdout: its
                                      first reply value as plain JSON (variants unwrapped)
  sfjson.py query FILE EXPR           evaluates the Python EXPR over r = the JSON in FILE;
                                      strings print bare, booleans true/false, others JSON
"""
import json
import sys

BUS_NAME = "org.sockfix.SockFix1"
OBJECT = "/org/sockfix/SockFix1"
IFACE = "org.sockfix.SockFix1.Manager"
# The bus contract v1 (dbus/org.sockfix.SockFix1.xml, sockfixd(8)): in-signatures of every method.
SIGNATURES = {
    "ListSockets": "a{sv}",
    "Diagnose": "sa{sv}",
    "DiagnoseAll": "a{sv}",
    "Fix": "ssa{sv}",
    "Revert": "sa{sv}",
    "ListTransactions": "a{sv}",
}


def plain(v):
    """python3-dbus values -> JSON-able values (dbus.Boolean is an int subclass)."""
    import dbus
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dict, dbus.Dictionary)):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, dbus.Array, dbus.Struct)):
        return [plain(x) for x in v]
    if isinstance(v, (dbus.String, dbus.ObjectPath, dbus.Signature, str)):
        return str(v)
    if isinstance(v, (dbus.Double, float)):
        return float(v)
    if isinstance(v, int):
        return int(v)
    return v


def call(method, args):
    import dbus
    bus = dbus.SystemBus()
    sig = SIGNATURES.get(method, "")
    try:
        reply = bus.call_blocking(BUS_NAME, OBJECT, IFACE, method, sig,
                                  [json.loads(a) for a in args], timeout=120)
    except dbus.exceptions.DBusException as e:
        json.dump({"error": e.get_dbus_name(), "message": e.get_dbus_message()}, sys.stdout)
        print()
        return 1
    json.dump(plain(reply), sys.stdout)
    print()
    return 0


def get(prop):
    import dbus
    bus = dbus.SystemBus()
    try:
        v = bus.call_blocking(BUS_NAME, OBJECT, "org.freedesktop.DBus.Properties", "Get",
                              "ss", [IFACE, prop], timeout=60)
    except dbus.exceptions.DBusException as e:
        json.dump({"error": e.get_dbus_name(), "message": e.get_dbus_message()}, sys.stdout)
        print()
        return 1
    json.dump(plain(v), sys.stdout)
    print()
    return 0


def unwrap_variants(v):
    if isinstance(v, dict):
        if set(v) == {"type", "data"} and isinstance(v["type"], str):
            return unwrap_variants(v["data"])
        return {k: unwrap_variants(x) for k, x in v.items()}
    if isinstance(v, list):
        return [unwrap_variants(x) for x in v]
    return v


def unwrap():
    doc = json.load(sys.stdin)
    data = doc.get("data", [])
    json.dump(unwrap_variants(data[0] if len(data) == 1 else data), sys.stdout)
    print()
    return 0


def query(path, expr):
    with open(path) as f:
        r = json.load(f)
    try:
        v = eval(expr, {"r": r, "any": any, "all": all, "len": len, "sorted": sorted,
                        "set": set, "bool": bool, "str": str, "int": int})
    except (KeyError, IndexError, TypeError) as e:
        print(f"query {expr!r} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if isinstance(v, str):
        print(v)
    elif isinstance(v, bool):
        print("true" if v else "false")
    else:
        print(json.dumps(v, sort_keys=True))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "call":
        return call(argv[2], argv[3:])
    if len(argv) == 3 and argv[1] == "get":
        return get(argv[2])
    if len(argv) == 2 and argv[1] == "unwrap":
        return unwrap()
    if len(argv) == 4 and argv[1] == "query":
        return query(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

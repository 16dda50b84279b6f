#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What sockfixd registers on /org/sockfix/SockFix1 is exactly what
# dbus/org.sockfix.SockFix1.xml describes: for org.sockfix.SockFix1.Manager the same
# methods (argument directions and signatures), properties (type, access) and signals.
# Read live with busctl and with gdbus; both XMLs parsed with xml.etree.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
h_init introspection

xml=$SOCKFIX_SOURCE_DIR/dbus/org.sockfix.SockFix1.xml
h_ok "dbus/org.sockfix.SockFix1.xml exists" test -f "$xml"
h_sockfix_up

busctl --system --xml-interface introspect "$H_BUS_NAME" "$H_OBJECT" > "$H_T/busctl.xml" 2> "$H_T/busctl.err"
h_is "$?" 0 "busctl introspect $H_OBJECT"
gdbus introspect --system --dest "$H_BUS_NAME" --object-path "$H_OBJECT" --xml > "$H_T/gdbus.xml" 2> "$H_T/gdbus.err"
h_is "$?" 0 "gdbus introspect $H_OBJECT"

# Prints a canonical, sorted description of one interface of an introspection XML.
describe() {
        "$H_PY" - "$1" "$H_IFACE" << 'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ifaces = [i for i in root.iter("interface") if i.get("name") == sys.argv[2]]
if len(ifaces) != 1:
    sys.exit(f"{len(ifaces)} interfaces named {sys.argv[2]}")
lines = []
for m in ifaces[0].findall("method"):
    args = " ".join(f'{a.get("direction", "in")}:{a.get("type")}' for a in m.findall("arg"))
    lines.append(f'method {m.get("name")}({args})')
for s in ifaces[0].findall("signal"):
    args = " ".join(a.get("type") for a in s.findall("arg"))
    lines.append(f'signal {s.get("name")}({args})')
for p in ifaces[0].findall("property"):
    lines.append(f'property {p.get("name")} {p.get("type")} {p.get("access")}')
print("\n".join(sorted(lines)))
PY
}

describe "$xml" > "$H_T/expected.txt" 2>&1
describe "$H_T/busctl.xml" > "$H_T/busctl.txt" 2>&1
describe "$H_T/gdbus.xml" > "$H_T/gdbus.txt" 2>&1
sed 's/^/# contract: /' "$H_T/expected.txt"

if diff -u "$H_T/expected.txt" "$H_T/busctl.txt" > "$H_T/diff"; then h_pass "busctl introspection matches the XML"; else
        h_fail "busctl introspection matches the XML"; sed 's/^/#   /' "$H_T/diff"; fi
if diff -u "$H_T/expected.txt" "$H_T/gdbus.txt" > "$H_T/diff"; then h_pass "gdbus introspection matches the XML"; else
        h_fail "gdbus introspection matches the XML"; sed 's/^/#   /' "$H_T/diff"; fi

# The contract's v1 surface must be there, whatever the XML grew since.
for m in 'ListSockets(in:a{sv} out:aa{sv})' 'Diagnose(in:s in:a{sv} out:a{sv})' 'DiagnoseAll(in:a{sv} out:aa{sv})'; do
        h_ok "the XML has method $m" grep -qxF "method $m" "$H_T/expected.txt"
done
for p in 'Version s read' 'Strategies as read'; do
        h_ok "the XML has property $p" grep -qxF "property $p" "$H_T/expected.txt"
done
if grep -q '^method Fix(' "$H_T/expected.txt"; then
        for m in 'Fix(in:s in:s in:a{sv} out:a{sv})' 'Revert(in:s in:a{sv} out:a{sv})' 'ListTransactions(in:a{sv} out:aa{sv})'; do
                h_ok "the XML has method $m" grep -qxF "method $m" "$H_T/expected.txt"
        done
        h_ok "the XML has signal TransactionFinished(s s s)" grep -qxF "signal TransactionFinished(s s s)" "$H_T/expected.txt"
fi

# The standard interfaces sd-bus provides.
for i in org.freedesktop.DBus.Introspectable org.freedesktop.DBus.Properties org.freedesktop.DBus.Peer; do
        h_ok "the object has $i" grep -q "interface name=\"$i\"" "$H_T/busctl.xml"
done

# The properties answer, with the values the contract gives them.
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SOCKFIX_SOURCE_DIR/meson.build" | head -n 1)
"$H_PY" "$H_LIB_DIR/sfjson.py" get Version > "$H_T/version.json"
h_json_is "$H_T/version.json" r "$version" "Version is the project version ($version)"
"$H_PY" "$H_LIB_DIR/sfjson.py" get Strategies > "$H_T/strategies.json"
h_json_ok "$H_T/strategies.json" \
        'isinstance(r, list) and set(r) <= {"auto", "pool-acl", "pool-group", "member", "dir-search", "refresh"}' \
        "Strategies lists only known strategy names"
busctl --system --json=short get-property "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Version > "$H_T/bc-version.json" 2>&1
h_json_is "$H_T/bc-version.json" 'r["data"]' "$version" "busctl get-property Version"
h_done

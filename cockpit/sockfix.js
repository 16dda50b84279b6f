/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A Cockpit page over sockfixd's bus contract (dbus/org.sockfix.SockFix1.xml): one
 * DiagnoseAll with the fields a panel needs, and a Fix button per blocked socket. It
 * runs as the logged-in user; polkit decides each call (the diagnose action for the
 * list, fix for the button), so what the page may do is the administrator's rule. */
"use strict";

const BUS_NAME = "org.sockfix.SockFix1";
const OBJECT = "/org/sockfix/SockFix1";
const MANAGER = "org.sockfix.SockFix1.Manager";

let client = null;

/* a{sv} values come as { t: signature, v: value }. */
function value(dict, key, fallback) {
    return dict && key in dict ? dict[key].v : fallback;
}

function describeError(ex) {
    const name = ex && ex.name ? ex.name.replace(/^org\.(sockfix\.SockFix1|freedesktop\.DBus)\.Error\./, "") : "";
    return (name ? name + ": " : "") + (ex && ex.message ? ex.message : String(ex));
}

function setText(id, text, state) {
    const el = document.getElementById(id);
    el.textContent = text;
    el.dataset.state = state;
}

/* The finding that explains the verdict: the first error, else the first at all. */
function why(report) {
    const findings = value(report, "findings", []);
    const first = findings.find(f => value(f, "severity", "") === "error") || findings[0];
    return first ? value(first, "code", "") + ": " + value(first, "summary", "") : "";
}

function render(reports) {
    const body = document.querySelector("#sockets tbody");
    body.replaceChildren();
    let blocked = 0;
    for (const report of reports) {
        const socket = value(report, "socket", "");
        const verdict = value(report, "verdict", "");
        const row = document.createElement("tr");
        row.dataset.socket = socket;
        row.dataset.verdict = verdict;
        for (const [cls, text] of [["socket", socket], ["verdict", verdict], ["why", why(report)]]) {
            const cell = document.createElement("td");
            cell.className = cls;
            cell.textContent = text;
            row.appendChild(cell);
        }
        const action = document.createElement("td");
        if (verdict === "denied") {
            blocked++;
            const button = document.createElement("button");
            button.className = "fix";
            button.textContent = "Fix";
            button.addEventListener("click", () => fix(socket, button));
            action.appendChild(button);
        }
        row.appendChild(action);
        body.appendChild(row);
    }
    setText("status", `${reports.length} socket${reports.length === 1 ? "" : "s"}, ${blocked} denied`, "ready");
}

function load() {
    setText("status", "Diagnosing…", "loading");
    client.call(OBJECT, MANAGER, "DiagnoseAll", [{ fields: { t: "as", v: ["verdict", "findings"] } }],
                { type: "a{sv}" })
            .then(([reports]) => render(reports))
            .catch(ex => setText("status", "sockfix: " + describeError(ex), "error"));
}

/* Fix(socket, "auto", {}): the least-privilege strategy for every blocked consumer. */
function fix(socket, button) {
    button.disabled = true;
    setText("result", `Fixing ${socket}…`, "busy");
    client.call(OBJECT, MANAGER, "Fix", [socket, "auto", {}], { type: "ssa{sv}" })
            .then(([result]) => {
                const outcome = value(result, "outcome", "");
                setText("result", `${socket}: ${outcome} (${value(result, "strategy", "")}): ` +
                        value(result, "reason", ""), outcome === "applied" ? "done" : "error");
                load();
            })
            .catch(ex => {
                button.disabled = false;
                setText("result", `${socket}: ` + describeError(ex), "error");
            });
}

document.addEventListener("DOMContentLoaded", () => {
    client = cockpit.dbus(BUS_NAME, { bus: "system" });
    load();
});

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A Cockpit page over sockfixd's bus contract (dbus/org.sockfix.SockFix1.xml): one
 * DiagnoseAll with the fields a panel needs and a Fix button per blocked socket, and the
 * journaled fixes (ListTransactions) with a Revert button each. It runs as the
 * logged-in user; polkit decides each call (diagnose for the lists, fix and revert for
 * the buttons), so what the page may do is the administrator's rule. */
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
                refresh();
            })
            .catch(ex => {
                button.disabled = false;
                setText("result", `${socket}: ` + describeError(ex), "error");
            });
}

/* The journaled transactions the account may see (all of them for root, else its own),
 * newest first; one that is applied or incomplete can be reverted. */
function renderHistory(transactions) {
    const body = document.querySelector("#history tbody");
    body.replaceChildren();
    const newest = transactions.slice().sort((a, b) => value(b, "time", 0) - value(a, "time", 0));
    for (const tx of newest) {
        const id = value(tx, "transaction", "");
        const outcome = value(tx, "outcome", "");
        const row = document.createElement("tr");
        row.dataset.transaction = id;
        row.dataset.outcome = outcome;
        /* time is µs since the epoch */
        const when = new Date(value(tx, "time", 0) / 1000).toLocaleString();
        for (const [cls, text] of [["time", when], ["socket", value(tx, "socket", "")],
            ["strategy", value(tx, "strategy", "")], ["outcome", outcome]]) {
            const cell = document.createElement("td");
            cell.className = cls;
            cell.textContent = text;
            row.appendChild(cell);
        }
        const action = document.createElement("td");
        if (outcome === "applied" || outcome === "incomplete") {
            const button = document.createElement("button");
            button.className = "revert";
            button.textContent = "Revert";
            button.addEventListener("click", () => revert(id, value(tx, "socket", id), button));
            action.appendChild(button);
        }
        row.appendChild(action);
        body.appendChild(row);
    }
    setText("history-status", transactions.length ? `${transactions.length} journaled` : "No fixes yet.", "ready");
}

function loadHistory() {
    client.call(OBJECT, MANAGER, "ListTransactions", [{}], { type: "a{sv}" })
            .then(([transactions]) => renderHistory(transactions))
            .catch(ex => setText("history-status", "sockfix: " + describeError(ex), "error"));
}

function revert(id, socket, button) {
    button.disabled = true;
    setText("result", `Reverting ${id}…`, "busy");
    client.call(OBJECT, MANAGER, "Revert", [id, {}], { type: "sa{sv}" })
            .then(([result]) => {
                const outcome = value(result, "outcome", "");
                setText("result", `${socket}: ${outcome}: ` + value(result, "reason", ""),
                        outcome === "reverted" ? "done" : "error");
                refresh();
            })
            .catch(ex => {
                button.disabled = false;
                setText("result", `${socket}: ` + describeError(ex), "error");
            });
}

function refresh() {
    load();
    loadHistory();
}

document.addEventListener("DOMContentLoaded", () => {
    client = cockpit.dbus(BUS_NAME, { bus: "system" });
    refresh();
});

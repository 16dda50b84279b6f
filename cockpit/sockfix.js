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

/* A Fix or a Revert may wait for configuration tests (bounded at 30 s each) and a
 * reload (10 s): the bus's default 25 s would give up on one that succeeds. The same
 * bound as sockfixctl's. */
const CALL_TIMEOUT_MS = 300 * 1000;

function call(method, args, type) {
    return client.call(OBJECT, MANAGER, method, args, { type, timeout: CALL_TIMEOUT_MS });
}

/* A table row: data attributes, one cell per [class, text], and a last cell with the
 * buttons given ({ cls, label, onClick }). */
function addRow(body, data, cells, buttons) {
    const row = document.createElement("tr");
    Object.assign(row.dataset, data);
    for (const [cls, text] of cells) {
        const cell = document.createElement("td");
        cell.className = cls;
        cell.textContent = text;
        row.appendChild(cell);
    }
    const action = document.createElement("td");
    for (const button of buttons) {
        const b = document.createElement("button");
        b.className = button.cls;
        b.textContent = button.label;
        b.addEventListener("click", () => button.onClick(b));
        action.appendChild(b);
    }
    row.appendChild(action);
    body.appendChild(row);
}

/* A result's changes (made, planned or undone) and reloads, one line each. */
function renderChanges(result) {
    const list = document.getElementById("changes");
    list.replaceChildren();
    for (const c of value(result, "changes", [])) {
        const item = document.createElement("li");
        item.className = value(c, "kind", "");
        item.textContent = `${value(c, "kind", "")} ${value(c, "target", "")}: ${value(c, "before", "")} → ${value(c, "after", "")}`;
        list.appendChild(item);
    }
    for (const a of value(result, "activations", [])) {
        const item = document.createElement("li");
        item.className = "activation";
        item.textContent = `${value(a, "action", "")}: ${value(a, "target", "")}`;
        list.appendChild(item);
    }
}

/* A button's call (a dry run, Fix or Revert) about socket: its result and its changes
 * under the table, then both lists again; on an error the button may be pressed again. */
function act(button, socket, busy, done, promise) {
    button.disabled = true;
    setText("result", `${busy} ${socket}…`, "busy");
    document.getElementById("changes").replaceChildren();
    promise
            .then(([result]) => {
                const outcome = value(result, "outcome", "");
                setText("result", `${socket}: ${outcome}` + (value(result, "strategy", "") ? ` (${value(result, "strategy", "")})` : "") +
                        ": " + value(result, "reason", ""), outcome === done ? "done" : "error");
                renderChanges(result);
                refresh();
            })
            .catch(ex => {
                button.disabled = false;
                setText("result", `${socket}: ` + describeError(ex), "error");
            });
}

/* The finding that explains the verdict: the first error, else the first at all. */
function why(report) {
    const findings = value(report, "findings", []);
    const first = findings.find(f => value(f, "severity", "") === "error") || findings[0];
    return first ? value(first, "code", "") + ": " + value(first, "summary", "") : "";
}

/* One list item per line of text, under a heading, in #details. */
function addList(parent, heading, lines, cls) {
    const h = document.createElement("h3");
    h.textContent = heading;
    const list = document.createElement("ul");
    list.className = cls;
    for (const line of lines) {
        const item = document.createElement("li");
        item.textContent = line;
        list.appendChild(item);
    }
    parent.append(h, list);
}

/* Diagnose(socket) in full, for the Details button: the listener, each consumer (a web
 * server's workers with one credential set: can they connect, and the real connect's
 * answer), and every finding with its advice and the strategies that mend it. */
let detailsAsked = 0; /* only the last Details asked is shown, whichever answers first */

function showDetails(socket) {
    const panel = document.getElementById("details");
    const mine = ++detailsAsked;
    panel.dataset.state = "busy";
    panel.dataset.socket = socket;
    panel.replaceChildren(`Diagnosing ${socket}…`);
    call("Diagnose", [socket, {}], "sa{sv}")
            .then(([report]) => {
                if (mine !== detailsAsked)
                    return;
                panel.replaceChildren();
                const title = document.createElement("h2");
                title.textContent = `${socket}: ${value(report, "verdict", "")}`;
                panel.appendChild(title);
                const listener = value(report, "listener", null);
                if (listener)
                    addList(panel, "Listener", [`${value(listener, "program", "")} pid ${value(listener, "pid", "")}` +
                            (value(listener, "pool", "") ? `, pool ${value(listener, "pool", "")}` : "") +
                            (value(listener, "config", "") ? ` (${value(listener, "config", "")})` : "")], "listener");
                addList(panel, "Consumers", value(report, "consumers", []).map(c =>
                    `${value(c, "server", "")}: user ${value(c, "user", "")} (uid ${value(c, "uid", "")}, groups ` +
                    `${value(c, "groups", []).join(" ")}), ${value(c, "pids", []).length} worker(s): ` +
                    (value(c, "can_connect", false) ? "can connect" : `cannot connect (errno ${value(c, "errno", "")})`) +
                    ("probe_errno" in c ? `; real connect: errno ${value(c, "probe_errno", 0)}` : "")), "consumers");
                addList(panel, "Findings", value(report, "findings", []).map(f =>
                    `${value(f, "severity", "")} ${value(f, "code", "")}: ${value(f, "summary", "")}` +
                    (value(f, "detail", "") ? ` (${value(f, "detail", "")})` : "") +
                    (value(f, "remedies", []).length ? `; remedies: ${value(f, "remedies", []).join(", ")}` : "")),
                        "findings");
                panel.dataset.state = "done";
            })
            .catch(ex => {
                if (mine !== detailsAsked)
                    return;
                panel.replaceChildren(`${socket}: ` + describeError(ex));
                panel.dataset.state = "error";
            });
}

function render(reports) {
    const body = document.querySelector("#sockets tbody");
    body.replaceChildren();
    let blocked = 0;
    for (const report of reports) {
        const socket = value(report, "socket", "");
        const verdict = value(report, "verdict", "");
        const denied = verdict === "denied";
        blocked += denied ? 1 : 0;
        /* Fix(socket, "auto", {}): the least-privilege strategy for every blocked consumer;
         * Preview asks the same with dry_run, which changes nothing and shows what would. */
        const details = { cls: "details", label: "Details", onClick: () => showDetails(socket) };
        addRow(body, { socket, verdict }, [["socket", socket], ["verdict", verdict], ["why", why(report)]],
               denied
                   ? [details,
                      { cls: "preview", label: "Preview",
                        onClick: b => act(b, socket, "Planning", "planned",
                                          call("Fix", [socket, "auto", { dry_run: { t: "b", v: true } }], "ssa{sv}")) },
                      { cls: "fix", label: "Fix",
                        onClick: b => act(b, socket, "Fixing", "applied", call("Fix", [socket, "auto", {}], "ssa{sv}")) }]
                   : [details]);
    }
    setText("status", `${reports.length} socket${reports.length === 1 ? "" : "s"}, ${blocked} denied`, "ready");
}

function load() {
    setText("status", "Diagnosing…", "loading");
    call("DiagnoseAll", [{ fields: { t: "as", v: ["verdict", "findings"] } }], "a{sv}")
            .then(([reports]) => render(reports))
            .catch(ex => setText("status", "sockfix: " + describeError(ex), "error"));
}

/* The journaled transactions the account may see (all of them for root, else its own),
 * newest first; one that is applied or incomplete can be reverted. */
function renderHistory(transactions) {
    const body = document.querySelector("#history tbody");
    body.replaceChildren();
    const newest = transactions.slice().sort((a, b) => value(b, "time", 0) - value(a, "time", 0));
    for (const tx of newest) {
        const id = value(tx, "transaction", "");
        const socket = value(tx, "socket", "");
        const outcome = value(tx, "outcome", "");
        /* time is µs since the epoch */
        const when = new Date(value(tx, "time", 0) / 1000).toLocaleString();
        addRow(body, { transaction: id, outcome },
               [["time", when], ["socket", socket], ["strategy", value(tx, "strategy", "")], ["outcome", outcome]],
               outcome === "applied" || outcome === "incomplete"
                   ? [{ cls: "revert", label: "Revert",
                        onClick: b => act(b, socket, "Reverting", "reverted", call("Revert", [id, {}], "sa{sv}")) }]
                   : []);
    }
    setText("history-status", transactions.length ? `${transactions.length} journaled` : "No fixes yet.", "ready");
}

function loadHistory() {
    call("ListTransactions", [{}], "a{sv}")
            .then(([transactions]) => renderHistory(transactions))
            .catch(ex => setText("history-status", "sockfix: " + describeError(ex), "error"));
}

/* Both lists again, and the details shown, which a fix or revert has made old. */
function refresh() {
    load();
    loadHistory();
    const shown = document.getElementById("details").dataset.socket;
    if (shown)
        showDetails(shown);
}

document.addEventListener("DOMContentLoaded", () => {
    client = cockpit.dbus(BUS_NAME, { bus: "system" });
    refresh();
});

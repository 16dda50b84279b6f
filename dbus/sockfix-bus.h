/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bus contract v1 (dbus/org.sockfix.SockFix1.xml, sockfixd(8)), shared by sockfixd
 * and sockfixctl. Add names; never rename or change one. */

#define SOCKFIX_BUS_NAME "org.sockfix.SockFix1"
#define SOCKFIX_OBJECT_PATH "/org/sockfix/SockFix1"
#define SOCKFIX_MANAGER_INTERFACE "org.sockfix.SockFix1.Manager"

#define SOCKFIX_ACTION_DIAGNOSE "org.sockfix.SockFix1.diagnose"
#define SOCKFIX_ACTION_FIX "org.sockfix.SockFix1.fix"
#define SOCKFIX_ACTION_REVERT "org.sockfix.SockFix1.revert"

#define SOCKFIX_ERROR_PREFIX "org.sockfix.SockFix1.Error."
#define SOCKFIX_ERROR_NOT_A_SOCKET SOCKFIX_ERROR_PREFIX "NotASocket"
#define SOCKFIX_ERROR_UNKNOWN_SOCKET SOCKFIX_ERROR_PREFIX "UnknownSocket"
#define SOCKFIX_ERROR_UNSAFE_PATH SOCKFIX_ERROR_PREFIX "UnsafePath"
#define SOCKFIX_ERROR_NO_CONSUMER SOCKFIX_ERROR_PREFIX "NoConsumer"
#define SOCKFIX_ERROR_STRATEGY_UNAVAILABLE SOCKFIX_ERROR_PREFIX "StrategyUnavailable"
#define SOCKFIX_ERROR_REFUSED_GROUP SOCKFIX_ERROR_PREFIX "RefusedGroup"
#define SOCKFIX_ERROR_BUSY SOCKFIX_ERROR_PREFIX "Busy"
#define SOCKFIX_ERROR_CONFIG_TEST_FAILED SOCKFIX_ERROR_PREFIX "ConfigTestFailed"
#define SOCKFIX_ERROR_UNKNOWN_TRANSACTION SOCKFIX_ERROR_PREFIX "UnknownTransaction"
#define SOCKFIX_ERROR_CONFLICT SOCKFIX_ERROR_PREFIX "Conflict"
/* Not ours: the standard name (libdbus's DBUS_ERROR_TIMED_OUT, which sd-bus lacks) for
 * a path whose file system did not answer in time. */
#define SOCKFIX_ERROR_TIMED_OUT "org.freedesktop.DBus.Error.TimedOut"

#define SOCKFIX_STRATEGIES "auto", "pool-acl", "pool-group", "member", "dir-search", "refresh"

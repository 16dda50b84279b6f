#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The test command (README; .ci/run execs it). As root on Debian 12: installs the
# dependencies, builds a debug build with ASan and UBSan in build-ci (and a release
# build, for its warnings), and runs every suite (unit, integration, e2e, fuzz) verbosely,
# so cmocka's own per-test lines and summaries show.
# Exits non-zero on any failure. Extra arguments go to `meson test` (e.g. --suite unit).
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
build=${SOCKFIX_CI_BUILD_DIR:-build-ci}

scripts/install-deps.sh

setup_opts=(-Dbuildtype=debug -Db_sanitize=address,undefined)
if [[ -f $build/meson-private/coredata.dat ]]; then
        # An existing build dir is reconfigured (fast, incremental); one meson cannot
        # read any more is wiped.
        meson setup "$build" "${setup_opts[@]}" --reconfigure ||
                meson setup "$build" "${setup_opts[@]}" --wipe
else
        rm -rf "$build"
        meson setup "$build" "${setup_opts[@]}"
fi

meson compile -C "$build"

# The release build too, tests included (what `meson setup --buildtype=release` of the
# README builds): -O3 sees, and -Werror refuses, warnings a debug build does not, such
# as maybe-uninitialized and stringop-truncation. It only has to compile.
release=${build}-release
if [[ ! -f $release/meson-private/coredata.dat ]]; then
        rm -rf "$release"
        meson setup "$release" --buildtype=release
fi
meson compile -C "$release"

# The unit tests run in parallel; the integration and e2e tests are is_parallel: false
# (they share the nginx user and the polkit directories). Whole run: a few minutes.
exec timeout --kill-after=30s 14m \
        meson test -C "$build" -v --print-errorlogs "$@"

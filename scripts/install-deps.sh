#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs every Debian 12 package that building, testing and the demo need.
# Runs as root (no sudo). A second run with everything present does not touch apt.
set -euo pipefail

packages=(
        # build
        meson ninja-build pkg-config gcc libc6-dev
        libsystemd-dev libdbus-1-dev libpolkit-gobject-1-dev libacl1-dev libjson-c-dev
        libcmocka-dev
        # the bus and polkit, run for real by the integration tests
        dbus polkitd pkexec libglib2.0-bin
        # the stack sockfix diagnoses, and what the tests drive it with
        nginx php8.2-fpm curl acl util-linux procps iproute2 passwd
        # the other web servers sockfix reads, run for real by one scenario (php-cgi: the
        # backend lighttpd spawns itself, as Debian's fastcgi-php module does)
        apache2 lighttpd caddy php8.2-cgi
        # a real terminal for the interactive polkit agent test (pkttyagent)
        tmux
        # the bindings control panels use, called as real clients
        python3 python3-dbus libnet-dbus-perl
        # the web panel: the Cockpit page in a real browser, driven over DevTools
        cockpit-ws cockpit-bridge chromium python3-websocket
)

if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps.sh: run as root (sudo is not assumed)" >&2
        exit 1
fi

missing=()
for p in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [[ $status == installed ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
        echo "install-deps.sh: all ${#packages[@]} packages already installed"
        exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"

# nginx, php8.2-fpm and the other servers would start their services from the maintainer scripts; a
# policy-rc.d that answers 101 ("action forbidden") keeps every service down. Only
# our own file is removed afterwards; an existing one is left alone.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 0755 "$policy"
        own_policy=1
fi
cleanup() { if [[ $own_policy -eq 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}"

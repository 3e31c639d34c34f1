#!/usr/bin/env bash
# mkdeb.sh ROOT VERSION OUTDIR — turns a `make install DESTDIR=ROOT
# PREFIX=/usr` tree into OUTDIR/chatd_VERSION_ARCH.deb with dpkg-deb:
# control (Depends computed by dpkg-shlibdeps from the binaries' shared
# libraries), conffiles (/etc/chatd/chatd.conf), and maintainer scripts that
# create the system user `chatd`, its secrets directory, and tell systemd.
set -euo pipefail
root=$1 version=$2 out=$3
arch=$(dpkg --print-architecture)
work=$(mktemp -d "${TMPDIR:-/tmp}/chatd-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT

# dpkg-shlibdeps wants a debian/control to stand in.
mkdir -p "$work/debian"
printf 'Source: chatd\n\nPackage: chatd\nArchitecture: any\n' > "$work/debian/control"
bins=()
for b in "$root"/usr/bin/*; do bins+=("$(cd "$(dirname "$b")" && pwd)/$(basename "$b")"); done
depends=$(cd "$work" && dpkg-shlibdeps -O "${bins[@]/#/-e}" 2>/dev/null |
          sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: chatd
Version: $version
Architecture: $arch
Maintainer: chatd maintainers <chatd@localhost>
Installed-Size: $size
Depends: $depends, adduser
Section: net
Priority: optional
Homepage: https://localhost/chatd
Description: real-time chat server (HTTP API and WebSockets)
 chatd serves group and direct channels with live delivery over WebSocket,
 durable history, read receipts and presence. One process with SQLite by
 default; the same binary runs as a cluster of roles on PostgreSQL, Redis,
 ZooKeeper and Kafka. Includes the chat terminal client and the
 chat-bench load generator.
CONTROL
printf '/etc/chatd/chatd.conf\n' > "$root/DEBIAN/conffiles"

cat > "$root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd chatd >/dev/null; then
        adduser --system --group --home /var/lib/chatd --no-create-home \
                --gecos "chatd chat server" chatd >/dev/null
    fi
    install -d -m 0700 -o chatd -g chatd /etc/chatd/secrets
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null || true
        deb-systemd-helper enable chatd.service >/dev/null 2>&1 || systemctl enable chatd.service >/dev/null || true
    fi
fi
exit 0
SCRIPT
cat > "$root/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl stop chatd.service >/dev/null 2>&1 || true
fi
exit 0
SCRIPT
cat > "$root/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
    rm -rf /etc/chatd/secrets
    # the data (/var/lib/chatd) and the user are left: remove them by hand
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
exit 0
SCRIPT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/chatd_${version}_${arch}.deb" >/dev/null
echo "$out/chatd_${version}_${arch}.deb"

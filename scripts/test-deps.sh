#!/bin/sh
# Installs the system packages the test suite starts for real: a Secret Service keychain
# (gnome-keyring on a private D-Bus bus), tmux for terminal tests, PostgreSQL and OpenSSH, curl
# (the README's walk-through waits for the broker with it) and bash (shell completion tests).
# Debian/Ubuntu; does nothing when they are all present.
set -e
need=""
for pkg in gnome-keyring dbus tmux postgresql openssh-server openssh-client curl bash; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: please install:$need (this script knows apt-get only)" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "test-deps: installing$need" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null

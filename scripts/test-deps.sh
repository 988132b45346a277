#!/bin/sh
# Installs the system packages the test suite starts for real: a Secret Service keychain
# (gnome-keyring on a private D-Bus bus; gdbus, from libglib2.0-bin, waits for it and locks it), tmux for
# terminal tests, PostgreSQL and OpenSSH, faketime to run jit with a wrong clock, curl (the
# README's walk-through waits for the broker with it), bash (shell completion tests) and
# Mosquitto with its clients (X.509-SVIDs used for client-certificate authentication) and
# chromium (a real browser signs in at a real OpenID provider, driven by puppeteer-core).
# Debian/Ubuntu; does nothing when they are all present.
set -e
need=""
for pkg in gnome-keyring dbus libglib2.0-bin tmux postgresql openssh-server openssh-client faketime curl bash mosquitto mosquitto-clients chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
# sshd started as root (the SSH certificate tests) wants its privilege separation folder.
if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then mkdir -p /run/sshd && chmod 755 /run/sshd; fi
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

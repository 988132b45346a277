#!/bin/sh
# Runs a command with a real Secret Service keychain: a private D-Bus session with a fresh,
# unlocked gnome-keyring whose files live in a throwaway folder (so a keyring already on the
# machine, with another password, is never touched or prompted for).
set -e
if [ -n "${JIT_KEYRING_READY:-}" ]; then exec "$@"; fi
if ! command -v dbus-run-session >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
  echo "with-keyring: dbus-run-session and gnome-keyring-daemon are needed for the keychain tests." >&2
  echo "  Debian/Ubuntu: sudo apt-get install dbus gnome-keyring" >&2
  exit 1
fi
keyring_home=$(mktemp -d "${TMPDIR:-/tmp}/jit-keyring.XXXXXX")
trap 'rm -rf "$keyring_home"' EXIT
XDG_DATA_HOME="$keyring_home" dbus-run-session -- sh -c '
  echo -n jit-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  JIT_KEYRING_READY=1 exec "$@"' sh "$@"

#!/bin/sh
# Runs a command with a real Secret Service keychain: a private D-Bus session with a fresh,
# unlocked gnome-keyring whose files live in a throwaway folder (so a keyring already on the
# machine, with another password, is never touched or prompted for).
set -e
if [ -n "${JIT_KEYRING_READY:-}" ]; then exec "$@"; fi
for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
  if ! command -v $tool >/dev/null 2>&1; then
    echo "with-keyring: dbus-run-session, dbus-send and gnome-keyring-daemon are needed for the keychain tests." >&2
    echo "  Debian/Ubuntu: sudo apt-get install dbus gnome-keyring" >&2
    exit 1
  fi
done
keyring_home=$(mktemp -d "${TMPDIR:-/tmp}/jit-keyring.XXXXXX")
trap 'rm -rf "$keyring_home"' EXIT
# The bus starts no services (test-bus.conf says why). The daemon keeps its control socket in the
# throwaway folder too, not in the user's runtime folder beside a desktop keyring's. It returns
# before it serves the keychain, so the command waits until the login collection answers unlocked.
XDG_DATA_HOME="$keyring_home" dbus-run-session --config-file="$(dirname "$0")/test-bus.conf" -- sh -c '
  echo -n jit-test | XDG_RUNTIME_DIR="$XDG_DATA_HOME" gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  waited=0
  until dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets/collection/login \
      org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null | grep -q "boolean false"; do
    waited=$((waited + 1))
    if [ $waited -gt 300 ]; then echo "with-keyring: the keyring daemon did not serve an unlocked keychain within 30 s" >&2; exit 1; fi
    sleep 0.1
  done
  JIT_KEYRING_READY=1 exec "$@"' sh "$@"

#!/usr/bin/env bash
# Installs what building and testing Tapgate needs on Debian 12, idempotently:
# a warm machine pays only for one `dpkg -s` call.
set -euo pipefail

packages=(
  build-essential pkg-config curl ca-certificates file
  # USB security keys (webauthn-authenticator-rs `usb`: fido-hid-rs uses libudev and bindgen).
  libudev-dev libclang-dev
  # Keyring tests: a session bus with an unlocked gnome-keyring (Secret Service).
  dbus dbus-x11 gnome-keyring libsecret-tools
  # Forwarder tests: a real PostgreSQL 15 with PAM (pam_exec), psql, pgbench; socat for `make bench`.
  postgresql-15 postgresql-client-15 libpam-modules socat
  # A self-signed server certificate made as people make them (`openssl req -x509`).
  openssl
  # Client tests through the forwarder: psycopg 3, and pgjdbc with a JDK and junixsocket for the
  # socket (node-postgres comes from npm: scripts/install-test-clients.sh).
  python3-psycopg default-jdk-headless libpostgresql-jdbc-java libjunixsocket-java
  python3-venv  # crates/cloud's tests: botocore and moto in a venv (scripts/install-aws-test-tools.sh)
  # The desktop app (Tauri 2 on WebKitGTK, tray via libayatana, notifications over D-Bus).
  libssl-dev libdbus-1-dev libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  # Its end-to-end test: a virtual X display, WebKitWebDriver, a notification daemon to capture,
  # screenshots, clipboard reads, and a tray host to click (trayer, xdotool).
  xvfb xauth webkit2gtk-driver at-spi2-core dunst libnotify-bin imagemagick xclip trayer xdotool
  # Browser sign-in tests: a real Chromium driven over WebDriver with a virtual authenticator.
  chromium chromium-driver
)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: missing Debian packages: ${missing[*]}; run as root or install them." >&2
    exit 1
  fi
else
  SUDO=
fi

echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/bin/sh
# Ensure the system packages the dev environment and tests need (same checks as system-packages.ts):
#   mosquitto          /usr/sbin/mosquitto, mosquitto_passwd, the dynamic-security plugin
#   mosquitto-clients  mosquitto_pub, mosquitto_sub, mosquitto_ctrl
#   postgresql-15      /usr/lib/postgresql/15/bin/{initdb,pg_ctl}
#   acl                /usr/bin/setfacl (root only: the postgres user may need an ACL to reach the data dir)
# and, with --tests (make test), what only tests need:
#   chromium           /usr/bin/chromium (the docs browser test, server/test/docs/docs-browser.test.ts)
#   and the client models' toolchains (Go, JDK + Jackson, cargo + serde crates, pydantic, g++, php,
#   mono mcs + Json.NET, kotlinc)
# Idempotent and quick when everything is present. Installs with apt-get when run as root,
# otherwise prints the exact command and exits 1.
set -eu

PG_BIN="${MAKAPIX_PG_BIN:-/usr/lib/postgresql/15/bin}"
missing=""
need() { # need <package> <file>...
  pkg=$1; shift
  for f in "$@"; do
    if [ ! -e "$f" ]; then missing="$missing $pkg"; return 0; fi
  done
}
need mosquitto /usr/sbin/mosquitto /usr/bin/mosquitto_passwd /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so
need mosquitto-clients /usr/bin/mosquitto_pub /usr/bin/mosquitto_sub /usr/bin/mosquitto_ctrl
need postgresql-15 "$PG_BIN/initdb" "$PG_BIN/pg_ctl"
if [ "$(id -u)" = "0" ]; then need acl /usr/bin/setfacl; fi
if [ "${1:-}" = "--tests" ]; then
  need chromium /usr/bin/chromium
  # Client models (codegen/test/clients/): the toolchains that compile them and round-trip the spec's
  # examples. Debian's crates (librust-*) let cargo build offline; pydantic is 1.10 in Debian 12.
  need golang-go /usr/bin/go
  need default-jdk-headless /usr/bin/javac /usr/bin/java
  need libjackson2-databind-java /usr/share/java/jackson-databind.jar
  need libjackson2-annotations-java /usr/share/java/jackson-annotations.jar
  need libjackson2-core-java /usr/share/java/jackson-core.jar
  need cargo /usr/bin/cargo
  need rustc /usr/bin/rustc
  need librust-serde-dev /usr/share/doc/librust-serde-dev/copyright
  need librust-serde+serde-derive-dev /usr/share/doc/librust-serde+serde-derive-dev/copyright
  need librust-serde-derive-dev /usr/share/doc/librust-serde-derive-dev/copyright
  need librust-serde-json-dev /usr/share/doc/librust-serde-json-dev/copyright
  need python3-pydantic /usr/lib/python3/dist-packages/pydantic/__init__.py
  need g++ /usr/bin/g++
  need php-cli /usr/bin/php
  # C#: mono's mcs (C# 7) and Json.NET 6 (+ System.Runtime.Serialization for [EnumMember]); about 45 MB
  need mono-mcs /usr/bin/mcs /usr/bin/mono
  need libnewtonsoft-json5.0-cil /usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll
  need libmono-system-runtime-serialization4.0-cil /usr/lib/mono/4.5/System.Runtime.Serialization.dll
  # Kotlin 1.3's kotlinc: about 400 MB with its dependencies, about 20 s to compile the models
  need kotlin /usr/bin/kotlinc
fi

[ -z "$missing" ] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y$missing"
if [ "$(id -u)" != "0" ]; then
  echo "ensure-system-packages: missing:$missing" >&2
  echo "ensure-system-packages: run as root:  $cmd" >&2
  exit 1
fi

echo "ensure-system-packages: installing:$missing" >&2
# Wait for a concurrent apt/dpkg run instead of failing on its lock. Installing mosquitto does not
# start a system broker where policy-rc.d denies it; where it does, the system broker takes 1883
# (the devenv uses free ports, so it does not matter).
apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq $missing
# The package may have started a system broker on 1883 (where services start on install); `make run`
# brings its own broker, so stop the one this install just started.
case "$missing" in
  *" mosquitto "*|*" mosquitto") if command -v systemctl >/dev/null 2>&1; then systemctl disable --now mosquitto >/dev/null 2>&1 || true; fi ;;
esac
exit 0

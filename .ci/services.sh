#!/usr/bin/env bash
# Installs the Debian packages the suites use (.ci/debian-packages.txt) and starts, when down, the local
# services they talk to: PostgreSQL, Redis, Mosquitto, each with the command the machine image uses.
set -uo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done; return 1; }
apt_updated=0
apt_install() {
  if [[ $apt_updated == 0 ]]; then apt-get update -qq || true; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

missing=()
while read -r pkg; do
  [[ -z $pkg || $pkg == \#* ]] && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < "$(dirname "$0")/debian-packages.txt"
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  apt_install "${missing[@]}" || echo "could not install ${missing[*]}"
fi

if ! port_open 5432; then
  echo "starting PostgreSQL"
  have pg_ctlcluster || apt_install postgresql
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  wait_port 5432 || echo "PostgreSQL did not come up"
fi

if ! port_open 6379; then
  echo "starting Redis"
  have redis-server || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_port 6379 || echo "Redis did not come up"
fi

if ! port_open 1883; then
  echo "starting Mosquitto"
  have mosquitto || apt_install mosquitto
  mosquitto -d -c /etc/mosquitto/mosquitto.conf || true
  wait_port 1883 || echo "Mosquitto did not come up"
fi
exit 0

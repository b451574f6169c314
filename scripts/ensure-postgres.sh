#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432, starting the local cluster if needed.
# Exits non-zero when it cannot: the PostgreSQL half of the suite must fail, never be skipped.
set -euo pipefail
host=${PGHOST_CHECK:-127.0.0.1}
port=${PGPORT_CHECK:-5432}

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ready; then exit 0; fi
echo "PostgreSQL is not answering on $host:$port; trying to start it" >&2
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi
for _ in $(seq 1 30); do
  if ready; then echo "PostgreSQL is up" >&2; exit 0; fi
  sleep 1
done
echo "ERROR: PostgreSQL is unreachable on $host:$port; the suite needs it" >&2
exit 1

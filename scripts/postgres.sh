#!/usr/bin/env bash
# Makes sure a PostgreSQL for the tests answers on 127.0.0.1:5432; starts the local cluster if
# it is installed but down. Prints SKIP when none can be had.
set -uo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null; then echo SKIP; exit 0; fi
if ready; then echo OK; exit 0; fi
if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
  for _ in $(seq 1 20); do ready && { echo OK; exit 0; }; sleep 0.5; done
fi
echo SKIP

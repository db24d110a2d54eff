#!/usr/bin/env bash
# Installs and starts what the full test suite uses besides Go: PostgreSQL
# (the production store; storage tests run on it when MAMORI_TEST_POSTGRES_URL
# is set), Debian's Chromium (browser tests) and poppler-utils (pdftotext, to
# check the Japanese text of PDF reports). Needs root and Debian's package
# repositories. Prints the MAMORI_TEST_POSTGRES_URL to use.
set -euo pipefail

need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "test-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Start PostgreSQL if it is down.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "test-deps: starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 60); do
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p 5432 >&2

# A database of its own for the tests (each test uses a fresh schema in it).
psql_admin() {
  if psql -h 127.0.0.1 -U postgres -d postgres -Atqc "SELECT 1" >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -Atqc "$1"
  else
    su postgres -c "psql -d postgres -Atqc \"$1\""
  fi
}
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'mamori_test'")" != "1" ]; then
  psql_admin "CREATE DATABASE mamori_test" >/dev/null
fi
echo "postgres://postgres@127.0.0.1:5432/mamori_test?sslmode=disable"

#!/usr/bin/env bash
# Starts the release server for the Playwright suite on a throw-away SQLite database.
# Used as Playwright's webServer command; XK_SERVER_BIN and XRAY_KEYS_SITE_ROOT come from test.sh.
set -euo pipefail
port=${1:?port}
data=$(mktemp -d -t xray-keys-e2e.XXXXXX)
trap 'rm -rf "$data"' EXIT
export XRAY_KEYS_DATA_DIR="$data"
# Where the suite finds this server's data, to run the command line against it.
echo "$data" > "${TMPDIR:-/tmp}/xray-keys-e2e-$port.data"
# Backups poll the stand-in every second, and its jobs take 4 seconds: progress shows live.
export XRAY_KEYS_BACKUP_POLL_SECONDS=1
export XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS=4
export XRAY_KEYS_LISTEN="127.0.0.1:$port"
export XRAY_KEYS_LOG="${XRAY_KEYS_LOG:-info,tower_http=warn}"
export XRAY_KEYS_ADMIN_USER=admin
export XRAY_KEYS_ADMIN_PASSWORD="${XK_E2E_ADMIN_PASSWORD:-e2e admin password}"
unset DATABASE_URL
# The Xray Cloud stand-in, with a small tenant the real-client tests report to (XK-1..XK-20 are
# tests, XK-25 the test plan).
export XRAY_KEYS_XRAY_STANDIN=on
"$XK_SERVER_BIN" standin seed --projects 1 --tests 20 --preconditions 2 --test-sets 2 --test-plans 1 \
  --executions 2 --runs-per-execution 5 --seed 42 >/dev/null
# A backup operator, created through the command line as a script would.
printf '%s\n' "${XK_E2E_OPERATOR_PASSWORD:-e2e operator password}" \
  | "$XK_SERVER_BIN" users add operator --name "Olivia Operator" --role backup-operator --password-stdin >/dev/null
# Users the API Keys tests pick, and seeded keys so paging has pages (25; the browser
# benchmark asks for more).
for key in revyz-backup-user addon_com.atlassian.jira.chat ci-bot del-me regen-me bulk-a bulk-b bulk-c race-user kbd-user kbd-create xray-backup \
  life-new life-edit life-off life-grace life-many-1 life-many-2 life-kbd handshake-user ci-xray backup-e2e; do
  "$XK_SERVER_BIN" users add "$key" --name "User $key" >/dev/null
done
# A display name that is markup: it must show as text everywhere.
"$XK_SERVER_BIN" users add xss-user --name '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>' >/dev/null
"$XK_SERVER_BIN" dev seed --keys "${XK_E2E_SEED_KEYS:-25}" >/dev/null
for key in del-me regen-me bulk-a bulk-b bulk-c kbd-user life-edit life-off life-grace life-many-1 life-many-2 life-kbd; do
  "$XK_SERVER_BIN" keys create "$key" --json >/dev/null
done
# The one key in the expiry warning window (the lifecycle tests' banner counts it).
"$XK_SERVER_BIN" users add life-soon --name "User life-soon" >/dev/null
"$XK_SERVER_BIN" keys create life-soon --description "Jenkins CI" --expires-in 3d --json >/dev/null
"${XK_SERVER_BIN:?XK_SERVER_BIN}" serve &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT INT TERM
wait $pid

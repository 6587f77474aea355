#!/usr/bin/env bash
# scripts/fill-journal.sh JOURNAL ROWS: appends ROWS settled orders of past sales to a flashd
# journal (schema 5 or 6; flashd stopped), offline, in one transaction of the sqlite3 shell, so
# a benchmark runs against a journal the size a busy shop's reaches. The orders are of items
# named past-N, which no sale in Redis has, so the audit of the live sales doesn't see them;
# each is in the outbox and marked delivered, as a journal whose deliverer kept up would be.
set -euo pipefail
JOURNAL=$1
ROWS=$2
[ -f "$JOURNAL" ] || { echo "fill-journal: no journal at $JOURNAL (start flashd once to make it)" >&2; exit 1; }
VERSION=$(sqlite3 "$JOURNAL" "SELECT value FROM meta WHERE key = 'schema_version'")
case "$VERSION" in
  5) CHANGE_COLS="gid, state, at_ms"; CHANGE_VALS="gid, 'final', updated_ms" ;;
  6) CHANGE_COLS="gid, txn, state, at_ms"; CHANGE_VALS="gid, rowid, 'final', updated_ms" ;;
  *) echo "fill-journal: schema $VERSION is not 5 or 6" >&2; exit 1 ;;
esac
START=$(sqlite3 "$JOURNAL" "SELECT COALESCE(MAX(rowid), 0) FROM txns")
t0=$(date +%s.%N)
# The gid: a prefix unique per row, then 16 random hex digits (the shape flashd's gids have);
# the buyer random too, so the buyer index is as scattered as a real sale's. The indexes are
# dropped and made again after the rows: a sort per index instead of a random insert per row.
INDEXES=$(sqlite3 "$JOURNAL" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND tbl_name = 'txns' AND sql IS NOT NULL")
DROPS=$(sqlite3 "$JOURNAL" "SELECT 'DROP INDEX ' || name || ';' FROM sqlite_master WHERE type = 'index' AND tbl_name = 'txns' AND sql IS NOT NULL")
# Out of WAL for the fill (flashd is stopped, so nothing else has the file open): the rows go
# straight into the file instead of into the WAL and then again at the checkpoint; a big cache
# sorts the indexes in memory. No sync per statement, WAL mode back at the end, and one sync of
# the file after: left dirty in the page cache, hundreds of MiB would be written out by flashd's
# first checkpoint, whose fsync then stalls every purchase for 100-250 ms. A journal a real sale
# left has been synced commit by commit.
sqlite3 "$JOURNAL" >/dev/null <<SQL
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
PRAGMA temp_store = MEMORY;
BEGIN;
$DROPS
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $ROWS)
INSERT INTO txns(gid, item, round, user, request_id, state, order_id, created_ms, updated_ms, next_check_ms, ordered_ms)
SELECT 'past' || i || '-' || printf('%016x', random()), 'past-' || (i / 100000), 1, printf('u%016x', random()), 'r1',
       'succeeded', 'ord-past' || i, 1700000000000 + i, 1700000000000 + i, 1700000000000 + i, 1700000000000 + i FROM c;
INSERT INTO changes($CHANGE_COLS) SELECT $CHANGE_VALS FROM txns WHERE rowid > $START ORDER BY rowid;
INSERT INTO meta(key, value) VALUES ('delivered_seq', (SELECT MAX(seq) FROM changes))
  ON CONFLICT(key) DO UPDATE SET value = excluded.value;
-- Schema 6 keeps its totals: without them the next open counts them again.
DELETE FROM meta WHERE key IN ('orders_total', 'pending_total');
$INDEXES
COMMIT;
PRAGMA journal_mode = WAL;
SQL
sync "$JOURNAL"
awk -v a="$t0" -v b="$(date +%s.%N)" -v n="$ROWS" -v v="$VERSION" \
  'BEGIN { printf "fill-journal: %d rows appended to a schema %s journal in %.1f s\n", n, v, b - a }' >&2

#!/usr/bin/env python3
"""The journal's write pattern per purchase, schema 1 against schema 2, with Python's sqlite3.

Each purchase is one prepare (insert the transaction) and one commit (schema 1: read the row,
insert an order row into a table keyed by order id with a unique gid, update the row; schema 2:
one update that turns the row into the order), in group commits of BATCH purchases, in WAL mode
with synchronous=FULL, as flashd does. It shows what the extra random-key indexes of schema 1
cost on this disk. Usage: scripts/journal-schema-bench.py [PURCHASES] [BATCH]
"""
import os, random, sqlite3, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
B = int(sys.argv[2]) if len(sys.argv) > 2 else 30
TXNS = """CREATE TABLE txns(gid TEXT PRIMARY KEY, item TEXT NOT NULL, round INTEGER NOT NULL, user TEXT NOT NULL,
  request_id TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, order_id TEXT, created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL, next_check_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
  ordered_ms INTEGER);"""
SCHEMA = {
    1: TXNS + """CREATE INDEX txns_prepared ON txns(item, round) WHERE state = 'prepared';
        CREATE INDEX txns_state ON txns(state, created_ms);
        CREATE TABLE orders(order_id TEXT PRIMARY KEY, gid TEXT NOT NULL UNIQUE REFERENCES txns(gid), item TEXT NOT NULL,
          round INTEGER NOT NULL, user TEXT NOT NULL, request_id TEXT NOT NULL, created_ms INTEGER NOT NULL);
        CREATE INDEX orders_item ON orders(item, round);""",
    2: TXNS + """CREATE INDEX txns_item ON txns(item, round, state);
        CREATE INDEX txns_state ON txns(state, created_ms);""",
}

def run(version):
    d = tempfile.mkdtemp(prefix="jsb")
    db = sqlite3.connect(os.path.join(d, "j.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA[version])
    gids = ["n-%016x" % random.getrandbits(64) for _ in range(N)]
    t = time.time()
    for i in range(0, N, B):
        db.execute("BEGIN IMMEDIATE")
        for g in gids[i:i + B]:
            db.execute("INSERT INTO txns VALUES (?,?,?,?,?,'prepared',NULL,NULL,?,?,?,0,NULL,NULL) ON CONFLICT(gid) DO NOTHING",
                       (g, "sku", 1, "u-" + g, "r-" + g, 1, 1, 1))
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        for g in gids[i:i + B]:
            if version == 1:
                db.execute("SELECT * FROM txns WHERE gid = ?", (g,)).fetchone()
                db.execute("INSERT INTO orders VALUES (?,?,?,?,?,?,?)", ("ord-" + g, g, "sku", 1, "u-" + g, "r-" + g, 2))
                db.execute("UPDATE txns SET state='succeeded', order_id=?, updated_ms=? WHERE gid=?", ("ord-" + g, 2, g))
            else:
                db.execute("UPDATE txns SET state='succeeded', order_id=?, updated_ms=?, ordered_ms=? WHERE gid=? AND state='prepared'",
                           ("ord-" + g, 2, 2, g))
        db.execute("COMMIT")
    elapsed = time.time() - t
    db.close()
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    os.rmdir(d)
    print("schema %d: %d purchases in batches of %d: %.0f purchases/s" % (version, N, B, N / elapsed))

run(1)
run(2)

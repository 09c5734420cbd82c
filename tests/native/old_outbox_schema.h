// The outbox DDL of the builds before the unacked count moved out of
// triggers: a database they created, for the upgrade tests.
#ifndef ELECTROLITE_TESTS_NATIVE_OLD_OUTBOX_SCHEMA_H_
#define ELECTROLITE_TESTS_NATIVE_OLD_OUTBOX_SCHEMA_H_

namespace electrolite {

// Verbatim what Outbox::Init ran up to commit 728b2fe (recorded under
// "schema:outbox" in _el_kv by those builds).
inline constexpr char kOldOutboxDdl[] =
    "CREATE TABLE IF NOT EXISTS _el_outbox ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " tbl TEXT NOT NULL,"
    " op TEXT NOT NULL CHECK (op IN ('insert','update','delete')),"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " base TEXT NOT NULL,"
    " local_ms INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending','in_flight','acked','failed')),"
    " reason TEXT,"
    " txid INTEGER,"
    " attempts INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS _el_outbox_row ON _el_outbox (tbl, key);"
    "CREATE INDEX IF NOT EXISTS _el_outbox_status ON _el_outbox (status, seq);"
    "CREATE TABLE IF NOT EXISTS _el_outbox_stats ("
    " id INTEGER PRIMARY KEY CHECK (id = 0), unacked INTEGER NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS _el_outbox_ai AFTER INSERT ON _el_outbox"
    " WHEN NEW.status <> 'acked' BEGIN"
    " UPDATE _el_outbox_stats SET unacked = unacked + 1 WHERE id = 0; END;"
    "CREATE TRIGGER IF NOT EXISTS _el_outbox_ad AFTER DELETE ON _el_outbox"
    " WHEN OLD.status <> 'acked' BEGIN"
    " UPDATE _el_outbox_stats SET unacked = unacked - 1 WHERE id = 0; END;"
    "CREATE TRIGGER IF NOT EXISTS _el_outbox_au AFTER UPDATE OF status ON _el_outbox"
    " WHEN (OLD.status = 'acked') <> (NEW.status = 'acked') BEGIN"
    " UPDATE _el_outbox_stats SET unacked = unacked +"
    " (CASE WHEN NEW.status = 'acked' THEN -1 ELSE 1 END) WHERE id = 0; END;"
    "INSERT OR REPLACE INTO _el_outbox_stats (id, unacked)"
    " VALUES (0, (SELECT count(*) FROM _el_outbox WHERE status <> 'acked'));";

}  // namespace electrolite

#endif  // ELECTROLITE_TESTS_NATIVE_OLD_OUTBOX_SCHEMA_H_

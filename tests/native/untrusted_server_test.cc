// What a server may not do to the client: name a column like the engine's
// own bookkeeping (reserved_names.h), hand out a malformed offset, handle or
// cursor, or plant an offset it then refuses with a 400. Each is refused
// before anything of the response is applied, and the client recovers: local
// writes keep working, a well-behaved server syncs again, and a database an
// earlier build let a server poison is repaired on open.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "engine_test_util.h"
#include "fake_electric.h"
#include "reserved_names.h"
#include "shape.h"
#include "table_decl.h"

namespace electrolite {
namespace testing {
namespace {

const char kPoisonedHeader[] =
    R"({"id":{"type":"int8","pk_index":0,"not_null":true},"title":{"type":"text","not_null":true},)"
    R"("priority":{"type":"int4"},"done":{"type":"bool"},"_el_op":{"type":"text"}})";

class UntrustedServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    pair_.reset();
    engine_.reset();
    json opts = {{"path", path_},
                 {"baseUrl", "http://electric.test"},
                 {"clientId", "client-a"},
                 {"schemaSql", std::string(kItemsSchemaSql)},
                 {"policies", {{"items", {{"policy", "server-wins"}, {"writable", true}}}}},
                 {"nowMs", now_}};
    auto r = Engine::Open(opts.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine_ = std::move(r).value();
    pair_ = std::make_unique<SyncPair>(engine_.get(), &server_);
    pair_->now = now_;
  }

  json Query(const std::string& sql) { return QueryRows(*engine_, sql); }
  int64_t Count(const std::string& where = "1") {
    return Query("SELECT count(*) FROM items WHERE " + where)[0][0].get<int64_t>();
  }
  json Status() { return json::parse(engine_->StatusJson()); }
  std::string Offset() { return Status()["shapes"][0]["offset"].get<std::string>(); }
  // A local write through SQL, as the app makes it.
  void WriteLocally(int id) {
    json r = json::parse(engine_->Exec(
        "INSERT INTO items (id, title) VALUES (" + std::to_string(id) + ", 'local')", "[]"));
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  }
  // Error events since the last call.
  std::vector<json> Errors() {
    std::vector<json> out;
    for (const json& e : pair_->TakeEvents()) {
      if (e["type"] == "error") out.push_back(e);
    }
    return out;
  }
  // A live answer with `body` and the given headers over the usual ones.
  FakeResponse Live(const std::string& offset, const json& body, const std::string& handle = "",
                    const std::string& cursor = "9000") {
    return FakeResponse{200,
                        {{"electric-handle", handle.empty() ? server_.handle() : handle},
                         {"electric-offset", offset},
                         {"electric-cursor", cursor},
                         {"electric-up-to-date", ""}},
                        body.dump()};
  }
  static json UpToDate() { return json{{"headers", {{"control", "up-to-date"}}}}; }
  static json SnapshotEnd() {
    return json{{"headers", {{"control", "snapshot-end"}, {"xmin", "690"}, {"xmax", "700"},
                             {"xip_list", json::array()}}}};
  }
  static json InsertMsg(const json& value) {
    return json{{"key", "k"},
                {"value", value},
                {"headers", {{"operation", "insert"}, {"txids", {901}}}}};
  }

  int64_t now_ = 1000000;
  TempDbFile file_{"untrusted"};
  const std::string path_ = file_.path();
  FakeElectric server_{"items", kItemsSchemaHeader};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<SyncPair> pair_;
};

// ---------------------------------------------------------------- the rules

TEST(ReservedNamesTest, BookkeepingPrefixAndRowidAliasesInAnyCase) {
  for (const char* name : {"_el_op", "_EL_OP", "_El_write_id", "_el_c_title", "_el_", "rowid",
                           "ROWID", "_rowid_", "oid", "OiD"}) {
    EXPECT_TRUE(IsReservedColumnName(name)) << name;
  }
  for (const char* name : {"el_op", "_elop", "__el_op", "title", "oid2", "row_id", "_el"}) {
    EXPECT_FALSE(IsReservedColumnName(name)) << name;
  }
  Result<std::vector<ColumnDecl>> cols = ParseSchemaHeader(kPoisonedHeader);
  ASSERT_TRUE(cols.ok());
  electrolite::Status s = CheckServerColumns("items", cols.value());
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("\"_el_op\""), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("\"items\""), std::string::npos) << s.ToString();
  cols = ParseSchemaHeader(R"({"id":{"type":"int8","pk_index":0},"Title":{"type":"text"},)"
                           R"("title":{"type":"text"}})");
  ASSERT_TRUE(cols.ok());
  s = CheckServerColumns("items", cols.value());
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("only in letter case"), std::string::npos) << s.ToString();
}

TEST(OffsetFormatTest, TheProtocolsFormsAndNothingElse) {
  for (const char* ok : {"-1", "0_0", "0_inf", "12_4", "2503481432_0", "18446744073709551615_0",
                         "1_9223372036854775807", "0007_02"}) {
    EXPECT_TRUE(IsValidOffset(ok)) << ok;
  }
  for (const char* bad : {"", "now", "-5_0", "-1_0", "abc", "10", "1_", "_1", "1_2_3", "0_-1",
                          "+1_0", "1 _0", "1_0 ", "18446744073709551616_0", "1_9223372036854775808",
                          "99999999999999999999999_0", "1_INF", "inf_0", "1_infinity"}) {
    EXPECT_FALSE(IsValidOffset(bad)) << bad;
  }
  EXPECT_TRUE(IsValidHandle("3833821-1721812114261"));
  EXPECT_FALSE(IsValidHandle(""));
  EXPECT_FALSE(IsValidHandle("a b"));
  EXPECT_FALSE(IsValidHandle(std::string(300, 'h')));
  EXPECT_TRUE(IsValidCursor(""));
  EXPECT_TRUE(IsValidCursor("1234"));
  EXPECT_FALSE(IsValidCursor("12\n34"));
}

// The overlay's own columns are exactly the kind the rule refuses, so no
// server column can ever meet one of them.
TEST_F(UntrustedServerTest, EveryBookkeepingColumnOfTheOverlayIsReserved) {
  json cols = Query("SELECT name FROM pragma_table_info('items__overlay')");
  int bookkeeping = 0;
  for (const json& c : cols) {
    const std::string name = c[0].get<std::string>();
    if (name == "id" || name == "title" || name == "priority" || name == "done") continue;
    EXPECT_TRUE(IsReservedColumnName(name)) << name;
    bookkeeping++;
  }
  EXPECT_GE(bookkeeping, 8);  // _el_op, _el_write_id, _el_yield, _el_seen, 4 change flags
}

TEST(ReservedNamesTest, TableNamesTheEngineUsesBesideATable) {
  for (const char* name : {"_el_outbox", "_EL_x", "sqlite_stat1", "items__synced", "items__OVERLAY",
                           "items__stage", "items__overlay__untyped"}) {
    EXPECT_TRUE(IsReservedTableName(name)) << name;
  }
  for (const char* name : {"items", "el_items", "items_synced", "my__table", "stage"}) {
    EXPECT_FALSE(IsReservedTableName(name)) << name;
  }
  json opts = {{"path", ":memory:"},
               {"schemaSql", "CREATE TABLE a (id int8 PRIMARY KEY);"
                             "CREATE TABLE a__synced (id int8 PRIMARY KEY);"}};
  auto r = Engine::Open(opts.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kSchema);
  EXPECT_NE(r.status().message().find("\"a__synced\""), std::string::npos) << r.status().ToString();
}

TEST(DeclaredColumnsTest, AnAppColumnWithAReservedNameIsASchemaError) {
  json opts = {{"path", ":memory:"},
               {"schemaSql", "CREATE TABLE t (id int8 PRIMARY KEY, \"_el_seen\" text);"}};
  auto r = Engine::Open(opts.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kSchema);
  EXPECT_NE(r.status().message().find("\"_el_seen\""), std::string::npos) << r.status().ToString();
}

// ---------------------------------------------------------------- columns

TEST_F(UntrustedServerTest, ReservedColumnInTheSchemaHeaderIsRefusedBeforeAnythingIsApplied) {
  server_.SetSchema(kPoisonedHeader);
  json row = ItemRow(1, "one");
  row["_el_op"] = "insert";
  server_.Insert(row);
  pair_->Pump();
  ASSERT_FALSE(pair_->handle_results.empty());
  electrolite::Status s = pair_->handle_results.back();
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("\"_el_op\""), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("\"items\""), std::string::npos) << s.ToString();
  std::vector<json> errors = Errors();
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.back()["code"], "protocol");
  EXPECT_EQ(Count(), 0);
  EXPECT_EQ(Offset(), "-1");
  EXPECT_EQ(
      Query("SELECT count(*) FROM pragma_table_info('items__synced') WHERE name = '_el_op'")[0][0],
      0);
  EXPECT_EQ(Query("SELECT count(*) FROM _el_tables WHERE decl LIKE '%_el_op%'")[0][0], 0);
  // Local writes still work.
  WriteLocally(50);
  EXPECT_EQ(Count("id = 50"), 1);
  // The server mends its ways: the next attempt syncs.
  server_.SetSchema(kItemsSchemaHeader);
  server_.Insert(ItemRow(1, "one"));
  pair_->Advance(5000);
  EXPECT_TRUE(Status()["isUpToDate"].get<bool>()) << Status().dump();
  EXPECT_EQ(Query("SELECT title FROM items WHERE id = 1"), json::parse(R"([["one"]])"));
  EXPECT_EQ(Count("id = 50"), 1);
}

TEST_F(UntrustedServerTest, ReservedColumnInAMessageValueIsRefused) {
  server_.Insert(ItemRow(1, "one"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  const std::string offset = Offset();
  json bad = ItemRow(2, "two");
  bad["_EL_OP"] = "delete";
  server_.overrides.push_back(Live("5000_0", json::array({InsertMsg(ItemRow(3, "three")),
                                                          InsertMsg(bad), UpToDate()})));
  pair_->Advance(10);
  electrolite::Status s = pair_->handle_results.back();
  EXPECT_EQ(s.code(), Code::kProtocol);
  EXPECT_NE(s.message().find("\"_EL_OP\""), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("\"items\""), std::string::npos) << s.ToString();
  EXPECT_EQ(Count(), 1);  // not even the good row before it
  EXPECT_EQ(Offset(), offset);
  WriteLocally(51);
  EXPECT_EQ(Count("id = 51"), 1);
}

// ---------------------------------------------------------------- headers

TEST_F(UntrustedServerTest, EachMalformedOffsetHandleOrCursorIsRefusedWithNothingApplied) {
  struct Case {
    const char* offset;
    std::string handle, cursor;
    const char* header;
  };
  const std::vector<Case> cases = {
      {"-5_0", "", "9000", "electric-offset"},
      {"abc", "", "9000", "electric-offset"},
      {"99999999999999999999_0", "", "9000", "electric-offset"},
      {"1_99999999999999999999", "", "9000", "electric-offset"},
      {"now", "", "9000", "electric-offset"},
      {"", "", "9000", "electric-offset"},
      {"1_2_3", "", "9000", "electric-offset"},
      {"5000_0", "bad handle", "9000", "electric-handle"},
      {"5000_0", std::string(300, 'h'), "9000", "electric-handle"},
      {"5000_0", "", "90\r\n00", "electric-cursor"},
  };
  server_.Insert(ItemRow(1, "one"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  int id = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.header) + " " + c.offset + " " + c.handle.substr(0, 20) + " " +
                 c.cursor);
    const std::string offset = Offset();
    const json handle = Status()["shapes"][0]["handle"];
    Errors();
    server_.overrides.push_back(
        Live(c.offset, json::array({InsertMsg(ItemRow(id, "planted")), UpToDate()}), c.handle,
             c.cursor));
    server_.Insert(ItemRow(id + 1, "real"));  // what the retry brings
    const size_t answered = pair_->handle_results.size();
    pair_->Advance(10);
    // The first answer after the planted one is refused. The backoff is jittered from 0, so
    // the retry may already have come back within these 10 ms: only without it is the offset
    // certain to be the old one.
    ASSERT_GT(pair_->handle_results.size(), answered);
    electrolite::Status s = pair_->handle_results[answered];
    EXPECT_EQ(s.code(), Code::kProtocol) << s.ToString();
    EXPECT_NE(s.message().find(c.header), std::string::npos) << s.ToString();
    EXPECT_EQ(Count("id = " + std::to_string(id)), 0);
    if (pair_->handle_results.size() == answered + 1) EXPECT_EQ(Offset(), offset);
    EXPECT_EQ(Status()["shapes"][0]["handle"], handle);
    std::vector<json> errors = Errors();
    ASSERT_FALSE(errors.empty());
    EXPECT_EQ(errors.back()["code"], "protocol");
    // The same offset is asked again after a backoff, and the real change arrives.
    pair_->Advance(2000);
    EXPECT_EQ(Count("id = " + std::to_string(id + 1)), 1);
    EXPECT_NE(Offset(), offset);
    id += 2;
  }
  EXPECT_NE(Status()["sync"], "error");
}

TEST_F(UntrustedServerTest, AStoredMalformedOffsetIsRefetchedOnOpen) {
  server_.Insert(ItemRow(1, "one"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  pair_.reset();
  engine_.reset();
  {  // what an earlier build kept from a bad response
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, "UPDATE _el_shapes SET \"offset\" = '-5_0'", nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  const size_t before = server_.urls.size();
  Open();
  EXPECT_EQ(Offset(), "-1");
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  ASSERT_GT(server_.urls.size(), before);
  EXPECT_EQ(ParseUrl(server_.urls[before]).query["offset"], "-1");
  EXPECT_EQ(Count("id = 1"), 1);
}

// ---------------------------------------------------------------- 400

TEST_F(UntrustedServerTest, A400ForTheClientsOffsetRefetchesTheShapeAndSyncResumes) {
  server_.check_offset_bounds = true;
  server_.Insert(ItemRow(1, "one"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  // A well-formed offset the server never gave: it answers the next request 400.
  server_.overrides.push_back(Live("900000_0", json::array({UpToDate()})));
  pair_->Advance(10);
  EXPECT_EQ(Offset(), "-1");  // refetching
  EXPECT_EQ(Status()["sync"], "syncing");
  EXPECT_NE(Status()["connection"], "error");
  size_t refused = 0;
  for (size_t i = 0; i < server_.urls.size(); i++) {
    if (ParseUrl(server_.urls[i]).query["offset"] == "900000_0") refused = i;
  }
  ASSERT_GT(refused, 0u);
  server_.Insert(ItemRow(2, "two"));
  pair_->Advance(3000);
  ASSERT_GT(server_.urls.size(), refused + 1);
  ParsedUrl next = ParseUrl(server_.urls[refused + 1]);
  EXPECT_EQ(next.query["offset"], "-1");
  EXPECT_EQ(next.query.count("handle"), 0u);
  EXPECT_EQ(next.query.count("expired_handle"), 0u);  // the server did not rotate it
  EXPECT_TRUE(Status()["isUpToDate"].get<bool>()) << Status().dump();
  EXPECT_EQ(Status()["error"], nullptr);
  EXPECT_EQ(Count(), 2);
  // And it follows live changes again.
  server_.Insert(ItemRow(3, "three"));
  pair_->ReleaseHeld();
  EXPECT_EQ(Count(), 3);
}

TEST_F(UntrustedServerTest, A400ThatRepeatsAfterTheRefetchShowsInStatusAndKeepsRetryingSlowly) {
  server_.Insert(ItemRow(1, "one"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  const std::string oob =
      R"({"message":"Invalid request","errors":{"offset":["out of bounds for this shape"]}})";
  server_.overrides.push_back(Live("900000_0", json::array({UpToDate()})));
  for (int i = 0; i < 100; i++) {
    server_.overrides.push_back({400, {}, oob});
    // Every re-fetch plants the same offset again.
    server_.overrides.push_back(
        {200,
         {{"electric-handle", server_.handle()}, {"electric-offset", "900000_0"},
          {"electric-schema", kItemsSchemaHeader}},
         json::array({SnapshotEnd()}).dump()});
  }
  pair_->Advance(10);
  const size_t start = server_.urls.size();
  std::vector<int64_t> times;
  int64_t last = pair_->now;
  pair_->after_response = [&] { times.push_back(pair_->now); };
  pair_->Advance(120000);
  json st = Status();
  EXPECT_EQ(st["sync"], "error") << st.dump();
  EXPECT_EQ(st["error"]["code"], "invalid_argument");
  EXPECT_NE(st["error"]["message"].get<std::string>().find("out of bounds"), std::string::npos);
  const size_t made = server_.urls.size() - start;
  EXPECT_GE(made, 6u);   // still retrying ...
  EXPECT_LE(made, 40u);  // ... but never hot
  ASSERT_FALSE(times.empty());
  EXPECT_GT(times.back(), last + 60000);  // and still at it late in the window
  // Uploads are not held up by it.
  EXPECT_TRUE(pair_->uploads.empty());
  WriteLocally(70);
  pair_->Pump();
  ASSERT_EQ(pair_->uploads.size(), 1u);
  EXPECT_EQ(pair_->uploads[0].kind, "upload");
  // The server recovers: so does the client.
  server_.overrides.clear();
  pair_->Advance(70000);
  st = Status();
  EXPECT_TRUE(st["isUpToDate"].get<bool>()) << st.dump();
  EXPECT_EQ(st["error"], nullptr);
  EXPECT_EQ(Count("id = 1"), 1);
}

TEST_F(UntrustedServerTest, OtherShapesKeepSyncingWhileOneRetriesA400) {
  server_.check_offset_bounds = true;
  server_.Insert(ItemRow(1, "one", 5));
  json r = json::parse(engine_->Subscribe(
      R"({"id":"prio","table":"items","where":"priority > 1"})", pair_->now));
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  // From now on the whole-table shape is always handed the planted offset.
  server_.intercept = [&](const ParsedUrl& url) -> std::optional<FakeResponse> {
    const std::string& offset = url.query.at("offset");
    if (url.query.count("where") > 0 || offset == "900000_0") return std::nullopt;
    FakeResponse planted = Live("900000_0", json::array({UpToDate()}));
    if (offset == "-1") {
      planted.headers.emplace_back("electric-schema", kItemsSchemaHeader);
      planted.body = json::array({SnapshotEnd()}).dump();
    }
    return planted;
  };
  pair_->Advance(20000);  // the held polls come back, the planted offset meets its 400
  server_.Insert(ItemRow(2, "two", 5));
  pair_->ReleaseHeld();
  pair_->Advance(20000);
  json st = Status();
  EXPECT_EQ(st["error"]["code"], "invalid_argument") << st.dump();
  EXPECT_EQ(st["error"]["shapeId"], "items");
  for (const json& shape : st["shapes"]) {
    if (shape["id"] == "prio") EXPECT_TRUE(shape["isUpToDate"].get<bool>()) << st.dump();
  }
  EXPECT_EQ(Count("id = 2"), 1);  // brought by the other shape meanwhile
}

TEST_F(UntrustedServerTest, A400ForTheShapeDefinitionStaysTerminal) {
  server_.overrides.push_back(
      {400, {}, R"({"message":"Invalid request","errors":{"where":["syntax error"]}})"});
  pair_->Pump();
  pair_->Advance(120000);
  EXPECT_EQ(server_.urls.size(), 1u);
  EXPECT_EQ(Status()["sync"], "error");
}

// ---------------------------------------------------------------- reopen

// A database an earlier build let a server add `_el_op` to: T__synced, the
// overlay's change flags, the view and the stored declaration all carry it.
TEST_F(UntrustedServerTest, APoisonedDatabaseIsRepairedOnReopenAndRefetched) {
  server_.Insert(ItemRow(1, "one"));
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  WriteLocally(60);  // pending, never uploaded (the fake server is shape-only)
  pair_.reset();
  engine_.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT decl FROM _el_tables WHERE name = 'items'", -1, &st,
                                 nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    Result<TableDecl> decl =
        TableDeclFromJson(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    ASSERT_TRUE(decl.ok());
    ColumnDecl op;
    op.name = "_el_op";
    op.pg_type = "text";
    decl->columns.push_back(op);
    std::string sql =
        "ALTER TABLE items__synced ADD COLUMN \"_el_op\" TEXT;"
        "UPDATE items__synced SET \"_el_op\" = 'planted';"
        "ALTER TABLE items__overlay ADD COLUMN \"_el_c__el_op\" INTEGER NOT NULL DEFAULT 0;"
        "DROP VIEW items;"
        "CREATE VIEW items AS SELECT id, title, priority, done, \"_el_op\" FROM items__synced;"
        "UPDATE _el_shapes SET schema = '" + std::string(kPoisonedHeader) + "';"
        "UPDATE _el_tables SET decl = '" + TableDeclToJson(decl.value()) +
        "' WHERE name = 'items';";
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }
  server_.Update(json{{"id", "1"}, {"title", "one, later"}});
  const size_t before = server_.urls.size();
  Open();
  for (const char* t : {"items__synced", "items__overlay", "items"}) {
    EXPECT_EQ(Query(std::string("SELECT count(*) FROM pragma_table_info('") + t +
                    "') WHERE name IN ('_el_c__el_op') OR (name = '_el_op' AND '" + t +
                    "' <> 'items__overlay')")[0][0],
              0)
        << t;
  }
  EXPECT_EQ(
      Query("SELECT count(*) FROM _el_tables WHERE decl LIKE '%\\_el\\_op%' ESCAPE '\\'")[0][0],
      0);
  EXPECT_EQ(Offset(), "-1");  // the shape starts over
  EXPECT_EQ(Count("id = 60"), 1);  // the pending write survived
  WriteLocally(61);
  EXPECT_EQ(Count("id = 61"), 1);
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  ASSERT_GT(server_.urls.size(), before);
  ParsedUrl first = ParseUrl(server_.urls[before]);
  EXPECT_EQ(first.query["offset"], "-1");
  EXPECT_EQ(first.query.count("handle"), 0u);
  EXPECT_EQ(Query("SELECT title FROM items WHERE id = 1"), json::parse(R"([["one, later"]])"));
  EXPECT_EQ(Count(), 3);
  EXPECT_EQ(Status()["error"], nullptr);
}

}  // namespace
}  // namespace testing
}  // namespace electrolite

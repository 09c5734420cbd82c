// Bulk load of an initial snapshot (SyncedTable::PrepareBulkLoad): into an
// empty table fed by one shape, the snapshot's inserts go in without the key
// index, which is built once at its end or before the first other change.
// What must hold: the rows and the shape's offset agree across a reopen
// mid-snapshot, the first change after the snapshot finds its key, duplicate
// keys are reported and resolved as upserts would, other shapes on the same
// table keep the row-by-row path, and live queries hear of the new rows.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "engine_test_util.h"
#include "fake_electric.h"

namespace electrolite {
namespace testing {
namespace {

// A text key: SQLite keeps it in an index (an INTEGER key is the rowid itself).
const char kNotesSql[] = "CREATE TABLE notes (id text PRIMARY KEY, title text NOT NULL, n integer);";
const char kNotesHeader[] =
    R"({"id":{"type":"text","pk_index":0,"not_null":true},"title":{"type":"text","not_null":true},)"
    R"("n":{"type":"int4"}})";

json Note(int i, const std::string& title) {
  return json{{"id", "k" + std::to_string(i)}, {"title", title}, {"n", std::to_string(i)}};
}

class BulkLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 1; i <= 50; i++) server_.Insert(Note(i, "t" + std::to_string(i)));
    server_.snapshot_chunk_rows = 10;  // five responses, the last with snapshot-end
  }
  void Open(bool auto_subscribe = true) {
    pair_.reset();
    engine_.reset();
    json opts = {{"path", path_}, {"baseUrl", "http://electric.test"}, {"schemaSql", kNotesSql},
                 {"autoSubscribe", auto_subscribe}, {"nowMs", now_}};
    auto r = Engine::Open(opts.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine_ = std::move(r).value();
    pair_ = std::make_unique<SyncPair>(engine_.get(), &server_);
    pair_->now = now_;
  }
  json Query(const std::string& sql) { return QueryRows(*engine_, sql); }
  int64_t Count() { return Query("SELECT count(*) FROM notes")[0][0].get<int64_t>(); }
  bool Indexed() {
    return Query("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = '_el_pk_notes'")[0][0] == 1;
  }
  std::string Offset() { return Query("SELECT \"offset\" FROM _el_shapes")[0][0].get<std::string>(); }

  FakeElectric server_{"notes", kNotesHeader};
  TempDbFile file_{"bulk"};
  const std::string path_ = file_.path();
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<SyncPair> pair_;
  int64_t now_ = 1000000;
};

TEST_F(BulkLoadTest, SnapshotLoadsWithoutTheKeyIndexAndBuildsItAtItsEnd) {
  Open();
  ASSERT_TRUE(Indexed());  // a new table has it
  int responses = 0, unindexed = 0;
  pair_->after_response = [&] {
    responses++;
    if (!Indexed()) unindexed++;
  };
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(Count(), 50);
  EXPECT_TRUE(Indexed());
  EXPECT_EQ(unindexed, 4) << "the four responses before snapshot-end load in bulk";
  EXPECT_EQ(Query("PRAGMA integrity_check")[0][0], "ok");
  size_t keys = 0;  // a response of 10 rows names its keys, as the row-by-row path does
  for (const json& ev : pair_->TakeEvents()) {
    if (ev["type"] == "tables-changed" && ev["tables"] == json::array({"notes"})) {
      keys += ev["keys"]["notes"]["rows"].size();
    }
    EXPECT_NE(ev["type"], "error") << ev.dump();
  }
  EXPECT_EQ(keys, 50u) << "live queries hear of every loaded row by key";

  // The first changes after the snapshot find their keys.
  pair_->after_response = nullptr;
  server_.Update(json{{"id", "k3"}, {"title", "changed"}});
  server_.Delete("k4");
  server_.Insert(Note(3, "again"));  // an insert of a key it has: an upsert
  pair_->ReleaseHeld();
  pair_->Pump();
  EXPECT_EQ(Count(), 49);
  EXPECT_EQ(Query("SELECT title FROM notes WHERE id = 'k3'")[0][0], "again");
  EXPECT_EQ(Query("SELECT count(*) FROM notes WHERE id = 'k4'")[0][0], 0);
  // And a second subscriber's snapshot into the now full table keeps its key.
  EXPECT_TRUE(Indexed());
}

TEST_F(BulkLoadTest, ReopenMidSnapshotResumesAndTheOffsetMatchesTheRows) {
  Open();
  pair_->Pump(2);  // two of five snapshot responses applied, then the "crash"
  std::string offset = Offset();
  ASSERT_NE(offset, "-1");
  ASSERT_EQ(Count(), 20);
  ASSERT_FALSE(Indexed());
  Open();  // the rows and the offset that committed with them
  EXPECT_EQ(Offset(), offset);
  EXPECT_EQ(Count(), 20);
  EXPECT_EQ(Query("PRAGMA integrity_check")[0][0], "ok");
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(Count(), 50);
  EXPECT_EQ(Query("SELECT count(DISTINCT id) FROM notes")[0][0], 50);
  EXPECT_TRUE(Indexed());
  for (const json& ev : pair_->TakeEvents()) EXPECT_NE(ev["type"], "error") << ev.dump();
}

// Hand-made snapshot responses of a malformed or unusual server.
class CraftedSnapshotTest : public BulkLoadTest {
 protected:
  Status Answer(const std::string& body, const std::string& offset) {
    std::optional<Request> req = engine_->PollRequest(now_);
    EXPECT_TRUE(req.has_value());
    if (!req) return Status::Internal("no request");
    Headers h = {{"electric-handle", "h-1"}, {"electric-offset", offset},
                 {"content-type", "application/json"}, {"electric-schema", kNotesHeader}};
    return engine_->HandleResponse(now_, req->id, 200, h, body);
  }
  static json Insert(int i, const std::string& title) {
    return json{{"headers", {{"operation", "insert"}}}, {"key", "\"public\".\"notes\"/\"k" + std::to_string(i) + "\""},
                {"value", Note(i, title)}};
  }
  std::vector<json> Events() {
    std::vector<json> out;
    for (std::string e = engine_->PollEvent(); !e.empty(); e = engine_->PollEvent()) out.push_back(json::parse(e));
    return out;
  }
};

TEST_F(CraftedSnapshotTest, DuplicateKeysAreReportedAndTheLastRowOfEachKept) {
  Open();
  json body = json::array({Insert(1, "a"), Insert(2, "b"), Insert(3, "c")});
  ASSERT_TRUE(Answer(body.dump(), "0_0").ok());
  ASSERT_FALSE(Indexed());
  body = json::array({Insert(4, "d"), Insert(2, "b twice"), Insert(5, "e"), Insert(2, "b thrice"),
                      json{{"headers", {{"control", "snapshot-end"}, {"xmin", "1"}, {"xmax", "2"},
                                        {"xip_list", json::array()}}}},
                      json{{"headers", {{"control", "up-to-date"}}}}});
  Status s = Answer(body.dump(), "0_1");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(Indexed());
  EXPECT_EQ(Count(), 5);
  EXPECT_EQ(Query("SELECT title FROM notes WHERE id = 'k2'")[0][0], "b thrice");
  EXPECT_EQ(Offset(), "0_1");
  int errors = 0;
  for (const json& ev : Events()) {
    if (ev["type"] != "error") continue;
    errors++;
    EXPECT_EQ(ev["code"], "protocol");
    EXPECT_NE(ev["message"].get<std::string>().find("2 rows"), std::string::npos) << ev.dump();
  }
  EXPECT_EQ(errors, 1);
}

TEST_F(CraftedSnapshotTest, AChangeInsideTheSnapshotBuildsTheIndexBeforeItIsApplied) {
  Open();
  json update = {{"headers", {{"operation", "update"}}}, {"key", "\"public\".\"notes\"/\"k2\""},
                 {"value", {{"id", "k2"}, {"title", "b2"}}}};
  json del = {{"headers", {{"operation", "delete"}}}, {"key", "\"public\".\"notes\"/\"k1\""},
              {"value", {{"id", "k1"}}}};
  json body = json::array({Insert(1, "a"), Insert(2, "b"), update, Insert(3, "c"), del});
  ASSERT_TRUE(Answer(body.dump(), "0_0").ok());
  EXPECT_TRUE(Indexed());
  EXPECT_EQ(Query("SELECT id, title FROM notes ORDER BY id"),
            json::parse(R"([["k2","b2"],["k3","c"]])"));
}

TEST_F(CraftedSnapshotTest, AFailedResponseMidLoadRollsBackAndItsRetryGoesOn) {
  Open();
  ASSERT_TRUE(Answer(json::array({Insert(1, "a"), Insert(2, "b")}).dump(), "0_0").ok());
  ASSERT_FALSE(Indexed());
  // Rows, then the snapshot's end, then a body cut off: nothing of it stays.
  std::string cut = json::array({Insert(3, "c"), json{{"headers", {{"control", "snapshot-end"}}}}}).dump();
  cut.pop_back();
  EXPECT_FALSE(Answer(cut + ",{\"headers\":", "0_1").ok());
  EXPECT_EQ(Count(), 2);
  EXPECT_EQ(Offset(), "0_0");
  EXPECT_FALSE(Indexed()) << "the index built for snapshot-end was rolled back too";
  now_ += 120000;  // past the retry's backoff
  json body = json::array({Insert(3, "c"), Insert(1, "a again"),
                           json{{"headers", {{"operation", "delete"}}}, {"key", "\"public\".\"notes\"/\"k2\""},
                                {"value", {{"id", "k2"}}}}});
  Status s = Answer(body.dump(), "0_1");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(Indexed());
  EXPECT_EQ(Query("SELECT id, title FROM notes ORDER BY id"), json::parse(R"([["k1","a again"],["k3","c"]])"));
  int errors = 0;
  for (const json& ev : Events()) errors += ev["type"] == "error" && ev["code"] == "protocol" &&
                                            ev["message"].get<std::string>().find("key an earlier row") != std::string::npos;
  EXPECT_EQ(errors, 1) << "k1 twice in the snapshot";
}

TEST_F(BulkLoadTest, TwoShapesOnOneTableKeepTheRowByRowPath) {
  Open(/*auto_subscribe=*/false);
  json a = json::parse(engine_->Subscribe(R"({"table":"notes"})", now_));
  json b = json::parse(engine_->Subscribe(R"({"table":"notes","where":"n > 0"})", now_));
  ASSERT_TRUE(a["ok"].get<bool>()) << a.dump();
  ASSERT_TRUE(b["ok"].get<bool>()) << b.dump();
  int unindexed = 0;
  pair_->after_response = [&] { unindexed += !Indexed(); };
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(unindexed, 0);
  EXPECT_EQ(Count(), 50);
  EXPECT_EQ(Query("PRAGMA integrity_check")[0][0], "ok");
}

TEST_F(BulkLoadTest, ASecondShapeMidLoadEndsTheBulkLoad) {
  Open();
  pair_->Pump(2);
  ASSERT_FALSE(Indexed());
  json b = json::parse(engine_->Subscribe(R"({"table":"notes","where":"n > 0"})", now_));
  ASSERT_TRUE(b["ok"].get<bool>()) << b.dump();
  int unindexed = 0;
  pair_->after_response = [&] { unindexed += !Indexed(); };
  ASSERT_TRUE(pair_->SyncUntilUpToDate());
  EXPECT_EQ(unindexed, 0);
  EXPECT_EQ(Count(), 50);
  for (const json& ev : pair_->TakeEvents()) EXPECT_NE(ev["type"], "error") << ev.dump();
}

TEST_F(BulkLoadTest, AnIntegerKeyIsTheRowidAndNeedsNoIndex) {
  FakeElectric items("items", kItemsSchemaHeader);
  for (int i = 1; i <= 30; i++) items.Insert(ItemRow(i, "x"));
  items.snapshot_chunk_rows = 10;
  json opts = {{"path", path_}, {"baseUrl", "http://electric.test"}, {"schemaSql", std::string(kItemsSchemaSql)}};
  auto r = Engine::Open(opts.dump());
  ASSERT_TRUE(r.ok());
  std::unique_ptr<Engine> e = std::move(r).value();
  SyncPair pair(e.get(), &items);
  ASSERT_TRUE(pair.SyncUntilUpToDate());
  json rows = json::parse(e->Query("SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'items__synced'"
                                   " AND type = 'index'", "[]"))["rows"];
  EXPECT_EQ(rows[0][0], 0);
  EXPECT_EQ(json::parse(e->Query("SELECT count(*) FROM items", "[]"))["rows"][0][0], 30);
}

}  // namespace
}  // namespace testing
}  // namespace electrolite

// The write path through the Engine API: SQL and typed writes, upload
// requests from PollRequest/RequestBody, answers through HandleResponse and
// the txid arriving on the real shape stream (the core's fake Electric),
// transactions, status, metrics.
#include <gtest/gtest.h>

#include "fake_electric.h"

namespace electrolite {
namespace testing {
namespace {

class WriteEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json opts = {{"path", ":memory:"},
                 {"baseUrl", "http://electric.test"},
                 {"clientId", "client-a"},
                 {"schemaSql", std::string(kItemsSchemaSql)},
                 {"policies", {{"items", {{"policy", "server-wins"}, {"writable", true}}}}},
                 {"nowMs", now}};
    auto r = Engine::Open(opts.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    engine = std::move(r).value();
    electric.Insert(ItemRow(1, "one"));
    electric.Insert(ItemRow(2, "two"));
    Pump();
    Release();  // catch-up answers; the live poll is held
    ASSERT_EQ(Title(1), "one");
  }

  // The write endpoint: applies each mutation to the fake Electric table in
  // one transaction (one txid) and answers per the DESIGN.md contract.
  std::string Endpoint(const std::string& body) {
    json req = json::parse(body);
    const int64_t txid = electric.next_txid;
    json results = json::array();
    for (const json& m : req["mutations"]) {
      json value = json::object();
      for (auto it = m["value"].begin(); it != m["value"].end(); ++it) {
        const json& v = it.value();
        value[it.key()] = v.is_string() ? v : v.is_null() ? json() : json(v.dump());
      }
      value["id"] = m["key"]["id"].is_string() ? m["key"]["id"] : json(m["key"]["id"].dump());
      electric.next_txid = txid;  // every op of the request in one transaction
      if (m["op"] == "insert") electric.Insert(value);
      if (m["op"] == "update") electric.Update(value);
      if (m["op"] == "delete") electric.Delete(value["id"].get<std::string>());
      results.push_back({{"id", m["id"]}, {"status", "applied"}});
      mutations_seen.push_back(m);
    }
    electric.next_txid = txid + 1;
    return json{{"txid", std::to_string(txid)}, {"results", results}}.dump();
  }

  void Deliver(const Request& req, int status, const Headers& headers, const std::string& body) {
    Status s = engine->HandleResponse(now, req.id, status, headers, body);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (after_response) after_response();
  }

  void Pump() {
    for (int i = 0; i < 50; ++i) {
      std::optional<Request> req = engine->PollRequest(now);
      if (!req) return;
      if (req->kind == "upload") {
        uploads.push_back(*req);
        const std::string body = engine->RequestBody(req->id);
        if (hold_uploads) {
          held_uploads.push_back(*req);
          continue;
        }
        Deliver(*req, 200, {}, Endpoint(body));
        continue;
      }
      std::optional<FakeResponse> resp = electric.Handle(*req);
      if (!resp) {
        held.push_back(*req);
        continue;
      }
      Deliver(*req, resp->status, resp->headers, resp->body);
    }
  }
  void Release() {
    std::vector<Request> h;
    h.swap(held);
    for (const Request& r : h) {
      FakeResponse resp = electric.AnswerHeld(r);
      Deliver(r, resp.status, resp.headers, resp.body);
    }
    Pump();
  }

  json Query(const std::string& sql) {
    json r = json::parse(engine->Query(sql, "[]"));
    EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();
    return r;
  }
  std::string Title(int id) {
    json r = Query("SELECT title FROM items WHERE id = " + std::to_string(id));
    return r["rows"].empty() ? "<none>" : r["rows"][0][0].get<std::string>();
  }
  json Exec(const std::string& sql) { return json::parse(engine->Exec(sql, "[]")); }
  json Pending() {
    json r = json::parse(engine->PendingMutations());
    EXPECT_TRUE(r["ok"].get<bool>());
    return r["mutations"];
  }
  std::vector<json> Events() {
    std::vector<json> out;
    for (std::string e = engine->PollEvent(); !e.empty(); e = engine->PollEvent()) {
      out.push_back(json::parse(e));
    }
    return out;
  }

  int64_t now = 1000000;
  FakeElectric electric{"items", kItemsSchemaHeader};
  std::unique_ptr<Engine> engine;
  std::vector<Request> held, uploads, held_uploads;
  std::vector<json> mutations_seen;
  bool hold_uploads = false;
  std::function<void()> after_response;
};

TEST_F(WriteEngineTest, SqlUpdateUploadsAndTheEchoReplacesTheOverlayWithoutFlicker) {
  json r = Exec("UPDATE items SET title = 'local' WHERE id = 1");
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["changes"], 1);
  EXPECT_EQ(Title(1), "local");
  EXPECT_EQ(json::parse(engine->StatusJson())["pendingChanges"], 1);
  bool tables_changed = false;
  for (const json& e : Events()) tables_changed |= e["type"] == "tables-changed";
  EXPECT_TRUE(tables_changed);
  // From here on the row must never show the old title again.
  after_response = [&] { EXPECT_EQ(Title(1), "local"); };
  Pump();  // the first write after idle goes out at once
  ASSERT_EQ(uploads.size(), 1u);
  const Request& up = uploads[0];
  EXPECT_EQ(up.method, "POST");
  EXPECT_EQ(up.url, "http://electric.test/v1/changes");
  EXPECT_TRUE(up.has_body);
  ASSERT_EQ(mutations_seen.size(), 1u);
  EXPECT_EQ(mutations_seen[0]["table"], "items");
  EXPECT_EQ(mutations_seen[0]["op"], "update");
  EXPECT_EQ(mutations_seen[0]["key"], json({{"id", 1}}));
  EXPECT_EQ(mutations_seen[0]["value"], json({{"title", "local"}}));
  EXPECT_EQ(mutations_seen[0]["base"]["title"], "one");
  json pending = Pending();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0]["status"], "acked");
  EXPECT_EQ(json::parse(engine->StatusJson())["pendingChanges"], 0);
  Release();  // the live poll returns our transaction
  EXPECT_EQ(Title(1), "local");
  EXPECT_TRUE(Pending().empty());
  EXPECT_EQ(Query("SELECT count(*) FROM items__overlay")["rows"][0][0], 0);
}

TEST_F(WriteEngineTest, TypedWritesAndTheirErrors) {
  json ins = json::parse(engine->Insert("items", R"({"id":3,"title":"three","done":true})"));
  ASSERT_TRUE(ins["ok"].get<bool>()) << ins.dump();
  EXPECT_EQ(ins["mutationId"].get<std::string>().size(), 36u);
  json upd = json::parse(engine->Update("items", R"({"id":2})", R"({"priority":5})"));
  ASSERT_TRUE(upd["ok"].get<bool>()) << upd.dump();
  json del = json::parse(engine->Delete("items", R"({"id":1})"));
  ASSERT_TRUE(del["ok"].get<bool>()) << del.dump();
  EXPECT_EQ(Title(3), "three");
  EXPECT_EQ(Title(1), "<none>");
  EXPECT_EQ(Query("SELECT priority FROM items WHERE id = 2")["rows"][0][0], 5);
  EXPECT_EQ(Pending().size(), 3u);
  json same = json::parse(engine->Update("items", R"({"id":2})", R"({"priority":5})"));
  EXPECT_TRUE(same["ok"].get<bool>());
  EXPECT_TRUE(same["mutationId"].is_null());
  json bad = json::parse(engine->Insert("items", R"({"id":4,"title":7})"));
  EXPECT_EQ(bad["code"], "schema");
  bad = json::parse(engine->Insert("items", R"({"id":4})"));
  EXPECT_EQ(bad["code"], "schema");  // title NOT NULL
  bad = json::parse(engine->Update("items", R"({"id":99})", R"({"title":"x"})"));
  EXPECT_EQ(bad["code"], "not_found");
  bad = json::parse(engine->Insert("items", "not json"));
  EXPECT_EQ(bad["code"], "invalid_argument");
  bad = json::parse(engine->Exec("INSERT INTO items (id, title) VALUES (5, NULL)", "[]"));
  EXPECT_EQ(bad["code"], "schema");
  EXPECT_EQ(Pending().size(), 3u);
  // Upload all three in order, then the stream settles them.
  Pump();
  ASSERT_EQ(mutations_seen.size(), 3u);
  EXPECT_EQ(mutations_seen[0]["op"], "insert");
  EXPECT_EQ(mutations_seen[0]["value"]["done"], true);
  EXPECT_EQ(mutations_seen[2]["op"], "delete");
  Release();
  EXPECT_TRUE(Pending().empty());
  EXPECT_EQ(Title(3), "three");
  EXPECT_EQ(Title(1), "<none>");
}

TEST_F(WriteEngineTest, ReadOnlyTablesRefuseWrites) {
  json opts = {{"path", ":memory:"},
               {"schemaSql", std::string(kItemsSchemaSql)},
               {"policies", {{"items", {{"policy", "server-wins"}, {"writable", false}}}}}};
  auto r = Engine::Open(opts.dump());
  ASSERT_TRUE(r.ok());
  json res = json::parse(r.value()->Insert("items", R"({"id":3,"title":"x"})"));
  EXPECT_EQ(res["code"], "read_only");
  res = json::parse(r.value()->Exec("INSERT INTO items (id, title) VALUES (3, 'x')", "[]"));
  EXPECT_EQ(res["code"], "read_only");
}

// The write endpoint refuses a row owned by another user (403 naming the
// mutation); once the engine knows the signed-in user, it refuses such a
// typed write itself, before anything is applied or queued.
TEST_F(WriteEngineTest, WritesOfAnotherUsersRowsAreRefusedOnceTheUserIsKnown) {
  json opts = {{"path", ":memory:"},
               {"schemaSql", "CREATE TABLE notes (id TEXT PRIMARY KEY, user_id TEXT, body TEXT);"},
               {"policies", {{"notes", {{"policy", "last-write-wins"}, {"writable", true}}}}}};
  auto r = Engine::Open(opts.dump());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Engine& e = *r.value();
  // Unknown user: nothing to check against.
  EXPECT_TRUE(json::parse(e.Insert("notes", R"({"id":"n1","user_id":"a","body":"x"})"))["ok"].get<bool>());
  e.SetUserId("b");
  json res = json::parse(e.Insert("notes", R"({"id":"n2","user_id":"a","body":"x"})"));
  EXPECT_EQ(res["code"], "invalid_argument");
  EXPECT_NE(res["message"].get<std::string>().find("notes.user_id"), std::string::npos) << res.dump();
  res = json::parse(e.Update("notes", R"({"id":"n1"})", R"({"user_id":"a"})"));
  EXPECT_EQ(res["code"], "invalid_argument");
  EXPECT_TRUE(json::parse(e.Insert("notes", R"({"id":"n3","user_id":"b","body":"x"})"))["ok"].get<bool>());
  EXPECT_TRUE(json::parse(e.Insert("notes", R"({"id":"n4","body":"no owner given"})"))["ok"].get<bool>());
  EXPECT_TRUE(json::parse(e.Update("notes", R"({"id":"n1"})", R"({"body":"y"})"))["ok"].get<bool>());
  json q = json::parse(e.Query("SELECT count(*) FROM notes", "[]"));
  EXPECT_EQ(q["rows"][0][0], 3);
  json pending = json::parse(e.PendingMutations());
  EXPECT_EQ((pending.is_array() ? pending : pending["mutations"]).size(), 4u) << pending.dump();
}

TEST_F(WriteEngineTest, TransactionsCommitOrRollBackOverlayAndOutboxTogether) {
  ASSERT_TRUE(json::parse(engine->Begin())["ok"].get<bool>());
  ASSERT_TRUE(Exec("INSERT INTO items (id, title) VALUES (10, 'a')")["ok"].get<bool>());
  ASSERT_TRUE(json::parse(engine->Insert("items", R"({"id":11,"title":"b"})"))["ok"].get<bool>());
  ASSERT_TRUE(json::parse(engine->Rollback())["ok"].get<bool>());
  EXPECT_TRUE(Pending().empty());
  EXPECT_EQ(Title(10), "<none>");
  ASSERT_TRUE(json::parse(engine->Begin())["ok"].get<bool>());
  ASSERT_TRUE(Exec("INSERT INTO items (id, title) VALUES (10, 'a')")["ok"].get<bool>());
  Pump();
  EXPECT_TRUE(uploads.empty());  // nothing leaves while the transaction is open
  ASSERT_TRUE(json::parse(engine->Commit())["ok"].get<bool>());
  EXPECT_EQ(Pending().size(), 1u);
  Pump();
  EXPECT_EQ(uploads.size(), 1u);
}

TEST_F(WriteEngineTest, ExecCanOpenAndCloseATransaction) {
  ASSERT_TRUE(Exec("BEGIN")["ok"].get<bool>());
  json r = Exec("UPDATE items SET title = 'in tx' WHERE id = 2");
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  ASSERT_TRUE(Exec("COMMIT")["ok"].get<bool>());
  EXPECT_EQ(Title(2), "in tx");
  EXPECT_EQ(Pending().size(), 1u);
}

TEST_F(WriteEngineTest, AuthErrorShowsInStatusUntilSetToken) {
  hold_uploads = true;
  ASSERT_TRUE(json::parse(engine->Insert("items", R"({"id":3,"title":"x"})"))["ok"].get<bool>());
  Pump();
  ASSERT_EQ(held_uploads.size(), 1u);
  EXPECT_EQ(engine->PollTimeout(), now + 30000);
  Status s = engine->HandleResponse(now, held_uploads[0].id, 401, Headers{},
                                    R"({"message":"expired"})");
  EXPECT_EQ(s.code(), Code::kAuth);
  json st = json::parse(engine->StatusJson());
  EXPECT_EQ(st["error"]["code"], "auth");
  EXPECT_EQ(st["pendingChanges"], 1);
  now += 600000;
  Pump();
  EXPECT_EQ(held_uploads.size(), 1u);  // stopped
  engine->SetToken("fresh", now);
  EXPECT_TRUE(json::parse(engine->StatusJson())["error"].is_null());
  hold_uploads = false;
  Pump();
  ASSERT_EQ(uploads.size(), 2u);
  bool bearer = false;
  for (const auto& [k, v] : uploads[1].headers) bearer |= k == "authorization" && v == "Bearer fresh";
  EXPECT_TRUE(bearer);
  json m = json::parse(engine->Metrics(now));
  EXPECT_EQ(m["upload"]["authErrors"], 1);
  EXPECT_EQ(m["upload"]["batches"], 2);
}

// db.discardMutation + db.syncNow must unblock uploads stopped by a 401
// even without a new token: SyncNow lifts the stop for one more try.
TEST_F(WriteEngineTest, SyncNowLiftsAnUploadAuthStopAndItsStatusError) {
  hold_uploads = true;
  ASSERT_TRUE(json::parse(engine->Insert("items", R"({"id":3,"title":"x"})"))["ok"].get<bool>());
  Pump();
  ASSERT_EQ(held_uploads.size(), 1u);
  ASSERT_EQ(engine->HandleResponse(now, held_uploads[0].id, 401, Headers{}, R"({"message":"expired"})").code(),
            Code::kAuth);
  ASSERT_EQ(json::parse(engine->StatusJson())["error"]["code"], "auth");
  std::string id = Pending()[0]["id"].get<std::string>();
  ASSERT_TRUE(json::parse(engine->DiscardMutation(id))["ok"].get<bool>());
  ASSERT_TRUE(json::parse(engine->Insert("items", R"({"id":4,"title":"y"})"))["ok"].get<bool>());
  engine->SyncNow(now);
  bool cleared = false;
  for (std::string e = engine->PollEvent(); !e.empty(); e = engine->PollEvent()) {
    json ev = json::parse(e);
    if (ev["type"] == "status") cleared = ev["error"].is_null();
  }
  EXPECT_TRUE(cleared);
  hold_uploads = false;
  Pump();
  ASSERT_EQ(uploads.size(), 2u);  // the refused one, then the one left after the discard
  ASSERT_EQ(mutations_seen.size(), 1u);
  EXPECT_EQ(mutations_seen.back()["key"]["id"], 4);
}

TEST_F(WriteEngineTest, OverlayAndOutboxSurviveARestart) {
  const std::string path = ::testing::TempDir() + "el_write_engine_restart.db";
  std::remove(path.c_str());
  json opts = {{"path", path},
               {"baseUrl", "http://electric.test"},
               {"schemaSql", std::string(kItemsSchemaSql)},
               {"policies", {{"items", {{"policy", "server-wins"}, {"writable", true}}}}}};
  {
    auto r = Engine::Open(opts.dump());
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(json::parse(r.value()->Insert("items", R"({"id":7,"title":"offline"})"))["ok"]
                    .get<bool>());
    r.value()->SetOnline(false, now);
    EXPECT_FALSE(r.value()->PollRequest(now).has_value());
  }
  auto r = Engine::Open(opts.dump());
  ASSERT_TRUE(r.ok());
  json q = json::parse(r.value()->Query("SELECT title FROM items WHERE id = 7", "[]"));
  EXPECT_EQ(q["rows"][0][0], "offline");
  json p = json::parse(r.value()->PendingMutations());
  ASSERT_EQ(p["mutations"].size(), 1u);
  bool upload = false;
  for (int i = 0; i < 5; ++i) {
    std::optional<Request> req = r.value()->PollRequest(now);
    if (req && req->kind == "upload") upload = true;
  }
  EXPECT_TRUE(upload);
  r.value().reset();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace testing
}  // namespace electrolite

// On-demand sync against recorded wire data: the engine replays the dev server's answers to a
// `log=changes_only` shape on `tasks` and one subset (tests/fixtures/subset-wire.json, made by
// tests/fixtures/record-subset-wire.mjs against a real PostgreSQL): real xid8 snapshot metadata
// and 32-bit txids. A write the snapshot saw arrives on the stream after it and is dropped;
// later writes apply; an update of a row no subset loaded is skipped; the insert and the delete
// apply; the local rows end as PostgreSQL's for what was loaded.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "engine.h"
#include "json_test_util.h"

namespace electrolite {
namespace {

using json = Json;

constexpr char kTasksSql[] =
    "CREATE TABLE tasks (id uuid PRIMARY KEY, user_id text NOT NULL, title text NOT NULL,"
    " description text, status text NOT NULL DEFAULT 'pending', priority integer NOT NULL DEFAULT 0,"
    " environment_id uuid, created_at timestamptz NOT NULL DEFAULT now(),"
    " updated_at timestamptz NOT NULL DEFAULT now());";

const json& Wire() {
  static const json wire = [] {
    std::ifstream in(std::string(EL_SOURCE_DIR) + "/tests/fixtures/subset-wire.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
  }();
  return wire;
}

Headers HeadersOf(const json& step) {
  Headers h;
  for (auto it = step["headers"].begin(); it != step["headers"].end(); ++it) {
    h.emplace_back(it.key(), it.value().get<std::string>());
  }
  return h;
}

TEST(SubsetWireTest, RecordedSubsetThenStream) {
  const json& wire = Wire();
  ASSERT_TRUE(wire.is_object());
  const json& ids = wire["ids"];
  int64_t now = 1000000;
  json opts = {{"path", ":memory:"}, {"baseUrl", "http://electric.test"}, {"schemaSql", std::string(kTasksSql)},
               {"nowMs", now}, {"autoSubscribe", false}};
  auto opened = Engine::Open(opts.dump());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Engine> engine = std::move(opened).value();
  ASSERT_TRUE(json::parse(engine->Subscribe(R"({"id":"od","table":"tasks","log":"changes_only"})", now))["ok"].get<bool>());

  std::optional<Request> shape_req, subset_req;
  auto poll = [&] {
    for (int i = 0; i < 20; i++) {
      std::optional<Request> r = engine->PollRequest(now);
      if (!r) return;
      (r->kind == "subset" ? subset_req : shape_req) = r;
    }
  };
  std::vector<int64_t> applied_rows;  // per shape response (sync events)
  auto serve = [&](const json& step) {
    poll();
    std::optional<Request>& req = step["kind"] == "subset" ? subset_req : shape_req;
    ASSERT_TRUE(req.has_value()) << "no request for " << step["label"].dump();
    Request r = *req;
    req.reset();
    Status s = engine->HandleResponse(now, r.id, step["status"].get<int>(), HeadersOf(step), step["body"].dump());
    ASSERT_TRUE(s.ok()) << step["label"].dump() << ": " << s.ToString();
    for (std::string ev = engine->PollEvent(); !ev.empty(); ev = engine->PollEvent()) {
      json e = json::parse(ev);
      if (e["type"] == "sync") applied_rows.push_back(e["rows"].get<int64_t>());
    }
    now += 10;
  };
  auto titles = [&] {
    json r = json::parse(engine->Query("SELECT id, title FROM tasks", "[]"));
    std::map<std::string, std::string> out;
    for (const json& row : r["rows"]) out[row[0].get<std::string>()] = row[1].get<std::string>();
    return out;
  };

  for (const json& step : wire["steps"]) {
    if (step["kind"] == "subset") {
      const json& body = step["request"];
      json subset = {{"where", body["where"]}, {"params", {body["params"]["1"]}}, {"orderBy", body["order_by"]},
                     {"limit", body["limit"]}};
      ASSERT_TRUE(json::parse(engine->LoadSubset("od", subset.dump(), now))["ok"].get<bool>());
      poll();
      ASSERT_TRUE(subset_req.has_value());
      EXPECT_EQ(subset_req->method, "POST");
      EXPECT_EQ(json::parse(engine->RequestBody(subset_req->id)), body);
    }
    if (step["label"] == "start") {
      poll();
      ASSERT_TRUE(shape_req.has_value());
      EXPECT_NE(shape_req->url.find("log=changes_only"), std::string::npos);
    }
    serve(step);
    if (step["label"] == "catch-up") EXPECT_TRUE(titles().empty()) << "changes_only: nothing before a subset";
    if (step["kind"] == "subset") {
      EXPECT_EQ(titles(), (std::map<std::string, std::string>{{ids["p1"].get<std::string>(), "p1 seen by the snapshot"},
                                                              {ids["p2"].get<std::string>(), "task 2"},
                                                              {ids["p3"].get<std::string>(), "task 3"}}));
    }
  }
  // Responses: start, catch-up, then the changes: the first holds only the write the snapshot
  // saw (dropped: 0 rows applied); the rest apply the insert, the update of p2 and the delete
  // (the update of p5, never loaded, is skipped).
  ASSERT_GE(applied_rows.size(), 3u);
  EXPECT_EQ(applied_rows[2], 0);
  int64_t later = 0;
  for (size_t i = 3; i < applied_rows.size(); i++) later += applied_rows[i];
  EXPECT_EQ(later, 3);
  std::map<std::string, std::string> want;
  for (const json& row : wire["final"]) {
    const std::string id = row["id"].get<std::string>();
    if (id == ids["p1"] || id == ids["p2"] || id == ids["p7"]) want[id] = row["title"].get<std::string>();
  }
  EXPECT_EQ(titles(), want);
  json active = json::parse(engine->Query("SELECT snapshot_active FROM _el_subsets", "[]"));
  EXPECT_EQ(active["rows"][0][0], 0) << "the up-to-date past database_lsn retired the snapshot";
}

}  // namespace
}  // namespace electrolite

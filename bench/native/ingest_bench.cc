// Native ingest benchmark (not a test): a generated Electric shape log of
// 100,000 `tasks` rows (realistic values, ~440 bytes of JSON per row) in
// responses of 1,000 messages, ingested through the engine's sans-IO loop,
// next to raw SQLite prepared INSERTs of the same rows into the same table
// (one transaction per 1,000 rows). Prints rows/s and the ratio.
//
//   build/native/bench/native/ingest_bench [rows] [rows_per_response]
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine.h"

namespace {

using Clock = std::chrono::steady_clock;

uint64_t g_rng = 0x243f6a8885a308d3ULL;
uint64_t Next() {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}

std::string Uuid() {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  uint64_t a = Next(), b = Next();
  for (int i = 0; i < 32; i++) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    uint64_t w = i < 16 ? a : b;
    s += kHex[(w >> ((i % 16) * 4)) & 15];
  }
  s[14] = '4';
  return s;
}

std::string Words(int n) {
  static const char* kWords[] = {"deploy", "agent", "pipeline", "refactor", "database", "sync",
                                 "review", "schema", "latency", "cache", "worker", "retry",
                                 "metrics", "index", "migration", "offline", "conflict", "batch"};
  std::string s;
  for (int i = 0; i < n; i++) {
    if (i > 0) s += ' ';
    s += kWords[Next() % 18];
  }
  return s;
}

std::string Timestamp() {
  char buf[64];
  uint64_t r = Next();
  std::snprintf(buf, sizeof buf, "2025-%02d-%02d %02d:%02d:%02d.%06d+00", int(r % 12 + 1),
                int((r >> 8) % 28 + 1), int((r >> 16) % 24), int((r >> 24) % 60),
                int((r >> 32) % 60), int((r >> 40) % 1000000));
  return buf;
}

struct Row {
  std::string id, user_id, title, description, status, priority, environment_id, created_at,
      updated_at;
};

std::string Esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string MessageJson(const Row& r) {
  return "{\"key\":\"\\\"public\\\".\\\"tasks\\\"/\\\"" + r.id + "\\\"\",\"value\":{\"id\":\"" + r.id +
         "\",\"user_id\":\"" + r.user_id + "\",\"title\":\"" + Esc(r.title) +
         "\",\"description\":\"" + Esc(r.description) + "\",\"status\":\"" + r.status +
         "\",\"priority\":\"" + r.priority + "\",\"environment_id\":\"" + r.environment_id +
         "\",\"created_at\":\"" + r.created_at + "\",\"updated_at\":\"" + r.updated_at +
         "\"},\"headers\":{\"operation\":\"insert\",\"relation\":[\"public\",\"tasks\"]}}";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

class BenchEnv : public electrolite::Env {
 public:
  uint64_t RandomU64() override { return Next(); }
};

}  // namespace

int main(int argc, char** argv) {
  int rows = argc > 1 ? std::atoi(argv[1]) : 100000;
  int per = argc > 2 ? std::atoi(argv[2]) : 1000;
  static const char* kStatus[] = {"pending", "in_progress", "completed", "failed", "cancelled"};
  std::vector<Row> data(rows);
  std::string user = "user_" + Uuid().substr(0, 8);
  for (Row& r : data) {
    r.id = Uuid();
    r.user_id = user;
    r.title = Words(6);
    r.description = Words(9);
    r.status = kStatus[Next() % 5];
    r.priority = std::to_string(Next() % 10);
    r.environment_id = Uuid();
    r.created_at = Timestamp();
    r.updated_at = Timestamp();
  }
  std::vector<std::string> bodies;
  size_t total_bytes = 0;
  for (int i = 0; i < rows; i += per) {
    std::string body = "[";
    for (int j = i; j < std::min(rows, i + per); j++) {
      if (j > i) body += ',';
      body += MessageJson(data[j]);
    }
    if (i + per >= rows) {
      body += ",{\"headers\":{\"control\":\"snapshot-end\",\"xmin\":\"1\",\"xmax\":\"2\",\"xip_list\":[]}}";
    }
    body += "]";
    total_bytes += body.size();
    bodies.push_back(std::move(body));
  }
  bodies.push_back("[{\"headers\":{\"control\":\"up-to-date\",\"global_last_seen_lsn\":\"1\"}}]");
  std::string schema_sql = ReadFile(std::string(EL_SOURCE_DIR) + "/schema/schema.sql");
  std::string schema_header =
      R"({"id":{"type":"uuid","pk_index":0,"not_null":true},"user_id":{"type":"text","not_null":true},)"
      R"("title":{"type":"text","not_null":true},"description":{"type":"text"},"status":{"type":"text","not_null":true},)"
      R"("priority":{"type":"int4","not_null":true},"environment_id":{"type":"uuid"},)"
      R"("created_at":{"type":"timestamptz","not_null":true},"updated_at":{"type":"timestamptz","not_null":true}})";

  // ---- engine ingest ----
  BenchEnv env;
  std::string opts = "{\"baseUrl\":\"http://bench\",\"autoSubscribe\":false,\"schemaSql\":";
  electrolite::AppendJsonString(&opts, schema_sql);
  opts += "}";
  auto opened = electrolite::Engine::Open(opts, &env);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  auto& engine = *opened.value();
  std::string sub = engine.Subscribe(R"({"table":"tasks"})");
  auto t0 = Clock::now();
  int64_t now = 0;
  for (size_t i = 0; i < bodies.size(); i++) {
    auto req = engine.PollRequest(now);
    if (!req) {
      std::fprintf(stderr, "no request at response %zu\n", i);
      return 1;
    }
    electrolite::Headers h = {{"electric-handle", "bench-1"},
                              {"electric-offset", "0_" + std::to_string(i)},
                              {"electric-schema", schema_header}};
    electrolite::Status s = engine.HandleResponse(now, req->id, 200, h, bodies[i]);
    if (!s.ok()) {
      std::fprintf(stderr, "response %zu: %s\n", i, s.ToString().c_str());
      return 1;
    }
    while (!engine.PollEvent().empty()) {
    }
  }
  auto t1 = Clock::now();
  std::string count = engine.Query("SELECT count(*) FROM tasks", "");
  double engine_s = Seconds(t0, t1);

  // ---- raw SQLite prepared inserts of the same rows ----
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_exec(db,
               "CREATE TABLE tasks (id TEXT NOT NULL, user_id TEXT, title TEXT, description TEXT, "
               "status TEXT, priority INTEGER, environment_id TEXT, created_at TEXT, updated_at TEXT, "
               "PRIMARY KEY (id))",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO tasks VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1, &ins,
                     nullptr);
  auto t2 = Clock::now();
  for (int i = 0; i < rows; i += per) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int j = i; j < std::min(rows, i + per); j++) {
      const Row& r = data[j];
      sqlite3_bind_text(ins, 1, r.id.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 2, r.user_id.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 3, r.title.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 4, r.description.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 5, r.status.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(ins, 6, std::atoll(r.priority.c_str()));
      sqlite3_bind_text(ins, 7, r.environment_id.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 8, r.created_at.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 9, r.updated_at.c_str(), -1, SQLITE_STATIC);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  auto t3 = Clock::now();
  sqlite3_finalize(ins);
  sqlite3_close(db);
  double raw_s = Seconds(t2, t3);

  double engine_rate = rows / engine_s, raw_rate = rows / raw_s;
  std::printf("shape log: %d rows, %zu responses, %.1f MB JSON (%.0f bytes/row)\n", rows,
              bodies.size(), total_bytes / 1e6, double(total_bytes) / rows);
  std::printf("engine ingest (native): %.0f rows/s  (%.3f s)  %s\n", engine_rate, engine_s,
              count.c_str());
  std::printf("raw SQLite prepared INSERT (native): %.0f rows/s  (%.3f s)\n", raw_rate, raw_s);
  std::printf("ratio engine/raw: %.2f\n", engine_rate / raw_rate);
  return 0;
}

// Native open benchmark (not a test): Engine::Open with the shipped default
// schema (schema/schema.sql + schema/policies.json, as the JS client passes
// them), then the first query, on
//
//   memory  a fresh in-memory database (Node's cold start)
//   first   a new database file (WAL, synchronous=FULL, like OPFS)
//   reopen  a file that an earlier open created and filled with 2,000 tasks
//           (a cold page on a persisted database)
//   existing  the file given as third argument, as it is
//   image     a fresh in-memory database from the default schema's image, the file given
//             as third argument (gunzipped dist/wasm/electrolite.schema.db.gz): Node's cold
//             start as the client does it
//
// Prints the median wall time of `iterations` opens. For instruction counts
// only the open + first query is collected:
//
//   valgrind --tool=callgrind --toggle-collect='*TimedOpen*' \
//       build/native/bench/native/open_bench reopen 1
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>
#include <algorithm>

#include "engine.h"

namespace {

using Clock = std::chrono::steady_clock;

class BenchEnv : public electrolite::Env {
 public:
  uint64_t RandomU64() override {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return rng_;
  }

 private:
  uint64_t rng_ = 0x243f6a8885a308d3ULL;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Options(const std::string& path, bool file) {
  std::string schema_sql = ReadFile(std::string(EL_SOURCE_DIR) + "/schema/schema.sql");
  std::string policies = ReadFile(std::string(EL_SOURCE_DIR) + "/schema/policies.json");
  std::string opts = "{\"baseUrl\":\"http://bench\",\"clientId\":\"bench\",\"nowMs\":1700000000000,"
                     "\"autoSubscribe\":true,\"path\":";
  electrolite::AppendJsonString(&opts, path);
  if (file) opts += ",\"synchronous\":\"full\"";
  opts += ",\"schemaSql\":";
  electrolite::AppendJsonString(&opts, schema_sql);
  opts += ",\"policies\":" + policies + "}";
  return opts;
}

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) unlink((path + suffix).c_str());
}

// Fills `tasks` through the write path (rows land in the overlay and outbox),
// so a reopen finds a database with data, pending writes and its schema.
bool Fill(const std::string& opts, int rows) {
  BenchEnv env;
  auto opened = electrolite::Engine::Open(opts, &env);
  if (!opened.ok()) {
    std::fprintf(stderr, "fill open: %s\n", opened.status().ToString().c_str());
    return false;
  }
  electrolite::Engine& e = *opened.value();
  std::string r = e.Exec("BEGIN", "", 0);
  for (int i = 0; i < rows; i++) {
    char row[256];
    std::snprintf(row, sizeof row,
                  "{\"id\":\"%08x-0000-4000-8000-000000000000\",\"user_id\":\"u\",\"title\":\"task %d\","
                  "\"status\":\"pending\",\"priority\":%d}",
                  i, i, i % 5);
    r = e.Insert("tasks", row, 1700000000000 + i);
    if (r.rfind("{\"ok\":true", 0) != 0) {
      std::fprintf(stderr, "fill insert: %s\n", r.c_str());
      return false;
    }
  }
  e.Exec("COMMIT", "", 0);
  return true;
}

struct Times {
  double open_ms;
  double query_ms;
};

__attribute__((noinline)) Times TimedOpen(const std::string& opts, const std::string& image) {
  BenchEnv env;
  auto t0 = Clock::now();
  auto options = electrolite::EngineOptions::FromJson(opts);
  if (!options.ok()) {
    std::fprintf(stderr, "options: %s\n", options.status().ToString().c_str());
    std::exit(1);
  }
  options.value().schema_image = image;
  auto opened = electrolite::Engine::Open(options.value(), &env);
  auto t1 = Clock::now();
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    std::exit(1);
  }
  std::string q = opened.value()->Query("SELECT count(*) AS n FROM tasks", "");
  auto t2 = Clock::now();
  if (q.rfind("{\"ok\":true", 0) != 0) {
    std::fprintf(stderr, "query: %s\n", q.c_str());
    std::exit(1);
  }
  std::chrono::duration<double, std::milli> open = t1 - t0, query = t2 - t1;
  return {open.count(), query.count()};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "reopen";
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 20;
  const bool with_path = mode == "existing" || mode == "image";
  if (mode != "memory" && mode != "first" && mode != "reopen" && (!with_path || argc < 4)) {
    std::fprintf(stderr, "usage: open_bench memory|first|reopen [iterations [path]] | existing|image iterations path\n");
    return 2;
  }
  // A third argument keeps the database file there (to inspect it afterwards).
  const bool keep = argc > 3 && mode != "image";
  const std::string image = mode == "image" ? ReadFile(argv[3]) : "";
  const std::string path = mode == "memory" || mode == "image" ? ":memory:"
                           : keep           ? std::string(argv[3])
                                            : "/tmp/open_bench_" + std::to_string(getpid()) + ".db";
  const std::string opts = Options(path, mode != "memory" && mode != "image");
  if (mode == "reopen") {
    RemoveDb(path);
    if (!Fill(opts, 2000)) return 1;
  }
  std::vector<double> opens, queries;
  for (int i = 0; i < iterations; i++) {
    if (mode == "first") RemoveDb(path);
    Times t = TimedOpen(opts, image);
    opens.push_back(t.open_ms);
    queries.push_back(t.query_ms);
  }
  if (path != ":memory:" && !keep) RemoveDb(path);
  std::printf("%s: open %.3f ms, first query %.3f ms (median of %d)\n", mode.c_str(), Median(opens),
              Median(queries), iterations);
  return 0;
}

// Native local-write benchmark (not a test): the cost of one db.insert / db.update of a
// `tasks` row through the engine (row + overlay + outbox in one transaction), with the
// demo schema, in memory, so the figure is the engine's and SQLite's own work without a
// VFS. Under callgrind only the write loops are counted:
//
//   build/native/bench/native/write_bench [writes] [inserts] [file.db]
//   valgrind --tool=callgrind --instr-atstart=no build/native/bench/native/write_bench 1000
//
// ("Collected" / (2 x writes) is the figure per write: `writes` inserts, then as many
// updates; with `inserts`, only the inserts are run and "Collected" / writes is the figure.
// With a file (created anew), the database is on disk in WAL with synchronous FULL, as a
// persistent open is in the browser: the WAL frames and their checksums are counted, which the
// in-memory database's rollback journal replaces. The fsyncs are system calls: not counted.)
// --collect-atstart=no would collect nothing: the loops toggle instrumentation.)
#include <valgrind/callgrind.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "engine.h"

namespace {

using Clock = std::chrono::steady_clock;

class BenchEnv : public electrolite::Env {
 public:
  uint64_t RandomU64() override { return state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL; }

 private:
  uint64_t state_ = 42;
};

std::string Id(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", i);
  return buf;
}

std::string ReadFile(const char* relative) {
  std::ifstream in(std::string(EL_SOURCE_DIR) + relative);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Ok(const std::string& reply) { return reply.find("\"ok\":true") != std::string::npos; }

}  // namespace

int main(int argc, char** argv) {
  const int writes = argc > 1 ? std::atoi(argv[1]) : 2000;
  const bool updates = !(argc > 2 && std::string(argv[2]) == "inserts");
  const std::string file = argc > 3 ? argv[3] : "";
  std::string opts = "{\"baseUrl\":\"http://bench\",\"autoSubscribe\":false,\"schemaSql\":";
  electrolite::AppendJsonString(&opts, ReadFile("/schema/schema.sql"));
  opts += ",\"policies\":" + ReadFile("/schema/policies.json");
  if (!file.empty()) {
    for (const char* suffix : {"", "-wal", "-journal"}) std::remove((file + suffix).c_str());
    opts += ",\"synchronous\":\"full\",\"path\":";
    electrolite::AppendJsonString(&opts, file);
  }
  opts += "}";
  BenchEnv env;
  auto opened = electrolite::Engine::Open(opts, &env);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  electrolite::Engine& engine = *opened.value();
  int64_t now = 1767225600000;  // 2026-01-01

  CALLGRIND_START_INSTRUMENTATION;
  auto t0 = Clock::now();
  for (int i = 0; i < writes; i++) {
    std::string row = "{\"id\":\"" + Id(i) + "\",\"user_id\":\"u1\",\"title\":\"Write the docs " +
                      std::to_string(i) + "\",\"description\":\"a local task\",\"status\":\"pending\"," +
                      "\"priority\":" + std::to_string(i % 10) + "}";
    const std::string reply = engine.Insert("tasks", row, ++now);
    if (!Ok(reply)) {
      std::fprintf(stderr, "insert %d failed: %s\n", i, reply.c_str());
      return 1;
    }
  }
  auto t1 = Clock::now();
  for (int i = 0; updates && i < writes; i++) {
    std::string key = "{\"id\":\"" + Id(i) + "\"}";
    const std::string reply = engine.Update("tasks", key, "{\"status\":\"completed\"}", ++now);
    if (!Ok(reply)) {
      std::fprintf(stderr, "update %d failed: %s\n", i, reply.c_str());
      return 1;
    }
  }
  auto t2 = Clock::now();
  CALLGRIND_STOP_INSTRUMENTATION;
  auto us = [&](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::micro>(b - a).count() / writes;
  };
  std::printf("%d inserts: %.1f us each; %d updates: %.1f us each\n", writes, us(t0, t1), writes,
              us(t1, t2));
  return 0;
}

// A fake Electric server for engine tests: one table, a snapshot (optionally
// chunked) and a change log with real-looking offsets, handles, cursors and
// headers (protocol notes §1-§3), plus scripted overrides for error cases.
// Driven with simulated time by SyncPair.
#ifndef ELECTROLITE_TESTS_NATIVE_FAKE_ELECTRIC_H_
#define ELECTROLITE_TESTS_NATIVE_FAKE_ELECTRIC_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine.h"
#include "json_test_util.h"

namespace electrolite {
namespace testing {

using json = Json;

struct FakeResponse {
  int status = 200;
  Headers headers;
  std::string body;
};

struct ParsedUrl {
  std::string path;
  std::map<std::string, std::string> query;
  std::string raw_query;
};
ParsedUrl ParseUrl(const std::string& url);

class FakeElectric {
 public:
  FakeElectric(std::string table, std::string schema_json);

  // Data changes, each its own transaction (one log entry per op).
  void Insert(const json& row);
  void Update(const json& pk_and_changed);  // replica=default value
  void Delete(const std::string& id);
  void ChangePk(const std::string& old_id, const json& new_row);
  // Starts a new shape incarnation: requests with the old handle get 409.
  void Rotate();
  void SetSchema(std::string schema_json) { schema_ = std::move(schema_json); }

  // nullopt: a live request with nothing to send (held by the harness).
  std::optional<FakeResponse> Handle(const Request& req);
  // Answer for a held live request once the hold times out or data arrived.
  FakeResponse AnswerHeld(const Request& req);

  std::deque<FakeResponse> overrides;  // served first, one per request
  // Asked next (held live requests too): an answer for this request, or nullopt.
  std::function<std::optional<FakeResponse>(const ParsedUrl&)> intercept;
  std::vector<std::string> urls;
  size_t snapshot_chunk_rows = 0;  // 0 = whole snapshot in the -1 response
  // Electric's 400 for an offset past the end of the log (protocol notes
  // §2.1a), answered at once instead of after half a long-poll.
  bool check_offset_bounds = false;
  int64_t next_txid = 700;
  const std::string& handle() const { return handle_; }
  const std::map<std::string, json>& rows() const { return rows_; }

 private:
  struct Entry {
    int64_t lsn;
    int op;
    json message;
    std::string Offset() const { return std::to_string(lsn) + "_" + std::to_string(op); }
  };
  json Change(const char* op, const json& value, int64_t lsn, int64_t txid, bool last) const;
  FakeResponse Log(const ParsedUrl& url, bool live, bool allow_empty, bool* has_data);
  std::optional<FakeResponse> OutOfBounds(const ParsedUrl& url) const;
  Headers BaseHeaders(const std::string& offset, bool live) const;

  std::string table_;
  std::string schema_;
  std::string handle_;
  int incarnation_ = 1;
  std::map<std::string, json> rows_;
  std::vector<Entry> log_;
  int64_t lsn_ = 1000;
  int64_t cursor_ = 100;
  // Snapshot of the current incarnation.
  std::vector<std::vector<json>> chunks_;
  size_t snapshot_log_pos_ = 0;
  bool snapshot_taken_ = false;
};

// Engine + server driven with simulated time until idle (quinn's Pair).
class SyncPair {
 public:
  SyncPair(Engine* engine, FakeElectric* server) : engine_(engine), server_(server) {}

  // Sends every request the engine wants now; held live requests wait.
  void Pump(int max_requests = 200);
  // Moves time forward (firing timeouts and releasing held live requests
  // whose 20 s hold expired), pumping at each deadline on the way.
  void Advance(int64_t ms);
  // Answers held live requests (after the test changed server data).
  void ReleaseHeld();
  // Runs until every shape is up to date or `max_ms` passes.
  bool SyncUntilUpToDate(int64_t max_ms = 120000);
  std::vector<json> TakeEvents();

  int64_t now = 1000000;
  int requests_sent = 0;
  // Upload requests (the write endpoint is not this server's): kept, unanswered.
  std::vector<Request> uploads;
  std::vector<Status> handle_results;
  // Called after every HandleResponse (e.g. to check invariants).
  std::function<void()> after_response;

 private:
  struct Held {
    Request req;
    int64_t since;
  };
  void Deliver(const Request& req, const FakeResponse& resp);
  Engine* engine_;
  FakeElectric* server_;
  std::vector<Held> held_;
  std::vector<json> events_;
};

// The default test table: items(id int8 pk, title text not null, priority int4, done bool).
extern const char kItemsSchemaSql[];
extern const char kItemsSchemaHeader[];
json ItemRow(int id, const std::string& title, int priority = 1, bool done = false);

}  // namespace testing
}  // namespace electrolite

#endif  // ELECTROLITE_TESTS_NATIVE_FAKE_ELECTRIC_H_

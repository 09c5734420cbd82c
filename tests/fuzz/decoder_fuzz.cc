// libFuzzer target for the shape response decoder: the body is fed through
// MessageDecoder (whole, then in two pieces split at a fuzzer-chosen byte),
// and the whole response is applied through a real engine (in-memory SQLite)
// with fuzzer-chosen status/headers. Both splits must agree; nothing may crash.
// The body is also parsed as a JsonValue (the engine's JSON document type):
// whatever parses must dump to a text that parses back equal and dumps the same.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine.h"
#include "json_value.h"
#include "message_decoder.h"

namespace {

using electrolite::Code;
using electrolite::MessageDecoder;
using electrolite::MessageSink;
using electrolite::ShapeMessage;
using electrolite::Status;

// Counts messages and hashes everything decoded (FNV-1a), so the whole-body
// and split runs must agree byte for byte, not only in length.
class Counter : public MessageSink {
 public:
  Status OnMessage(const ShapeMessage& m, int64_t) override {
    Mix(static_cast<int>(m.kind));
    Mix(static_cast<int>(m.op));
    Mix(m.key);
    for (const auto* cols : {&m.value, &m.old_value}) {
      for (const auto& c : *cols) {
        bytes += c.name.size() + c.text.size();
        Mix(c.name);
        Mix(c.is_null ? 1 : 0);
        Mix(c.text);
      }
      Mix(-1);
    }
    for (std::string_view s : {m.control, m.lsn, m.key_change_to, m.key_change_from, m.xmin,
                               m.xmax, m.global_last_seen_lsn}) {
      Mix(s);
    }
    for (auto x : m.xip_list) Mix(x);
    for (auto t : m.txids) Mix(static_cast<int>(t));
    Mix(m.last ? 1 : 0);
    count++;
    return Status::Ok();
  }
  void Mix(std::string_view s) {
    Mix(static_cast<int>(s.size()));
    for (char c : s) hash = (hash ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  }
  void Mix(int v) { hash = (hash ^ static_cast<uint64_t>(static_cast<uint32_t>(v))) * 1099511628211ULL; }
  int64_t count = 0;
  size_t bytes = 0;
  uint64_t hash = 14695981039346656037ULL;
};

Status Decode(const std::string& body, size_t cut, Counter* c) {
  MessageDecoder dec(c);
  std::string a = body.substr(0, cut), b = body.substr(cut);
  Status s = dec.Feed(a);
  if (s.ok()) s = dec.Feed(b);
  if (s.ok()) s = dec.Finish();
  return s;
}

class FixedEnv : public electrolite::Env {
 public:
  uint64_t RandomU64() override { return ++n; }
  uint64_t n = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t cut = body.empty() ? 0 : data[0] % (body.size() + 1);
  Counter whole, split;
  Status s1 = Decode(body, body.size(), &whole);
  Status s2 = Decode(body, cut, &split);
  if (s1.ok() != s2.ok() || whole.count != split.count || whole.bytes != split.bytes ||
      whole.hash != split.hash) {
    abort();
  }

  electrolite::JsonValue doc = electrolite::JsonValue::parse(body);
  if (!doc.is_discarded()) {
    const std::string text = doc.dump();
    electrolite::JsonValue again = electrolite::JsonValue::parse(text);
    if (again.is_discarded() || again != doc || again.dump() != text) abort();
  }

  // Through the engine: snapshot response for a declared table.
  static FixedEnv env;
  static std::unique_ptr<electrolite::Engine> engine;
  if (!engine) {
    auto r = electrolite::Engine::Open(
        R"({"baseUrl":"http://f","schemaSql":"CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL, tags text[], done boolean, at timestamptz, x float8);"})",
        &env);
    if (!r.ok()) abort();
    engine = std::move(r).value();
  }
  auto req = engine->PollRequest(0);
  if (!req) {
    // Error state or backing off: start over with a fresh engine next time.
    engine.reset();
    return 0;
  }
  electrolite::Headers h = {
      {"electric-handle", "h-1"},
      {"electric-offset", (data[0] & 1) ? "0_0" : "10_2"},
      {"electric-cursor", "5"},
      {"electric-schema",
       R"({"id":{"type":"int8","pk_index":0},"title":{"type":"text","not_null":true},"tags":{"type":"text","dims":1},"done":{"type":"bool"},"at":{"type":"timestamptz"},"x":{"type":"float8"}})"}};
  int status = (data[0] & 0x80) ? 409 : 200;
  Status s = engine->HandleResponse(0, req->id, status, h, body);
  if (s1.ok() && !s.ok() && s.code() != Code::kProtocol && s.code() != Code::kConflict &&
      s.code() != Code::kSchema) {
    abort();  // a well-formed body may only fail on protocol-level content
  }
  while (!engine->PollEvent().empty()) {
  }
  return 0;
}

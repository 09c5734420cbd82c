#include "shape_def.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "json.h"

namespace electrolite {

std::string HashHex(std::string_view text, int digits) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 15; i >= 16 - digits && i >= 0; i--) out += kHex[(h >> (i * 4)) & 15];
  return out;
}

namespace {

std::string QuoteColumn(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += "\"\"";
    else out += c;
  }
  return out + "\"";
}

}  // namespace

Result<ShapeDef> ShapeDef::FromJson(std::string_view text) {
  Json j = Json::parse(text);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("shape must be a JSON object");
  ShapeDef d;
  d.table = JsonStr(j, "table");
  if (d.table.empty()) return Status::InvalidArgument("shape.table is required");
  d.id = JsonStr(j, "id");
  d.where = JsonStr(j, "where");
  d.replica = JsonStr(j, "replica", "default");
  if (d.replica != "default" && d.replica != "full") {
    return Status::InvalidArgument("shape.replica must be \"default\" or \"full\"");
  }
  d.log = JsonStr(j, "log", "full");
  if (d.log != "full" && d.log != "changes_only") {
    return Status::InvalidArgument("shape.log must be \"full\" or \"changes_only\"");
  }
  for (const char* field : {"params", "columns"}) {
    auto it = j.find(field);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_array()) return Status::InvalidArgument(std::string("shape.") + field + " must be an array");
    for (const Json& v : *it) {
      std::string s;
      if (v.is_string()) s = v.get<std::string>();
      else if (v.is_number() || v.is_boolean()) s = v.dump();
      else return Status::InvalidArgument(std::string("shape.") + field + " entries must be strings");
      (field[0] == 'p' ? d.params : d.columns).push_back(std::move(s));
    }
  }
  return d;
}

std::string ShapeDef::ToJson() const {
  Json j;
  j["table"] = table;
  if (!where.empty()) j["where"] = where;
  if (!params.empty()) j["params"] = params;
  if (!columns.empty()) j["columns"] = columns;
  j["replica"] = replica;
  if (changes_only()) j["log"] = log;  // absent for "full": ids of full shapes stay as they were
  return j.dump();
}

std::string ShapeDef::DefaultId() const {
  if (where.empty() && params.empty() && columns.empty() && replica == "default" && !changes_only()) {
    return table;
  }
  return table + "#" + HashHex(ToJson(), 8);
}

namespace {

// Decimal digits no greater than `max` (leading zeros allowed, as the server's
// Integer.parse takes them).
bool DecimalAtMost(std::string_view s, uint64_t max) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  return true;
}

bool PrintableToken(std::string_view s, size_t max_len) {
  if (s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

bool IsValidOffset(std::string_view offset) {
  if (offset == "-1") return true;
  if (offset.size() > 64) return false;
  size_t sep = offset.find('_');
  if (sep == std::string_view::npos) return false;
  std::string_view tx = offset.substr(0, sep), op = offset.substr(sep + 1);
  if (!DecimalAtMost(tx, UINT64_MAX)) return false;
  return op == "inf" || DecimalAtMost(op, static_cast<uint64_t>(INT64_MAX));
}

bool IsValidHandle(std::string_view handle) {
  return !handle.empty() && PrintableToken(handle, 256);
}

bool IsValidCursor(std::string_view cursor) { return PrintableToken(cursor, 64); }

std::string FormEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' ||
        c == '-' || c == '.' || c == '_') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.first == name) return &h.second;
  }
  return nullptr;
}

std::string ShapeDef::Url(const std::string& base_url,
                          const std::vector<std::pair<std::string, std::string>>& state) const {
  std::map<std::string, std::string> q(state.begin(), state.end());
  q["table"] = table;
  q["log"] = log;
  if (!where.empty()) q["where"] = where;
  for (size_t i = 0; i < params.size(); i++) {
    q["params[" + std::to_string(i + 1) + "]"] = params[i];
  }
  if (!columns.empty()) {
    std::string cols;
    for (size_t i = 0; i < columns.size(); i++) {
      if (i > 0) cols += ',';
      cols += QuoteColumn(columns[i]);
    }
    q["columns"] = cols;
  }
  if (replica == "full") q["replica"] = "full";
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/v1/shape?";
  bool first = true;
  for (const auto& kv : q) {
    if (!first) url += '&';
    first = false;
    url += FormEncode(kv.first);
    url += '=';
    url += FormEncode(kv.second);
  }
  return url;
}

}  // namespace electrolite

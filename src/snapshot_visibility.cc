#include "snapshot_visibility.h"

#include <algorithm>

#include "json.h"

namespace electrolite {

uint64_t WidenXid(uint32_t xid, uint64_t reference) {
  const int32_t delta = static_cast<int32_t>(xid - static_cast<uint32_t>(reference));
  return reference + static_cast<uint64_t>(static_cast<int64_t>(delta));
}

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

Result<SnapshotVisibility> SnapshotVisibility::Parse(std::string_view xmin, std::string_view xmax,
                                                     std::string_view xip_json,
                                                     std::string_view database_lsn) {
  SnapshotVisibility v;
  if (!ParseU64(xmin, &v.xmin) || !ParseU64(xmax, &v.xmax) || v.xmin > v.xmax) {
    return Status::Protocol("snapshot with malformed xmin/xmax");
  }
  if (!database_lsn.empty() && !ParseU64(database_lsn, &v.database_lsn)) {
    return Status::Protocol("snapshot with a malformed database_lsn");
  }
  Json xip = Json::parse(xip_json.empty() ? std::string_view("[]") : xip_json);
  if (xip.is_discarded() || !xip.is_array()) {
    return Status::Protocol("snapshot with a malformed xip_list");
  }
  for (const Json& x : xip) {
    uint64_t id = 0;
    const std::string s = x.is_string() ? x.get<std::string>() : x.dump();
    if (!ParseU64(s, &id)) return Status::Protocol("snapshot with a malformed xip_list");
    v.xip.push_back(id);
  }
  std::sort(v.xip.begin(), v.xip.end());
  return v;
}

std::string SnapshotVisibility::XipJson() const {
  std::string out = "[";
  for (size_t i = 0; i < xip.size(); i++) {
    if (i > 0) out += ',';
    out += '"' + std::to_string(xip[i]) + '"';
  }
  return out + "]";
}

bool SnapshotVisibility::Saw(uint64_t xid8) const {
  if (xid8 < xmin) return true;
  return xid8 < xmax && !std::binary_search(xip.begin(), xip.end(), xid8);
}

namespace {

bool Latest(const std::vector<int64_t>& txids, uint64_t reference, uint64_t* latest) {
  bool any = false;
  for (int64_t t : txids) {
    const uint64_t x = WidenXid(static_cast<uint32_t>(t), reference);
    if (!any || x > *latest) *latest = x;
    any = true;
  }
  return any;
}

}  // namespace

bool SnapshotVisibility::SawChange(const std::vector<int64_t>& txids) const {
  uint64_t x = 0;
  return Latest(txids, xmax, &x) && Saw(x);
}

bool SnapshotVisibility::PassedBy(const std::vector<int64_t>& txids) const {
  uint64_t x = 0;
  return Latest(txids, xmax, &x) && x >= xmax;
}

}  // namespace electrolite

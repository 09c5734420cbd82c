// What a shape is and how it is asked for: its definition (table + where/
// params/columns/replica), the Electric protocol's strings, the request URL,
// and the checks on the header values a response hands back.
#ifndef ELECTROLITE_SRC_SHAPE_DEF_H_
#define ELECTROLITE_SRC_SHAPE_DEF_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine.h"
#include "status.h"

namespace electrolite {

// Electric protocol strings (one place, STYLE.md #8).
namespace proto {
inline constexpr char kHandle[] = "electric-handle";
inline constexpr char kOffset[] = "electric-offset";
inline constexpr char kSchema[] = "electric-schema";
inline constexpr char kCursor[] = "electric-cursor";
inline constexpr char kUpToDateHeader[] = "electric-up-to-date";
inline constexpr char kUpToDate[] = "up-to-date";
inline constexpr char kMustRefetch[] = "must-refetch";
inline constexpr char kSnapshotEnd[] = "snapshot-end";
inline constexpr int64_t kFastLoopWindowMs = 500;
inline constexpr int kFastLoopRequests = 5;
inline constexpr int kFastLoopMaxDetections = 5;
inline constexpr int kMaxStaleRetries = 3;
}  // namespace proto

// The first `digits` hex digits (at most 16) of a stable 64-bit hash (FNV-1a)
// of `text`: ids derived from a definition (shapes, subsets) stay the same
// across runs and builds.
std::string HashHex(std::string_view text, int digits);

struct ShapeDef {
  std::string id;
  std::string table;
  std::string where;
  std::vector<std::string> params;
  std::vector<std::string> columns;
  std::string replica = "default";
  // "full" (an initial snapshot, then changes) or "changes_only" (no
  // snapshot: the stream starts where the server is; rows come from subsets,
  // subset.h). Sent as `log`.
  std::string log = "full";

  bool changes_only() const { return log == "changes_only"; }
  static Result<ShapeDef> FromJson(std::string_view json);
  std::string ToJson() const;  // without id
  // Stable id: the table name for a whole-table shape, else table#<hash>.
  std::string DefaultId() const;
  // The request URL like the official client's: the definition's parameters
  // (log=full, quoted columns, params[N]) and the caller's `state` parameters
  // (offset, handle, live, cursor, ...), sorted, form-encoded.
  std::string Url(const std::string& base_url,
                  const std::vector<std::pair<std::string, std::string>>& state) const;
};

// Response header values, checked before anything of a response is applied
// (protocol notes §1.3, §1.4, §3.2), since each is persisted and sent back:
//  * an offset is `-1`, `<tx>_<op>` or `<tx>_inf`: decimal digits, tx within
//    uint64 and op within int64 (`now` is a request value only);
//  * a handle is 1-256 bytes of printable ASCII without spaces;
//  * a cursor is at most 64 bytes of printable ASCII without spaces (empty
//    is what the official client sends before the first one).
bool IsValidOffset(std::string_view offset);
bool IsValidHandle(std::string_view handle);
bool IsValidCursor(std::string_view cursor);

// application/x-www-form-urlencoded (as URLSearchParams writes it).
std::string FormEncode(std::string_view s);
// Looks up a lower-cased header; nullptr when absent.
const std::string* FindHeader(const Headers& headers, std::string_view name);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_SHAPE_DEF_H_

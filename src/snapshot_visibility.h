// SnapshotVisibility: which transactions a PostgreSQL snapshot already saw
// (protocol notes §2.9, §4.5) — one rule for subset snapshots (subset_stream)
// and for matching acked writes against a snapshot-end (write_sync). A
// snapshot's metadata names it with
// xid8 values (64-bit, epoch included): `xmin`, `xmax`, `xip_list`; a change on
// the stream names its transaction with 32-bit `txids`. A change whose
// transaction the snapshot saw is already in the snapshot's rows; one the
// snapshot did not see comes after them.
//
//   seen(x) = x < xmin || (x < xmax && x not in xip_list)
//
// A 32-bit xid is widened to the xid8 nearest the snapshot's `xmax`
// (ref + int32(xid - ref), as Electric's Xid module and the official client
// do), which is exact while the two are within 2^31 transactions: a snapshot
// is retired long before that, when the stream passes its `database_lsn` or
// brings a transaction at or past its `xmax` (Retired()).
#ifndef ELECTROLITE_SRC_SNAPSHOT_VISIBILITY_H_
#define ELECTROLITE_SRC_SNAPSHOT_VISIBILITY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace electrolite {

// The xid8 nearest `reference` whose low 32 bits are `xid`.
uint64_t WidenXid(uint32_t xid, uint64_t reference);

struct SnapshotVisibility {
  uint64_t xmin = 0;
  uint64_t xmax = 0;
  std::vector<uint64_t> xip;  // in progress when the snapshot was taken
  uint64_t database_lsn = 0;

  // From the metadata's decimal strings (xip_json: a JSON array of them).
  static Result<SnapshotVisibility> Parse(std::string_view xmin, std::string_view xmax,
                                          std::string_view xip_json, std::string_view database_lsn);
  std::string XipJson() const;

  // Whether the snapshot saw transaction `xid8`.
  bool Saw(uint64_t xid8) const;
  // A change's txids (32-bit, as the stream sends them): the latest of them,
  // widened against xmax; false when there are none (a change without txids
  // is never dropped).
  bool SawChange(const std::vector<int64_t>& txids) const;
  // True once the stream brought a transaction at or past xmax: every later
  // change is newer than the snapshot.
  bool PassedBy(const std::vector<int64_t>& txids) const;
};

// Parses a decimal uint64 (an LSN or an xid8); false when malformed.
bool ParseU64(std::string_view s, uint64_t* out);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_SNAPSHOT_VISIBILITY_H_

// TxidMatching: the txids that shape responses make visible, and the one place
// that matches them against the write path's acknowledged writes.
//
// Inside each shape response's apply transaction, after its rows and the
// shape's new state are written, OnApplied records the response's txids in
// `_el_txids` (shape_id, txid) and hands them, with the response's
// snapshot-end if any, to WritePath, which drops the overlay rows whose write
// is now visible (write_sync.cc). A table with a shape still re-fetching keeps
// its acknowledged writes until the staged rows are swapped in.
#ifndef ELECTROLITE_SRC_TXID_MATCHING_H_
#define ELECTROLITE_SRC_TXID_MATCHING_H_

#include <cstdint>

#include "status.h"

namespace electrolite {

class ResponseApplier;
class Shape;
class Store;
class WritePath;

class TxidMatching {
 public:
  // Both must outlive it.
  TxidMatching(Store* store, WritePath* writes) : store_(store), writes_(writes) {}

  // REQUIRES: inside the apply transaction of `shape`'s response, after the
  // shape's new state is saved. A non-ok Status rolls the response back.
  [[nodiscard]] Status OnApplied(const Shape& shape, const ResponseApplier& applier,
                                 int64_t now_ms);

 private:
  // Whether any shape of `table` is still re-fetching (its rows wait in T__stage).
  Result<bool> Refetching(const std::string& table);

  Store* store_;
  WritePath* writes_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_TXID_MATCHING_H_

// Prefetcher: related rows follow their parent (policies.json
// `prefetch_children`, e.g. tasks -> "agent_executions.task_id").
//
// Acquire(parent, key) returns the child shapes to subscribe
// (`{table: child, where: "<fk>" = $1, params: [key]}`); acquisitions are
// counted, and Release starts a grace period after which the shapes are due
// for removal (TakeExpired) - unless the parent is acquired again first.
// A child table already synced whole by another shape needs no prefetch.
//
// Pure bookkeeping (sans-IO, no storage): the engine subscribes, unsubscribes
// and drops the released rows.
#ifndef ELECTROLITE_SRC_PREFETCH_H_
#define ELECTROLITE_SRC_PREFETCH_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "shape.h"
#include "status.h"
#include "table_decl.h"

namespace electrolite {

struct PrefetchRule {
  std::string parent;   // "tasks"
  std::string child;    // "agent_executions"
  std::string fk;       // "task_id"
};

// Parses every `prefetch_children` entry ("child_table.fk_column"). Errors
// name the table and the entry.
Result<std::vector<PrefetchRule>> PrefetchRulesFromDecls(const std::vector<TableDecl>& decls);

// Shape ids of prefetch shapes start with this prefix (after the child table).
inline constexpr char kPrefetchIdMarker[] = "#prefetch:";

class Prefetcher {
 public:
  struct Child {
    ShapeDef def;      // id set
    std::string fk;
    std::string value;
  };

  Prefetcher(std::vector<PrefetchRule> rules, int64_t grace_ms)
      : rules_(std::move(rules)), grace_ms_(grace_ms) {}

  bool HasRules(const std::string& parent) const;
  // The child shapes of parent row `value` (not yet counted).
  std::vector<Child> ChildrenOf(const std::string& parent, const std::string& value) const;

  // Counts one use of (parent, value); cancels a pending release.
  void Acquire(const std::string& parent, const std::string& value);
  // Ends one use; at zero uses the children expire at now + grace.
  // NotFound when (parent, value) is not acquired.
  Status Release(const std::string& parent, const std::string& value, int64_t now_ms);
  // A prefetch shape found at open (an earlier session's): expires after the
  // grace period unless acquired.
  void Adopt(const std::string& parent, const std::string& value, int64_t now_ms);

  // Parents whose grace period ended; they are forgotten.
  std::vector<std::pair<std::string, std::string>> TakeExpired(int64_t now_ms);
  int64_t NextDeadline() const;

  int64_t active() const;
  int64_t acquired_total() const { return acquired_total_; }
  int64_t released_total() const { return released_total_; }

  // "agent_executions#prefetch:task_id=<value>".
  static std::string ShapeId(const std::string& child, const std::string& fk,
                             const std::string& value);
  const std::vector<PrefetchRule>& rules() const { return rules_; }

 private:
  struct Use {
    int count = 0;
    int64_t expires_ms = -1;  // when count == 0
  };
  std::vector<PrefetchRule> rules_;
  int64_t grace_ms_;
  std::map<std::pair<std::string, std::string>, Use> uses_;
  int64_t acquired_total_ = 0;
  int64_t released_total_ = 0;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_PREFETCH_H_

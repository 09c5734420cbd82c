#include "prefetch.h"

#include "json.h"

namespace electrolite {

Result<std::vector<PrefetchRule>> PrefetchRulesFromDecls(const std::vector<TableDecl>& decls) {
  std::vector<PrefetchRule> rules;
  for (const TableDecl& d : decls) {
    const TableConfig& c = d.config();
    EL_RETURN_IF_ERROR(c.prefetch_error);
    for (const auto& [child, fk] : c.prefetch_children) rules.push_back({d.name, child, fk});
  }
  return rules;
}

std::string Prefetcher::ShapeId(const std::string& child, const std::string& fk,
                                const std::string& value) {
  return child + kPrefetchIdMarker + fk + "=" + value;
}

bool Prefetcher::HasRules(const std::string& parent) const {
  for (const PrefetchRule& r : rules_) {
    if (r.parent == parent) return true;
  }
  return false;
}

std::vector<Prefetcher::Child> Prefetcher::ChildrenOf(const std::string& parent,
                                                      const std::string& value) const {
  std::vector<Child> out;
  for (const PrefetchRule& r : rules_) {
    if (r.parent != parent) continue;
    Child c;
    c.def.table = r.child;
    c.def.where = QuoteIdent(r.fk) + " = $1";
    c.def.params = {value};
    c.def.id = ShapeId(r.child, r.fk, value);
    c.fk = r.fk;
    c.value = value;
    out.push_back(std::move(c));
  }
  return out;
}

void Prefetcher::Acquire(const std::string& parent, const std::string& value) {
  Use& u = uses_[{parent, value}];
  u.count++;
  u.expires_ms = -1;
  acquired_total_++;
}

Status Prefetcher::Release(const std::string& parent, const std::string& value, int64_t now_ms) {
  auto it = uses_.find({parent, value});
  if (it == uses_.end() || it->second.count == 0) {
    return Status::NotFound(parent + " " + value + " is not prefetched");
  }
  if (--it->second.count == 0) it->second.expires_ms = now_ms + grace_ms_;
  return Status::Ok();
}

void Prefetcher::Adopt(const std::string& parent, const std::string& value, int64_t now_ms) {
  Use& u = uses_[{parent, value}];
  if (u.count == 0 && u.expires_ms < 0) u.expires_ms = now_ms + grace_ms_;
}

std::vector<std::pair<std::string, std::string>> Prefetcher::TakeExpired(int64_t now_ms) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = uses_.begin(); it != uses_.end();) {
    if (it->second.count == 0 && it->second.expires_ms >= 0 && it->second.expires_ms <= now_ms) {
      out.push_back(it->first);
      released_total_++;
      it = uses_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

int64_t Prefetcher::NextDeadline() const {
  int64_t best = -1;
  for (const auto& kv : uses_) {
    int64_t t = kv.second.count == 0 ? kv.second.expires_ms : -1;
    if (t >= 0 && (best < 0 || t < best)) best = t;
  }
  return best;
}

int64_t Prefetcher::active() const {
  int64_t n = 0;
  for (const auto& kv : uses_) n += kv.second.count > 0 ? 1 : 0;
  return n;
}

}  // namespace electrolite

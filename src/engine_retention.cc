// Retention on the engine (engine_components.h): the rules of the declared
// tables, run on the engine's timer.
#include "engine_components.h"
#include "engine_impl.h"
#include "json.h"
#include "response_applier.h"

namespace electrolite {

Result<std::unique_ptr<RetentionComponent>> RetentionComponent::Create(Engine::Impl* engine) {
  std::vector<TableDecl> decls;
  for (const auto& kv : engine->tables()) decls.push_back(kv.second->decl());
  EL_ASSIGN_OR_RETURN(std::vector<RetentionRule> rules, RetentionRulesFromDecls(decls));
  RetentionOptions ro;
  ro.interval_ms = engine->options().retention_interval_ms;
  ro.batch_size = engine->options().retention_batch;
  auto retention = std::make_unique<Retention>(&engine->store(), std::move(rules), ro);
  EL_RETURN_IF_ERROR(retention->Init(engine->options().now_ms));
  std::unique_ptr<RetentionComponent> c(new RetentionComponent(engine, std::move(retention)));
  c->RefreshTables();
  return c;
}

void RetentionComponent::RefreshTables() {
  if (retention_->empty()) return;
  // Only a table that became materialized (columns learnt from the server) is new here.
  size_t materialized = 0;
  for (const auto& kv : engine_->tables()) materialized += kv.second->materialized() ? 1 : 0;
  if (materialized == tables_seen_) return;
  tables_seen_ = materialized;
  for (const auto& kv : engine_->tables()) {
    const SyncedTable& t = *kv.second;
    if (!t.materialized()) continue;
    const TableConfig& config = t.decl().config();
    const std::string& column =
        config.retention_column.empty() ? config.expires_column : config.retention_column;
    if (column.empty()) continue;
    const ColumnDecl* c = t.decl().FindColumn(column);
    if (c == nullptr) continue;
    bool integer = c->cls == TypeClass::kInteger;
    retention_->SetTableInfo(kv.first, t.decl().primary_key, integer);
  }
}

void RetentionComponent::OnApplied(const Shape& shape, int64_t now_ms,
                                   const ResponseApplier& applier) {
  if (applier.rows() == 0) return;
  RefreshTables();
  retention_->NoteApplied(shape.def().table, now_ms);
}

void RetentionComponent::OnTimeout(int64_t now_ms) {
  if (retention_->NextDeadline() < 0 || now_ms < retention_->NextDeadline()) return;
  std::set<std::string> changed;
  RefreshTables();
  int64_t before = retention_->rows_pruned();
  Status s = retention_->Run(now_ms, &changed);
  if (!s.ok()) engine_->EmitError(s, std::string());
  if (retention_->rows_pruned() > before) {
    engine_->Log("info", "retention: pruned " +
                             std::to_string(retention_->rows_pruned() - before) + " rows locally");
  }
  engine_->EmitTablesChanged(changed);
}

void RetentionComponent::AppendMetrics(std::string* out) const {
  *out += ",\"retention\":{\"rowsPruned\":" + std::to_string(retention_->rows_pruned()) +
          ",\"runs\":" + std::to_string(retention_->runs()) + ",\"byTable\":{";
  bool first = true;
  for (const auto& kv : retention_->pruned_by_table()) {
    if (!first) *out += ',';
    first = false;
    AppendJsonString(out, kv.first);
    *out += ":" + std::to_string(kv.second);
  }
  *out += "}}";
}

}  // namespace electrolite

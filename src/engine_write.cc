// The engine's write path: the app-facing write API and the glue
// between Engine::Impl and WritePath/Uploader (local writes, upload requests;
// txid matching is txid_matching.h).
#include <algorithm>
#include <cctype>

#include "engine_impl.h"
#include "json.h"
#include "local_query.h"

namespace electrolite {

namespace {

using json = Json;

std::string MutationResult(const Result<std::string>& r) {
  if (!r.ok()) return r.status().ToJson();
  std::string out = "{\"ok\":true,\"mutationId\":";
  if (r.value().empty()) {
    out += "null";
  } else {
    AppendJsonStringFast(&out, r.value());
  }
  return out + "}";
}

// BEGIN/COMMIT/ROLLBACK/END/SAVEPOINT/RELEASE (lower case): run as-is,
// never wrapped. "" for any other statement.
std::string TransactionControlWord(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r')) ++i;
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i++])));
  }
  const bool control = word == "begin" || word == "commit" || word == "end" ||
                       word == "rollback" || word == "savepoint" || word == "release";
  return control ? word : std::string();
}

Result<json> ParseObject(std::string_view text, const char* what) {
  json j = json::parse(text);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(std::string(what) + " must be a JSON object");
  }
  return j;
}

}  // namespace

// ---------------------------------------------------------------- Impl

Status Engine::Impl::InitWrites(const std::vector<TableDecl>& declared) {
  writes_ = std::make_unique<WritePath>(store_.get(), env_);
  EL_RETURN_IF_ERROR(writes_->Init());
  const SchemaDefaults defaults = SchemaDefaultsOf(declared);
  WritePath* w = writes_.get();
  // Every materialised table gets its overlay, merged view and triggers.
  view_builder_ = [w, defaults](Store& s, const TableDecl& decl) -> Status {
    Result<WriteTable> t = WriteTable::FromDecl(decl, defaults);
    if (!t.ok()) {
      // Not writable locally (e.g. no primary key): the plain read view.
      return BuildPlainView(s, decl);
    }
    return w->DeclareTable(std::move(t).value());
  };
  UploadOptions o;
  o.base_url = options_.base_url;
  o.client_id = options_.client_id;
  o.batch_size = options_.batch_size;
  o.interval_ms = options_.upload_interval_ms;
  o.compress_threshold = options_.compress_threshold;
  o.backoff = options_.backoff;
  uploader_ = std::make_unique<Uploader>(store_.get(), writes_.get(), env_, o);
  txids_ = std::make_unique<TxidMatching>(store_.get(), writes_.get());
  return Status::Ok();
}

Status Engine::Impl::StartUploads() {
  EL_RETURN_IF_ERROR(uploader_->Init());
  uploader_->SetToken(token_);
  return Status::Ok();
}

int64_t Engine::Impl::Now(int64_t now_ms) {
  if (now_ms >= 0) last_now_ms_ = std::max(last_now_ms_, now_ms);
  return now_ms >= 0 ? now_ms : last_now_ms_;
}

void Engine::Impl::FlushWrites(bool committed) {
  if (!committed) {
    writes_->DropEvents();
    (void)writes_->TakeChanges();
    return;
  }
  for (std::string& ev : writes_->TakeEvents()) {
    if (options_.debug && ev.rfind("{\"type\":\"conflict\"", 0) == 0) Log("info", ev);
    Emit(std::move(ev));
  }
  EmitTablesChanged(writes_->TakeChanges());
  if (writes_->TakeNewWrites() > 0) uploader_->NoteWrites();
  MaybeEmitStatus();
}

// ---------------------------------------------------------------- Engine

void Engine::SetUserId(std::string_view user_id) { impl_->options_.user_id = std::string(user_id); }

// A typed write whose owner column names another user than the signed-in one:
// the write endpoint would refuse it, so it is refused here, before it is
// applied locally or queued.
Status Engine::Impl::CheckOwner(std::string_view table, const json& values) const {
  if (options_.user_id.empty() || !values.is_object()) return Status::Ok();
  const WriteTable* t = writes_->Find(table);
  if (t == nullptr || t->ColumnIndex(options_.user_column) < 0) return Status::Ok();
  auto it = values.find(options_.user_column);
  if (it == values.end() || it->is_null()) return Status::Ok();
  const std::string owner = it->is_string() ? it->get<std::string>() : Dump(*it);
  if (owner == options_.user_id) return Status::Ok();
  return Status::InvalidArgument(std::string(table) + "." + options_.user_column + " is '" + owner +
                                 "', not the signed-in user '" + options_.user_id +
                                 "': the server would refuse this write");
}

std::string Engine::Insert(std::string_view table, std::string_view row_json, int64_t now_ms) {
  Result<json> row = ParseObject(row_json, "row");
  if (!row.ok()) return row.status().ToJson();
  if (Status s = impl_->CheckOwner(table, row.value()); !s.ok()) return s.ToJson();
  Result<std::string> r = impl_->writes_->Insert(table, row.value(), impl_->Now(now_ms));
  impl_->FlushWrites(r.ok());
  return MutationResult(r);
}

std::string Engine::Update(std::string_view table, std::string_view key_json,
                           std::string_view patch_json, int64_t now_ms) {
  Result<json> key = ParseObject(key_json, "key");
  if (!key.ok()) return key.status().ToJson();
  Result<json> patch = ParseObject(patch_json, "patch");
  if (!patch.ok()) return patch.status().ToJson();
  if (Status s = impl_->CheckOwner(table, patch.value()); !s.ok()) return s.ToJson();
  Result<std::string> r =
      impl_->writes_->Update(table, key.value(), patch.value(), impl_->Now(now_ms));
  impl_->FlushWrites(r.ok());
  return MutationResult(r);
}

std::string Engine::Delete(std::string_view table, std::string_view key_json, int64_t now_ms) {
  Result<json> key = ParseObject(key_json, "key");
  if (!key.ok()) return key.status().ToJson();
  Result<std::string> r = impl_->writes_->Delete(table, key.value(), impl_->Now(now_ms));
  impl_->FlushWrites(r.ok());
  return MutationResult(r);
}

std::string Engine::Exec(std::string_view sql, std::string_view params_json, int64_t now_ms) {
  Store& store = *impl_->store_;
  const std::string control = TransactionControlWord(sql);
  if (!control.empty()) {
    if (control == "begin") impl_->txn_changes_.clear();
    Result<QueryOutcome> q = RunStatement(store, sql, params_json);
    if (!q.ok()) return q.status().ToJson();
    if (control == "rollback") {
      // Rows reported since BEGIN may be back as they were (ROLLBACK TO
      // undoes part of them: reporting all of them is still right).
      ChangeSet touched = impl_->txn_changes_;
      touched.Merge(impl_->writes_->TakeChanges());
      impl_->writes_->DropEvents();
      impl_->EmitTablesChanged(touched);
    }
    if (!store.InTransaction()) impl_->txn_changes_.clear();
    impl_->uploader_->NoteWrites();
    return ExecResultJson(q.value());
  }
  // One transaction (a savepoint inside the app's) per statement: writes to
  // synced views go through their triggers into overlay + outbox.
  Txn txn(&store);
  Status s = txn.Begin();
  if (!s.ok()) return s.ToJson();
  impl_->writes_->BeginSql(impl_->Now(now_ms));
  Result<QueryOutcome> q = RunStatement(store, sql, params_json, impl_->query_cache_.get());
  int64_t mutations = 0;
  s = impl_->writes_->EndSql(q.ok() ? Status::Ok() : q.status(), &mutations);
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) {
    txn.Rollback();
    impl_->FlushWrites(false);
    return s.ToJson();
  }
  if (mutations > 0) q->changes = mutations;
  // Writes through a synced table's view reach el_write(), which reports
  // their keys (FlushWrites); any other table written is reported unknown.
  std::set<std::string> untracked;
  for (const std::string& rel : q->relations_written) {
    if (impl_->writes_->Find(rel) == nullptr) untracked.insert(AppTableName(rel.c_str()));
  }
  impl_->EmitTablesChanged(untracked);
  impl_->FlushWrites(true);
  return ExecResultJson(q.value());
}

std::string Engine::Begin() {
  if (impl_->store_->InTransaction()) {
    return Status::InvalidArgument("a transaction is already open").ToJson();
  }
  impl_->txn_changes_.clear();
  return impl_->store_->Exec("BEGIN IMMEDIATE").ToJson();
}

std::string Engine::Commit() {
  if (!impl_->store_->InTransaction()) return Status::InvalidArgument("no open transaction").ToJson();
  Status s = impl_->store_->Exec("COMMIT");
  if (!s.ok()) {
    (void)impl_->store_->Exec("ROLLBACK");
    impl_->FlushWrites(false);
    ChangeSet touched;
    std::swap(touched, impl_->txn_changes_);
    impl_->EmitTablesChanged(touched);
    return s.ToJson();
  }
  impl_->txn_changes_.clear();
  impl_->FlushWrites(true);
  return s.ToJson();
}

std::string Engine::Rollback() {
  if (!impl_->store_->InTransaction()) return Status::InvalidArgument("no open transaction").ToJson();
  Status s = impl_->store_->Exec("ROLLBACK");
  // An upload answer handled inside the transaction was rolled back too:
  // whatever is not in flight now goes again (same ids; deduplicated).
  if (!impl_->uploader_->in_flight()) {
    (void)impl_->store_->Exec(
        "UPDATE _el_outbox SET status = 'pending' WHERE status = 'in_flight'");
  }
  // The views may have shown the rolled-back writes to live queries: every
  // row reported since BEGIN (or not yet reported) is reported again.
  ChangeSet touched;
  std::swap(touched, impl_->txn_changes_);
  touched.Merge(impl_->writes_->TakeChanges());
  impl_->writes_->DropEvents();
  impl_->EmitTablesChanged(touched);
  impl_->uploader_->NoteWrites();
  impl_->MaybeEmitStatus();
  return s.ToJson();
}

std::string Engine::PendingMutations() {
  Result<json> list = impl_->writes_->PendingMutations();
  if (!list.ok()) return list.status().ToJson();
  return Dump(json{{"ok", true}, {"mutations", list.value()}});
}

std::string Engine::DiscardMutation(std::string_view mutation_id) {
  Status s = impl_->writes_->DiscardMutation(mutation_id);
  impl_->FlushWrites(s.ok());
  return s.ToJson();
}

std::string Engine::SetResolver(std::string_view table, bool registered) {
  if (impl_->writes_->Find(table) == nullptr) {
    return Status::NotFound("no synced table named \"" + std::string(table) + "\"").ToJson();
  }
  impl_->writes_->SetResolver(table, registered);
  return Status::Ok().ToJson();
}

std::string Engine::ResolveConflict(std::string_view resolve_id, std::string_view row_json,
                                    int64_t now_ms) {
  Result<json> row = ParseObject(row_json, "row");
  if (!row.ok()) return row.status().ToJson();
  Status s = impl_->writes_->ResolveConflict(resolve_id, row.value(), impl_->Now(now_ms));
  impl_->FlushWrites(s.ok());
  return s.ToJson();
}

}  // namespace electrolite

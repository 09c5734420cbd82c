// Engine components: parts of the engine that follow applied shape responses
// and keep a timer of their own — local retention (engine_retention.cc) and
// prefetching (engine_prefetch.cc). The engine calls OnApplied after every
// committed response, puts Deadline/OnTimeout in its timer table (timers.h),
// and adds AppendMetrics to db.metrics().
#ifndef ELECTROLITE_SRC_ENGINE_COMPONENTS_H_
#define ELECTROLITE_SRC_ENGINE_COMPONENTS_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "engine.h"
#include "prefetch.h"
#include "retention.h"
#include "shape.h"
#include "status.h"

namespace electrolite {

class ResponseApplier;

class EngineComponent {
 public:
  virtual ~EngineComponent() = default;
  // A shape response was applied and committed.
  virtual void OnApplied(const Shape& shape, int64_t now_ms, const ResponseApplier& applier) {}
  // Absolute ms of the component's next deadline; -1 = none.
  virtual int64_t Deadline() const = 0;
  // Called on every engine timeout; acts on what is due.
  virtual void OnTimeout(int64_t now_ms) = 0;
  // `,"name":{...}` metric fields.
  virtual void AppendMetrics(std::string* out) const {}
};

// Local retention (retention.h): rows past their policy's age are pruned in
// batches on the engine's timer; a table joins once its columns are known.
class RetentionComponent : public EngineComponent {
 public:
  // Rules from the engine's declared tables. `engine` must outlive it.
  static Result<std::unique_ptr<RetentionComponent>> Create(Engine::Impl* engine);

  void OnApplied(const Shape& shape, int64_t now_ms, const ResponseApplier& applier) override;
  int64_t Deadline() const override { return retention_->NextDeadline(); }
  void OnTimeout(int64_t now_ms) override;
  void AppendMetrics(std::string* out) const override;

 private:
  RetentionComponent(Engine::Impl* engine, std::unique_ptr<Retention> retention)
      : engine_(engine), retention_(std::move(retention)) {}
  // Tells retention the key and column type of each table that became
  // materialised (columns learnt from the server) since the last call.
  void RefreshTables();

  Engine::Impl* engine_;
  std::unique_ptr<Retention> retention_;
  size_t tables_seen_ = static_cast<size_t>(-1);
};

// Prefetching (prefetch.h): db.prefetch subscribes a parent row's child
// shapes; after the last release and a grace period they are dropped with
// their rows.
class PrefetchComponent : public EngineComponent {
 public:
  // Rules from the engine's declared tables; prefetch shapes of an earlier
  // session are adopted (released unless acquired again). `engine` must
  // outlive it.
  static Result<std::unique_ptr<PrefetchComponent>> Create(Engine::Impl* engine);

  // Engine::Prefetch / Engine::Release.
  std::string Prefetch(std::string_view table, std::string_view key_json);
  std::string Release(std::string_view table, std::string_view key_json, int64_t now_ms);

  int64_t Deadline() const override { return prefetcher_->NextDeadline(); }
  void OnTimeout(int64_t now_ms) override;
  void AppendMetrics(std::string* out) const override;

 private:
  PrefetchComponent(Engine::Impl* engine, std::unique_ptr<Prefetcher> prefetcher)
      : engine_(engine), prefetcher_(std::move(prefetcher)) {}
  // Unsubscribes a released child shape and drops its rows unless another
  // (non-prefetch) shape syncs the child table, or a local write holds them.
  Status DropShape(const Prefetcher::Child& c, std::set<std::string>* changed);

  Engine::Impl* engine_;
  std::unique_ptr<Prefetcher> prefetcher_;
  int64_t rows_dropped_ = 0;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ENGINE_COMPONENTS_H_

// Status and Result<T>: the engine's error values (no exceptions).
//
// The code set is closed and shared with bindings/ and js/ (docs/engine-api.md):
// invalid_argument, not_found, conflict, corruption, io, protocol, auth,
// storage_full, read_only, schema, internal.
#ifndef ELECTROLITE_SRC_STATUS_H_
#define ELECTROLITE_SRC_STATUS_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace electrolite {

enum class Code {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kConflict,
  kCorruption,
  kIo,
  kProtocol,
  kAuth,
  kStorageFull,
  kReadOnly,
  kSchema,
  kInternal,
};

// The stable wire name of a code ("ok", "invalid_argument", ...).
const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message)
      : code_(code), message_(std::make_unique<std::string>(std::move(message))) {}
  Status(const Status& o)
      : code_(o.code_), message_(o.message_ ? std::make_unique<std::string>(*o.message_) : nullptr) {}
  Status(Status&& o) noexcept = default;
  Status& operator=(const Status& o) {
    if (this != &o) *this = Status(o);
    return *this;
  }
  Status& operator=(Status&& o) noexcept = default;

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Io(std::string m) { return {Code::kIo, std::move(m)}; }
  static Status Protocol(std::string m) { return {Code::kProtocol, std::move(m)}; }
  static Status Auth(std::string m) { return {Code::kAuth, std::move(m)}; }
  static Status StorageFull(std::string m) { return {Code::kStorageFull, std::move(m)}; }
  static Status ReadOnly(std::string m) { return {Code::kReadOnly, std::move(m)}; }
  static Status Schema(std::string m) { return {Code::kSchema, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_ ? *message_ : EmptyMessage(); }
  const char* code_name() const { return CodeName(code_); }

  // Returns a copy with `prefix: ` prepended to the message.
  Status WithContext(std::string_view prefix) const;
  // "code: message" for logs and test failures.
  std::string ToString() const;
  // {"ok":true} or {"ok":false,"code":"...","message":"..."}.
  std::string ToJson() const;

 private:
  static const std::string& EmptyMessage();

  // An ok Status, made and dropped on every call of the hot paths, is a code
  // and a null pointer: the message lives on the heap, only for errors.
  Code code_ = Code::kOk;
  std::unique_ptr<std::string> message_;
};

// A value or an error. REQUIRES: value() only when ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)), has_value_(true) {}  // NOLINT
  Result(Status status) : status_(std::move(status)) {}            // NOLINT

  bool ok() const { return has_value_; }
  const Status& status() const { return status_; }
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }
  T& operator*() { return value_; }

 private:
  T value_{};
  Status status_;
  bool has_value_ = false;
};

#define EL_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::electrolite::Status el_s_ = (expr);   \
    if (!el_s_.ok()) return el_s_;          \
  } while (0)

#define EL_CONCAT_INNER_(a, b) a##b
#define EL_CONCAT_(a, b) EL_CONCAT_INNER_(a, b)
#define EL_ASSIGN_OR_RETURN(lhs, expr)                       \
  auto EL_CONCAT_(el_r_, __LINE__) = (expr);                 \
  if (!EL_CONCAT_(el_r_, __LINE__).ok())                     \
    return EL_CONCAT_(el_r_, __LINE__).status();             \
  lhs = std::move(EL_CONCAT_(el_r_, __LINE__)).value()

// Appends `s` to `out` as a JSON string literal (with quotes).
void AppendJsonString(std::string* out, std::string_view s);
// `{"ok":true,"<field>":<json_value>}`: a successful call's result with one field.
std::string OkWith(const std::string& field, const std::string& json_value);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_STATUS_H_

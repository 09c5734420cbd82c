// JsonTokenizer: an incremental (push) JSON tokenizer for response bodies.
//
// Feed() accepts the body in arbitrary splits; tokens are delivered to a
// Handler as they complete. Strings without escapes that lie inside one chunk
// are handed out as views into that chunk (no copy); short ones with escapes
// other than \u are decoded into a stack buffer; the rest into an internal
// buffer. Every view is valid only during the callback.
// A member "key":"value" written without whitespace, both strings plain and
// in the chunk, is one OnMember call (most of an Electric body's members).
// Validates full JSON syntax (RFC 8259), limits nesting depth, and rejects
// trailing non-whitespace after the top-level value. A \u escape that is a
// lone surrogate decodes to U+FFFD, or is an error with strict_surrogates.
// Bytes of strings are passed through unchecked (no UTF-8 validation).
#ifndef ELECTROLITE_SRC_JSON_TOKENIZER_H_
#define ELECTROLITE_SRC_JSON_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace electrolite {

enum class JsonToken {
  kBeginObject,
  kEndObject,
  kBeginArray,
  kEndArray,
  kKey,     // text = decoded key
  kString,  // text = decoded string
  kNumber,  // text = number literal as written
  kTrue,
  kFalse,
  kNull,
};

class JsonHandler {
 public:
  virtual ~JsonHandler() = default;
  // A non-ok Status stops tokenizing; Feed/Finish return it.
  virtual Status OnToken(JsonToken token, std::string_view text) = 0;
  // An object member whose value is a string, delivered in one call when
  // both strings are plain (no escapes) and within one chunk: the same as
  // OnToken(kKey, key) then OnToken(kString, value), which is the default.
  virtual Status OnMember(std::string_view key, std::string_view value);
};

class JsonTokenizer {
 public:
  static constexpr int kMaxDepth = 64;

  struct Options {
    int max_depth = kMaxDepth;        // containers open at once
    bool strict_surrogates = false;   // a lone surrogate escape is an error
  };

  // `handler` must outlive the tokenizer.
  explicit JsonTokenizer(JsonHandler* handler) : handler_(handler) {}
  JsonTokenizer(JsonHandler* handler, const Options& options)
      : handler_(handler),
        max_depth_(options.max_depth),
        strict_surrogates_(options.strict_surrogates) {}

  Status Feed(std::string_view chunk);
  // Ends the input. An empty input (only whitespace) is ok iff allow_empty.
  Status Finish(bool allow_empty);
  uint64_t bytes_consumed() const { return offset_; }
  bool done() const { return state_ == State::kDone; }
  bool empty_so_far() const { return state_ == State::kStart; }

 private:
  enum class State {
    kStart,         // before the top-level value
    kValue,         // expecting a value (after ':' or ',' in array)
    kArrayFirst,    // after '[': value or ']'
    kObjectFirst,   // after '{': key or '}'
    kObjectKey,     // after ',' in object: key
    kColon,         // after key
    kAfterValue,    // ',' or closing bracket
    kDone,          // top-level value complete
  };
  enum class Lex { kNone, kString, kNumber, kLiteral };

  Status Error(std::string_view what) const;
  // Whether a scalar or container may start here; else ValueStartError()
  // says why not.
  bool CanStartValue() const { return state_ <= State::kArrayFirst; }
  Status ValueStartError() const;
  void EndValue() { state_ = stack_.empty() ? State::kDone : State::kAfterValue; }
  Status EmitString();
  Status FinishNumber();
  Status StringStep(const char* p, const char* end, size_t* used);
  // A high surrogate escape not followed by a low one: U+FFFD or an error.
  Status LoneSurrogate();

  JsonHandler* handler_;
  int max_depth_ = kMaxDepth;
  bool strict_surrogates_ = false;
  State state_ = State::kStart;
  Lex lex_ = Lex::kNone;
  bool string_is_key_ = false;
  std::vector<char> stack_;  // '{' or '['
  std::string buf_;          // partial token text
  const char* literal_ = nullptr;  // "true", "false", "null"
  size_t literal_pos_ = 0;
  int escape_ = 0;             // 0 none, 1 after '\\', 2..5 = \u hex digits read + 2
  uint32_t unicode_ = 0;
  uint32_t high_surrogate_ = 0;
  uint64_t offset_ = 0;        // bytes consumed before the current chunk + pos
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_JSON_TOKENIZER_H_

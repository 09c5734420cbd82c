// MessageDecoder: the body of an Electric shape response (a JSON array of
// change, control and event messages, protocol notes §2.3) decoded incrementally on
// top of JsonTokenizer. Each complete message is handed to a MessageSink with
// string views that stay valid only during the callback. Works on the body
// fed in any split; the whole-body case is zero-copy for unescaped strings.
#ifndef ELECTROLITE_SRC_MESSAGE_DECODER_H_
#define ELECTROLITE_SRC_MESSAGE_DECODER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json_tokenizer.h"
#include "status.h"

namespace electrolite {

enum class Operation : uint8_t { kNone, kInsert, kUpdate, kDelete };

struct ColumnText {
  std::string_view name;
  std::string_view text;
  bool is_null = false;
};

// One `{pos, value}` of a move-out/move-in event: the tags whose position
// `pos` holds `value`.
struct TagPattern {
  int64_t pos = 0;
  std::string_view value;
};

struct ShapeMessage {
  enum class Kind : uint8_t { kChange, kControl, kEvent, kOther };
  Kind kind = Kind::kOther;
  Operation op = Operation::kNone;
  std::string_view key;
  bool has_value = false;
  std::vector<ColumnText> value;
  std::vector<ColumnText> old_value;
  std::string_view control;  // "up-to-date", "must-refetch", "snapshot-end", ...
  std::string_view lsn;
  std::vector<int64_t> txids;
  bool last = false;
  std::string_view key_change_to;
  std::string_view key_change_from;
  std::string_view xmin, xmax;
  std::vector<std::string_view> xip_list;
  std::string_view global_last_seen_lsn;
  // Subquery shapes (protocol notes §2.3): a change's tags, the tags it no
  // longer holds, its conditions, whether a move-in query produced it; an
  // event's name ("move-out", "move-in") and patterns.
  std::vector<std::string_view> tags;
  std::vector<std::string_view> removed_tags;
  bool has_active_conditions = false;
  std::string_view active_conditions;  // one '1' (active) or '0' per condition
  bool is_move_in = false;
  std::string_view event;
  std::vector<TagPattern> patterns;
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // `index` is the message's position in the array.
  virtual Status OnMessage(const ShapeMessage& message, int64_t index) = 0;
};

class MessageDecoder : private JsonHandler {
 public:
  // `sink` must outlive the decoder.
  explicit MessageDecoder(MessageSink* sink);

  Status Feed(std::string_view chunk);
  // An empty body counts as [] (protocol notes §2.3).
  Status Finish();
  int64_t messages() const { return index_; }

 private:
  // A string kept either in the current chunk (ptr) or in arena_ (offset).
  struct Span {
    const char* ptr = nullptr;
    size_t off = 0;
    uint32_t len = 0;
    bool in_arena = false;
  };
  struct ColSpan {
    Span name, text;
    bool is_null = false;
  };
  enum class Field : uint8_t { kNone, kKey, kValue, kOldValue, kHeaders };
  // The headers the decoder reads; anything else is skipped.
  enum class Header : uint8_t {
    kOther, kOperation, kControl, kEvent, kLsn, kXmin, kXmax, kGlobalLastSeenLsn,
    kKeyChangeTo, kKeyChangeFrom, kLast, kTxids, kXipList,
    kTags, kRemovedTags, kActiveConditions, kIsMoveIn, kPatterns,
  };
  static Header ClassifyHeader(std::string_view key);

  Status OnToken(JsonToken token, std::string_view text) override;
  Status OnMember(std::string_view key, std::string_view value) override;
  Status OnMessageToken(JsonToken token, std::string_view text);
  Status OnHeaderToken(JsonToken token, std::string_view text);
  Status OnHeaderArrayToken(JsonToken token, std::string_view text);
  Status OnColumnsToken(JsonToken token, std::string_view text, std::vector<ColSpan>* cols);
  Span Keep(std::string_view text);
  std::string_view View(const Span& s) const;
  void PinPending();
  void ResetMessage();
  Status Emit();
  Status Err(std::string_view what) const;

  MessageSink* sink_;
  JsonTokenizer tokenizer_;
  const char* chunk_begin_ = nullptr;
  const char* chunk_end_ = nullptr;
  int depth_ = 0;       // container depth of the tokenizer
  int skip_depth_ = 0;  // > 0 while skipping an ignored value
  int64_t index_ = 0;   // messages completed
  bool in_message_ = false;
  Field field_ = Field::kNone;
  Header header_ = Header::kOther;
  std::string header_key_;  // the current header's name, for error messages
  std::string column_name_pending_;
  bool have_column_name_ = false;
  Span column_name_;
  // Message under construction.
  std::string arena_;
  Span key_, control_, lsn_, kct_, kcf_, xmin_, xmax_, glsn_, operation_, event_;
  bool has_key_ = false, has_control_ = false, has_event_ = false, has_value_ = false;
  bool last_ = false, is_move_in_ = false, has_active_ = false;
  std::vector<ColSpan> value_, old_value_;
  std::vector<Span> xip_, tags_, removed_tags_;
  std::string active_;  // '1'/'0' per condition
  struct PatternSpan {
    int64_t pos = -1;
    Span value;
  };
  std::vector<PatternSpan> patterns_;
  uint8_t pattern_field_ = 0;  // inside a pattern object: 1 after "pos", 2 after "value"
  std::vector<int64_t> txids_;
  ShapeMessage out_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_MESSAGE_DECODER_H_

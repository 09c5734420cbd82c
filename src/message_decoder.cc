#include "message_decoder.h"

#include "pg_value.h"

namespace electrolite {

namespace {

bool IsBegin(JsonToken t) { return t == JsonToken::kBeginObject || t == JsonToken::kBeginArray; }
bool IsEnd(JsonToken t) { return t == JsonToken::kEndObject || t == JsonToken::kEndArray; }
bool IsScalar(JsonToken t) { return !IsBegin(t) && !IsEnd(t) && t != JsonToken::kKey; }

std::string_view ScalarText(JsonToken t, std::string_view text) {
  if (t == JsonToken::kTrue) return "true";
  if (t == JsonToken::kFalse) return "false";
  return text;
}

}  // namespace

MessageDecoder::MessageDecoder(MessageSink* sink) : sink_(sink), tokenizer_(this) {}

Status MessageDecoder::Err(std::string_view what) const {
  std::string m = "message ";
  m += std::to_string(index_);
  m += ": ";
  m += what;
  return Status::Protocol(std::move(m));
}

MessageDecoder::Span MessageDecoder::Keep(std::string_view text) {
  Span s;
  s.len = static_cast<uint32_t>(text.size());
  if (text.data() >= chunk_begin_ && text.data() + text.size() <= chunk_end_) {
    s.ptr = text.data();
  } else {
    s.in_arena = true;
    s.off = arena_.size();
    arena_.append(text.data(), text.size());
  }
  return s;
}

std::string_view MessageDecoder::View(const Span& s) const {
  if (s.in_arena) return std::string_view(arena_.data() + s.off, s.len);
  return std::string_view(s.ptr, s.len);
}

// Copies every chunk-backed span of the message in progress into arena_,
// because the chunk is about to go away.
void MessageDecoder::PinPending() {
  auto pin = [this](Span* s) {
    if (s->in_arena || s->ptr == nullptr) return;
    s->in_arena = true;
    s->off = arena_.size();
    arena_.append(s->ptr, s->len);
    s->ptr = nullptr;
  };
  for (Span* s : {&key_, &control_, &lsn_, &kct_, &kcf_, &xmin_, &xmax_, &glsn_, &operation_,
                  &event_, &column_name_}) {
    pin(s);
  }
  for (auto* cols : {&value_, &old_value_}) {
    for (auto& c : *cols) {
      pin(&c.name);
      pin(&c.text);
    }
  }
  for (auto* list : {&xip_, &tags_, &removed_tags_}) {
    for (auto& s : *list) pin(&s);
  }
  for (auto& p : patterns_) pin(&p.value);
}

void MessageDecoder::ResetMessage() {
  arena_.clear();
  key_ = control_ = lsn_ = kct_ = kcf_ = xmin_ = xmax_ = glsn_ = operation_ = event_ = Span();
  column_name_ = Span();
  has_key_ = has_control_ = has_event_ = has_value_ = last_ = false;
  is_move_in_ = has_active_ = false;
  pattern_field_ = 0;
  value_.clear();
  old_value_.clear();
  xip_.clear();
  tags_.clear();
  removed_tags_.clear();
  active_.clear();
  patterns_.clear();
  txids_.clear();
  field_ = Field::kNone;
}

Status MessageDecoder::Feed(std::string_view chunk) {
  chunk_begin_ = chunk.data();
  chunk_end_ = chunk.data() + chunk.size();
  Status s = tokenizer_.Feed(chunk);
  if (s.ok() && in_message_) PinPending();
  chunk_begin_ = chunk_end_ = nullptr;
  return s;
}

Status MessageDecoder::Finish() { return tokenizer_.Finish(/*allow_empty=*/true); }

Status MessageDecoder::OnToken(JsonToken token, std::string_view text) {
  if (skip_depth_ > 0) {
    if (IsBegin(token)) skip_depth_++;
    if (IsEnd(token)) skip_depth_--;
    return Status::Ok();
  }
  // A column of value / old_value: most of a body's tokens.
  if (depth_ == 3 && field_ != Field::kHeaders) {
    return OnColumnsToken(token, text, field_ == Field::kValue ? &value_ : &old_value_);
  }
  switch (depth_) {
    case 0:
      if (token != JsonToken::kBeginArray) {
        return Status::Protocol("response body is not a JSON array");
      }
      depth_ = 1;
      return Status::Ok();
    case 1:
      if (token == JsonToken::kEndArray) {
        depth_ = 0;
        return Status::Ok();
      }
      if (token != JsonToken::kBeginObject) return Err("not a JSON object");
      ResetMessage();
      in_message_ = true;
      depth_ = 2;
      return Status::Ok();
    default:
      return OnMessageToken(token, text);
  }
}

Status MessageDecoder::OnMember(std::string_view key, std::string_view value) {
  if (skip_depth_ == 0 && depth_ == 3 && field_ != Field::kHeaders) {  // a column's text
    ColSpan c;
    c.name = column_name_ = Keep(key);
    have_column_name_ = true;
    c.text = Keep(value);
    (field_ == Field::kValue ? value_ : old_value_).push_back(c);
    return Status::Ok();
  }
  EL_RETURN_IF_ERROR(OnToken(JsonToken::kKey, key));
  return OnToken(JsonToken::kString, value);
}

Status MessageDecoder::OnMessageToken(JsonToken token, std::string_view text) {
  if (depth_ == 2) {
    if (token == JsonToken::kKey) {
      field_ = text == "key"         ? Field::kKey
               : text == "value"     ? Field::kValue
               : text == "old_value" ? Field::kOldValue
               : text == "headers"   ? Field::kHeaders
                                     : Field::kNone;
      return Status::Ok();
    }
    if (token == JsonToken::kEndObject) {
      depth_ = 1;
      in_message_ = false;
      return Emit();
    }
    Field f = field_;
    field_ = Field::kNone;
    switch (f) {
      case Field::kKey:
        if (token != JsonToken::kString) return Err("key must be a string");
        key_ = Keep(text);
        has_key_ = true;
        return Status::Ok();
      case Field::kValue:
      case Field::kOldValue:
        if (token == JsonToken::kNull) return Status::Ok();
        if (token != JsonToken::kBeginObject) {
          return Err(f == Field::kValue ? "value must be an object" : "old_value must be an object");
        }
        if (f == Field::kValue) has_value_ = true;
        field_ = f;
        depth_ = 3;
        return Status::Ok();
      case Field::kHeaders:
        if (token != JsonToken::kBeginObject) return Err("headers must be an object");
        field_ = f;
        depth_ = 3;
        return Status::Ok();
      case Field::kNone:
        if (IsBegin(token)) skip_depth_ = 1;
        return Status::Ok();
    }
  }
  if (field_ == Field::kHeaders) return OnHeaderToken(token, text);
  return OnColumnsToken(token, text, field_ == Field::kValue ? &value_ : &old_value_);
}

Status MessageDecoder::OnColumnsToken(JsonToken token, std::string_view text,
                                      std::vector<ColSpan>* cols) {
  if (token == JsonToken::kKey) {
    column_name_ = Keep(text);
    have_column_name_ = true;
    return Status::Ok();
  }
  if (token == JsonToken::kEndObject) {
    depth_ = 2;
    field_ = Field::kNone;
    return Status::Ok();
  }
  if (!IsScalar(token)) {
    return Err("column \"" + std::string(View(column_name_)) + "\": value must be a string or null");
  }
  ColSpan c;
  c.name = column_name_;
  if (token == JsonToken::kNull) {
    c.is_null = true;
  } else {
    c.text = Keep(ScalarText(token, text));
  }
  cols->push_back(c);
  return Status::Ok();
}

MessageDecoder::Header MessageDecoder::ClassifyHeader(std::string_view k) {
  switch (k.size()) {
    case 3: return k == "lsn" ? Header::kLsn : Header::kOther;
    case 4:
      if (k == "xmin") return Header::kXmin;
      if (k == "xmax") return Header::kXmax;
      if (k == "last") return Header::kLast;
      if (k == "tags") return Header::kTags;
      return Header::kOther;
    case 5:
      if (k == "txids") return Header::kTxids;
      if (k == "event") return Header::kEvent;
      return Header::kOther;
    case 7: return k == "control" ? Header::kControl : Header::kOther;
    case 8:
      if (k == "xip_list") return Header::kXipList;
      if (k == "patterns") return Header::kPatterns;
      return Header::kOther;
    case 9: return k == "operation" ? Header::kOperation : Header::kOther;
    case 10: return k == "is_move_in" ? Header::kIsMoveIn : Header::kOther;
    case 12: return k == "removed_tags" ? Header::kRemovedTags : Header::kOther;
    case 13: return k == "key_change_to" ? Header::kKeyChangeTo : Header::kOther;
    case 15: return k == "key_change_from" ? Header::kKeyChangeFrom : Header::kOther;
    case 17: return k == "active_conditions" ? Header::kActiveConditions : Header::kOther;
    case 20: return k == "global_last_seen_lsn" ? Header::kGlobalLastSeenLsn : Header::kOther;
    default: return Header::kOther;
  }
}

// Inside tags / removed_tags / active_conditions / patterns (depth 4, and 5
// inside one pattern object).
Status MessageDecoder::OnHeaderArrayToken(JsonToken token, std::string_view text) {
  const Header h = header_;
  if (depth_ == 5) {  // {"pos": n, "value": "tag"}
    if (token == JsonToken::kKey) {
      pattern_field_ = text == "pos" ? 1 : text == "value" ? 2 : 0;
      return Status::Ok();
    }
    if (token == JsonToken::kEndObject) {
      if (patterns_.back().pos < 0) patterns_.pop_back();  // not a pattern this decoder knows
      depth_ = 4;
      return Status::Ok();
    }
    if (IsBegin(token)) {
      skip_depth_ = 1;
      return Status::Ok();
    }
    if (pattern_field_ == 1) {
      int64_t v;
      if (token == JsonToken::kNumber && ParseInt64(text, &v) && v >= 0) patterns_.back().pos = v;
    } else if (pattern_field_ == 2 && token == JsonToken::kString) {
      patterns_.back().value = Keep(text);
    }
    pattern_field_ = 0;
    return Status::Ok();
  }
  if (token == JsonToken::kEndArray) {
    depth_ = 3;
    return Status::Ok();
  }
  // Elements of a form these headers do not have are skipped, like unknown headers.
  if (h == Header::kPatterns && token == JsonToken::kBeginObject) {
    patterns_.emplace_back();
    depth_ = 5;
    return Status::Ok();
  }
  if (IsBegin(token)) {
    skip_depth_ = 1;
    return Status::Ok();
  }
  if (h == Header::kActiveConditions) {
    if (token == JsonToken::kTrue || token == JsonToken::kFalse) {
      active_.push_back(token == JsonToken::kTrue ? '1' : '0');
    }
    return Status::Ok();
  }
  if (h != Header::kPatterns && token == JsonToken::kString) {
    (h == Header::kTags ? tags_ : removed_tags_).push_back(Keep(text));
  }
  return Status::Ok();
}

Status MessageDecoder::OnHeaderToken(JsonToken token, std::string_view text) {
  if (depth_ >= 4 && (header_ == Header::kTags || header_ == Header::kRemovedTags ||
                      header_ == Header::kActiveConditions || header_ == Header::kPatterns)) {
    return OnHeaderArrayToken(token, text);
  }
  if (depth_ == 4) {  // inside txids / xip_list
    if (token == JsonToken::kEndArray) {
      depth_ = 3;
      return Status::Ok();
    }
    if (token != JsonToken::kString && token != JsonToken::kNumber) {
      return Err("headers." + header_key_ + " must hold numbers or strings");
    }
    if (header_ == Header::kTxids) {
      int64_t v;
      if (!ParseInt64(text, &v)) return Err("invalid txid '" + std::string(text.substr(0, 32)) + "'");
      txids_.push_back(v);
    } else {
      xip_.push_back(Keep(text));
    }
    return Status::Ok();
  }
  if (token == JsonToken::kKey) {
    header_ = ClassifyHeader(text);
    // Kept for error messages about this header's value.
    if (header_ != Header::kOther) header_key_.assign(text.data(), text.size());
    return Status::Ok();
  }
  if (token == JsonToken::kEndObject) {
    depth_ = 2;
    field_ = Field::kNone;
    return Status::Ok();
  }
  const Header h = header_;
  if (token == JsonToken::kBeginArray &&
      (h == Header::kTxids || h == Header::kXipList || h == Header::kTags ||
       h == Header::kRemovedTags || h == Header::kActiveConditions || h == Header::kPatterns)) {
    if (h == Header::kActiveConditions) has_active_ = true;
    depth_ = 4;
    return Status::Ok();
  }
  if (IsBegin(token)) {
    skip_depth_ = 1;  // relation, tags, ... are not needed
    return Status::Ok();
  }
  bool textual = token == JsonToken::kString || token == JsonToken::kNumber;
  switch (h) {
    case Header::kOperation:
    case Header::kControl:
    case Header::kEvent: {
      if (token != JsonToken::kString) return Err("headers." + header_key_ + " must be a string");
      Span s = Keep(text);
      if (h == Header::kOperation) {
        operation_ = s;
      } else if (h == Header::kControl) {
        control_ = s;
        has_control_ = true;
      } else {
        event_ = s;
        has_event_ = true;
      }
      return Status::Ok();
    }
    case Header::kLsn:
    case Header::kXmin:
    case Header::kXmax:
    case Header::kGlobalLastSeenLsn:
    case Header::kKeyChangeTo:
    case Header::kKeyChangeFrom: {
      if (!textual) return Err("headers." + header_key_ + " must be a string");
      Span s = Keep(text);
      if (h == Header::kLsn) lsn_ = s;
      else if (h == Header::kXmin) xmin_ = s;
      else if (h == Header::kXmax) xmax_ = s;
      else if (h == Header::kGlobalLastSeenLsn) glsn_ = s;
      else if (h == Header::kKeyChangeTo) kct_ = s;
      else kcf_ = s;
      return Status::Ok();
    }
    case Header::kLast:
      last_ = token == JsonToken::kTrue;
      return Status::Ok();
    case Header::kIsMoveIn:
      is_move_in_ = token == JsonToken::kTrue;
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

Status MessageDecoder::Emit() {
  ShapeMessage& m = out_;
  m.value.clear();
  m.old_value.clear();
  m.xip_list.clear();
  m.txids = txids_;
  m.key = has_key_ ? View(key_) : std::string_view();
  m.control = has_control_ ? View(control_) : std::string_view();
  m.lsn = View(lsn_);
  m.last = last_;
  m.key_change_to = View(kct_);
  m.key_change_from = View(kcf_);
  m.xmin = View(xmin_);
  m.xmax = View(xmax_);
  m.global_last_seen_lsn = View(glsn_);
  for (const Span& s : xip_) m.xip_list.push_back(View(s));
  m.tags.clear();
  m.removed_tags.clear();
  m.patterns.clear();
  for (const Span& s : tags_) m.tags.push_back(View(s));
  for (const Span& s : removed_tags_) m.removed_tags.push_back(View(s));
  m.has_active_conditions = has_active_;
  m.active_conditions = active_;
  m.is_move_in = is_move_in_;
  m.event = has_event_ ? View(event_) : std::string_view();
  for (const PatternSpan& p : patterns_) m.patterns.push_back({p.pos, View(p.value)});
  m.op = Operation::kNone;
  m.has_value = has_value_;
  if (has_key_) {
    m.kind = ShapeMessage::Kind::kChange;
    std::string_view op = View(operation_);
    if (op == "insert") m.op = Operation::kInsert;
    else if (op == "update") m.op = Operation::kUpdate;
    else if (op == "delete") m.op = Operation::kDelete;
    else if (op.empty()) return Err("change message without headers.operation");
    else return Err("unknown operation '" + std::string(op.substr(0, 32)) + "'");
    if (!has_value_) return Err("change message without value");
    for (const ColSpan& c : value_) m.value.push_back({View(c.name), View(c.text), c.is_null});
    for (const ColSpan& c : old_value_) {
      m.old_value.push_back({View(c.name), View(c.text), c.is_null});
    }
  } else if (has_control_) {
    m.kind = ShapeMessage::Kind::kControl;
  } else if (has_event_) {
    m.kind = ShapeMessage::Kind::kEvent;
  } else {
    m.kind = ShapeMessage::Kind::kOther;  // unknown messages are skipped
  }
  Status s = sink_->OnMessage(m, index_);
  index_++;
  return s;
}

}  // namespace electrolite

// JsonValue: storage, access and comparison. Text (parse, dump) is in
// json_value_text.cc.
#include "json_value.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace electrolite {

namespace {

// Index of the first member whose key is not less than `key`.
template <typename Members>
size_t LowerBound(Members& members, std::string_view key) {
  size_t lo = 0, hi = members.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (std::string_view(members[mid].key) < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

JsonValue::JsonValue(std::initializer_list<JsonValue> init) : type_(Type::kNull), int_(0) {
  bool pairs = true;
  for (const JsonValue& e : init) {
    if (!e.is_array() || e.array_.size() != 2 || !e.array_[0].is_string()) {
      pairs = false;
      break;
    }
  }
  if (pairs) {
    type_ = Type::kObject;
    new (&object_) Object();
    object_.reserve(init.size());
    for (const JsonValue& e : init) emplace(e.array_[0].string_, e.array_[1]);
  } else {
    type_ = Type::kArray;
    new (&array_) Array(init);
  }
}

JsonValue::JsonValue(const JsonValue& other) : type_(Type::kNull), int_(0) { CopyFrom(other); }

JsonValue::JsonValue(JsonValue&& other) noexcept : type_(Type::kNull), int_(0) {
  MoveFrom(std::move(other));
}

JsonValue& JsonValue::operator=(const JsonValue& other) {
  if (this != &other) {
    JsonValue copy(other);  // `other` may live inside *this
    Destroy();
    MoveFrom(std::move(copy));
  }
  return *this;
}

JsonValue& JsonValue::operator=(JsonValue&& other) noexcept {
  if (this != &other) {
    JsonValue moved(std::move(other));  // `other` may live inside *this
    Destroy();
    MoveFrom(std::move(moved));
  }
  return *this;
}

void JsonValue::Destroy() noexcept {
  switch (type_) {
    case Type::kString: string_.~basic_string(); break;
    case Type::kArray: array_.~Array(); break;
    case Type::kObject: object_.~Object(); break;
    default: break;
  }
  type_ = Type::kNull;
  int_ = 0;
}

// REQUIRES: *this holds no string, array or object.
void JsonValue::CopyFrom(const JsonValue& other) {
  switch (other.type_) {
    case Type::kString: new (&string_) std::string(other.string_); break;
    case Type::kArray: new (&array_) Array(other.array_); break;
    case Type::kObject: new (&object_) Object(other.object_); break;
    case Type::kBool: bool_ = other.bool_; break;
    case Type::kFloat: double_ = other.double_; break;
    case Type::kUnsigned: uint_ = other.uint_; break;
    default: int_ = other.int_; break;  // integer; 0 for null and discarded
  }
  type_ = other.type_;
}

// REQUIRES: *this holds no string, array or object. Leaves `other` null.
void JsonValue::MoveFrom(JsonValue&& other) noexcept {
  switch (other.type_) {
    case Type::kString: new (&string_) std::string(std::move(other.string_)); break;
    case Type::kArray: new (&array_) Array(std::move(other.array_)); break;
    case Type::kObject: new (&object_) Object(std::move(other.object_)); break;
    case Type::kBool: bool_ = other.bool_; break;
    case Type::kFloat: double_ = other.double_; break;
    case Type::kUnsigned: uint_ = other.uint_; break;
    default: int_ = other.int_; break;
  }
  type_ = other.type_;
  other.Destroy();
}

JsonValue JsonValue::object() {
  JsonValue v;
  v.type_ = Type::kObject;
  new (&v.object_) Object();
  return v;
}

JsonValue JsonValue::array() {
  JsonValue v;
  v.type_ = Type::kArray;
  new (&v.array_) Array();
  return v;
}

JsonValue JsonValue::array(std::initializer_list<JsonValue> init) {
  JsonValue v;
  v.type_ = Type::kArray;
  new (&v.array_) Array(init);
  return v;
}

const std::string& JsonValue::EmptyString() {
  static const std::string* empty = new std::string();
  return *empty;
}

const JsonValue& JsonValue::Null() {
  static const JsonValue* null = new JsonValue();
  return *null;
}

int64_t JsonValue::AsInt64() const {
  switch (type_) {
    case Type::kBool: return bool_ ? 1 : 0;
    case Type::kInteger: return int_;
    case Type::kUnsigned: return static_cast<int64_t>(uint_);
    case Type::kFloat:
      if (std::isnan(double_)) return 0;
      if (double_ <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
      if (double_ >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
      return static_cast<int64_t>(double_);
    default: return 0;
  }
}

uint64_t JsonValue::AsUint64() const {
  switch (type_) {
    case Type::kBool: return bool_ ? 1 : 0;
    case Type::kInteger: return static_cast<uint64_t>(int_);
    case Type::kUnsigned: return uint_;
    case Type::kFloat:
      if (std::isnan(double_) || double_ <= 0) return 0;
      if (double_ >= 18446744073709551616.0) return std::numeric_limits<uint64_t>::max();
      return static_cast<uint64_t>(double_);
    default: return 0;
  }
}

double JsonValue::AsDouble() const {
  switch (type_) {
    case Type::kBool: return bool_ ? 1 : 0;
    case Type::kInteger: return static_cast<double>(int_);
    case Type::kUnsigned: return static_cast<double>(uint_);
    case Type::kFloat: return double_;
    default: return 0;
  }
}

size_t JsonValue::size() const {
  switch (type_) {
    case Type::kNull: return 0;
    case Type::kArray: return array_.size();
    case Type::kObject: return object_.size();
    default: return 1;
  }
}

JsonValue::iterator JsonValue::begin() {
  if (is_object()) return iterator(nullptr, object_.data());
  if (is_array()) return iterator(array_.data(), nullptr);
  return iterator(this, nullptr);
}

JsonValue::iterator JsonValue::end() {
  if (is_object()) return iterator(nullptr, object_.data() + object_.size());
  if (is_array()) return iterator(array_.data() + array_.size(), nullptr);
  return iterator(is_null() || is_discarded() ? this : this + 1, nullptr);
}

JsonValue::const_iterator JsonValue::begin() const {
  return const_cast<JsonValue*>(this)->begin();
}

JsonValue::const_iterator JsonValue::end() const { return const_cast<JsonValue*>(this)->end(); }

const JsonValue::Member* JsonValue::FindMember(std::string_view key) const {
  if (!is_object()) return nullptr;
  const size_t i = LowerBound(object_, key);
  return i < object_.size() && object_[i].key == key ? &object_[i] : nullptr;
}

JsonValue::iterator JsonValue::find(std::string_view key) {
  const Member* m = FindMember(key);
  return m == nullptr ? end() : iterator(nullptr, const_cast<Member*>(m));
}

JsonValue::const_iterator JsonValue::find(std::string_view key) const {
  return const_cast<JsonValue*>(this)->find(key);
}

std::pair<JsonValue::iterator, bool> JsonValue::emplace(std::string_view key, JsonValue v) {
  if (!is_object()) *this = object();
  const size_t i = LowerBound(object_, key);
  if (i < object_.size() && object_[i].key == key) {
    return {iterator(nullptr, &object_[i]), false};
  }
  // Open a slot at i (smaller code than vector::insert).
  object_.emplace_back();
  for (size_t j = object_.size() - 1; j > i; --j) object_[j] = std::move(object_[j - 1]);
  Member& m = object_[i];
  m.key.assign(key.data(), key.size());
  m.value = std::move(v);
  return {iterator(nullptr, &m), true};
}

JsonValue& JsonValue::operator[](std::string_view key) {
  return *emplace(key, JsonValue()).first;
}

const JsonValue& JsonValue::operator[](std::string_view key) const {
  const Member* m = FindMember(key);
  return m == nullptr ? Null() : m->value;
}

size_t JsonValue::erase(std::string_view key) {
  const Member* m = FindMember(key);
  if (m == nullptr) return 0;
  object_.erase(object_.begin() + (m - object_.data()));
  return 1;
}

JsonValue::Array& JsonValue::MutableArray() {
  if (!is_array()) *this = array();
  return array_;
}

void JsonValue::push_back(JsonValue v) { MutableArray().push_back(std::move(v)); }

JsonValue& JsonValue::Element(size_t index) {
  Array& a = MutableArray();
  if (index >= a.size()) a.resize(index + 1);
  return a[index];
}

const JsonValue& JsonValue::Element(size_t index) const {
  return is_array() && index < array_.size() ? array_[index] : Null();
}

bool JsonValue::Equal(const JsonValue& a, const JsonValue& b) {
  if (a.type_ != b.type_) {
    if (!a.is_number() || !b.is_number()) return false;
    if (a.is_number_float() || b.is_number_float()) return a.AsDouble() == b.AsDouble();
    // One signed, one unsigned: equal only when both are the same non-negative value.
    const JsonValue& s = a.type_ == Type::kInteger ? a : b;
    const JsonValue& u = a.type_ == Type::kInteger ? b : a;
    return s.int_ >= 0 && static_cast<uint64_t>(s.int_) == u.uint_;
  }
  switch (a.type_) {
    case Type::kNull: return true;
    case Type::kBool: return a.bool_ == b.bool_;
    case Type::kInteger: return a.int_ == b.int_;
    case Type::kUnsigned: return a.uint_ == b.uint_;
    case Type::kFloat: return a.double_ == b.double_;
    case Type::kString: return a.string_ == b.string_;
    case Type::kArray: return a.array_ == b.array_;
    case Type::kObject:
      if (a.object_.size() != b.object_.size()) return false;
      for (size_t i = 0; i < a.object_.size(); ++i) {
        if (a.object_[i].key != b.object_[i].key ||
            !Equal(a.object_[i].value, b.object_[i].value)) {
          return false;
        }
      }
      return true;
    case Type::kDiscarded: return false;
  }
  return false;
}

int JsonValue::Compare(const JsonValue& a, const JsonValue& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() || b.is_number_float()) return Cmp(a.AsDouble(), b.AsDouble());
    const bool an = a.type_ == Type::kInteger && a.int_ < 0;
    const bool bn = b.type_ == Type::kInteger && b.int_ < 0;
    if (an != bn) return an ? -1 : 1;
    return an ? Cmp(a.int_, b.int_) : Cmp(a.AsUint64(), b.AsUint64());
  }
  auto rank = [](Type t) {
    return t == Type::kUnsigned || t == Type::kFloat ? static_cast<int>(Type::kInteger)
                                                     : static_cast<int>(t);
  };
  if (rank(a.type_) != rank(b.type_)) return Cmp(rank(a.type_), rank(b.type_));
  switch (a.type_) {
    case Type::kBool: return Cmp(a.bool_, b.bool_);
    case Type::kString: {
      const int c = a.string_.compare(b.string_);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case Type::kArray: {
      const size_t n = std::min(a.array_.size(), b.array_.size());
      for (size_t i = 0; i < n; ++i) {
        if (int c = Compare(a.array_[i], b.array_[i]); c != 0) return c;
      }
      return Cmp(a.array_.size(), b.array_.size());
    }
    case Type::kObject: {
      const size_t n = std::min(a.object_.size(), b.object_.size());
      for (size_t i = 0; i < n; ++i) {
        if (int c = a.object_[i].key.compare(b.object_[i].key); c != 0) return c < 0 ? -1 : 1;
        if (int c = Compare(a.object_[i].value, b.object_[i].value); c != 0) return c;
      }
      return Cmp(a.object_.size(), b.object_.size());
    }
    default: return 0;  // null, discarded
  }
}

}  // namespace electrolite

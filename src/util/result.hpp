// result<T>: a value or an error_info, the project's way to return failures from
// plain (non-actor) code. Actors use caf::error; the edges (startup, HTTP, console)
// turn either into a message a person can act on.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace troupe {

// What went wrong, and where. `file` and `where` may be empty.
// `where` is a line ("line 12"), a JSON path ("$.clusters[\"*\"].writeQuorum") or both.
struct error_info {
  std::string file;
  std::string where;
  std::string what;

  // "file: where: what", leaving out the empty parts.
  std::string render() const {
    std::string out;
    if (!file.empty()) out += file + ": ";
    if (!where.empty()) out += where + ": ";
    out += what;
    return out;
  }
};

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}
  result(error_info err) : v_(std::move(err)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error_info& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, error_info> v_;
};

// result<void> stand-in.
struct ok_t {};
using status = result<ok_t>;
inline status ok_status() { return ok_t{}; }

}  // namespace troupe

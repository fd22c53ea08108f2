// What select.cpp and graph.cpp share while they evaluate a statement
// (internal to src/query: not part of the engine's interface).
//
// Records as values: a link is a string holding a valid RID ("#9:1"), as the
// graph layout stores them (out_*/in_* arrays, an edge's out/in); a record
// loaded for evaluation is its fields plus "@rid", "@class" and "@version".
// Nothing is cached across statements: each statement starts a new context.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "src/query/ast.hpp"
#include "src/query/select.hpp"
#include "src/storage/database.hpp"

namespace troupe::query::detail {

struct eval_context {
  const storage::database* db = nullptr;  // null: links are values, never followed
  const params* ps = nullptr;             // never null while evaluating
  select_limits limits;
  size_t records_read = 0;  // every record read by the statement (scans and links)
  std::string error;        // the first error; evaluation yields null once it is set
  // While a LET subquery runs (select.hpp): the record of the statement that
  // runs it, which $parent.$current names, and that statement's own parent.
  // Null at the top. Points into the caller's stack frame: set for the
  // subquery's run only.
  struct scope {
    const boost::json::object* current = nullptr;
    const scope* parent = nullptr;
  };
  const scope* outer = nullptr;
  // What EXPLAIN reports, counted over the whole statement (subqueries included).
  struct profile {
    std::vector<std::string> indexes;  // the indexes read, once each, in order of use
    size_t index_fields = 0;           // index fields constrained by the last index lookup
    size_t index_reads = 0;            // RIDs read from indexes
    size_t target_reads = 0;           // records read from class and cluster targets
    size_t evaluated = 0;              // records a SELECT's WHERE was evaluated on
    std::optional<storage::rid> current;  // the last record read from a class or cluster target
  } stats;

  bool failed() const { return !error.empty(); }
  void fail(std::string what) {
    if (error.empty()) error = std::move(what);
  }
  // Counts one record read; false (and the error set) past scan_records_max.
  bool count_read();
};

// The RID a value links to: a RID string, or a loaded record (its "@rid").
std::optional<storage::rid> as_link(const boost::json::value& v);
// A record as evaluation sees it.
boost::json::object to_doc(const storage::record& rec);
// The record `id` (counted as read), or nullopt when absent, when there is no
// database, or once the context failed.
std::optional<storage::record> load_record(eval_context& ctx, const storage::rid& id);
std::optional<boost::json::object> load(eval_context& ctx, const storage::rid& id);

boost::json::value eval(const expr& e, const boost::json::object& doc, eval_context& ctx);
bool eval_holds(const expr& e, const boost::json::object& doc, eval_context& ctx);

// One record a statement reads: its document as evaluation sees it (with
// "$depth" for the records of a TRAVERSE) and its JSON as a whole-record row.
struct source_row {
  boost::json::object doc;
  std::string text;
  // The record the row was read from, when `text` is left to be made from it:
  // most rows a scan reads fail the WHERE, and printing them would cost more
  // than evaluating it. Valid only while the row is being visited.
  const storage::record* rec = nullptr;
  std::string take_text() { return rec != nullptr && text.empty() ? rec->to_json() : std::move(text); }
};
// Feeds the records of `t` to `visit` in order until it returns false.
// Returns false (ctx.error set) on an error. `where`, when given, is the
// caller's filter, which it evaluates on every record it is fed: a class
// target may then feed only the candidates of an index for it (src/query/plan.hpp,
// unless ctx.limits.use_indexes is false), in the order a scan would feed
// them, so the caller sees the same matching records either way.
bool for_each_source(eval_context& ctx, const target& t, const std::function<bool(source_row&&)>& visit,
                     const expr_ptr& where = nullptr);

}  // namespace troupe::query::detail

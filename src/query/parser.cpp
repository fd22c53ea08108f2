#include "src/query/parser.hpp"

#include <algorithm>
#include <cassert>
#include <initializer_list>
#include <optional>
#include <utility>

#include "src/query/parse_write.hpp"
#include "src/util/ascii.hpp"
#include "src/util/strings.hpp"

namespace troupe::query {

namespace {

constexpr uint64_t int64_magnitude_max = uint64_t{1} << 63;  // |INT64_MIN|

// A subtree and its height, so that a too-deep tree is refused while it is
// built (a left-deep chain a+a+a+... never recurses in the parser but would
// when the tree is destroyed or evaluated).
struct sub {
  expr_ptr e;
  int height = 0;
  explicit operator bool() const { return e != nullptr; }
};

// Recursive descent over the tokens, one function per precedence level.
// Every function returns an empty result after recording the first error in
// err_; callers return at once, so nothing is read after an error.
class parser final : public statement_parser {
 public:
  parser(std::string_view text, std::vector<token> toks) : text_(text), toks_(std::move(toks)) {
    assert(!toks_.empty() && toks_.back().k == token::kind::end);
  }

  std::variant<statement, syntax_error> run() {
    if (is_word("traverse")) return traverse_statement();
    if (is_word("explain")) {
      explain_stmt x;
      x.pos = peek().pos;
      advance();
      if (!select(x.select)) {
        assert(err_ && err_->position <= text_.size());
        return std::move(*err_);
      }
      assert(!err_);
      return statement{std::move(x)};
    }
    if (starts_write(peek())) {
      statement w;
      if (!parse_write(*this, w)) {
        assert(err_ && err_->position <= text_.size());
        return std::move(*err_);
      }
      assert(!err_);
      return w;
    }
    select_stmt s;
    if (!is_kw(keyword::select)) fail("SELECT or TRAVERSE");
    if (!select(s)) {
      assert(err_ && err_->position <= text_.size());
      return std::move(*err_);
    }
    assert(!err_);
    return statement{std::move(s)};
  }

  // ---- statement_parser: what the write grammar (parse_write.cpp) uses ----
  const token& at(size_t ahead) const override { return peek(ahead); }
  void next() override { advance(); }
  bool error(std::string expected) override { return fail(std::move(expected)); }
  expr_ptr parse_expression() override { return expression().e; }
  bool parse_target(target& t) override { return from_target(t); }
  bool parse_count(std::optional<int64_t>& out) override { return count(out, true); }
  // '(' SELECT ... ')': the tokens up to the matching ')' are parsed as a
  // SELECT of their own (same text, so positions stay right; positional
  // parameters go on numbering).
  bool parse_subquery(select_stmt& s) override {
    if (!is_punct("(")) return fail("'(' and a SELECT");
    size_t open = i_, close = i_;
    for (size_t depth = 0; close + 1 < toks_.size(); ++close) {
      const token& t = toks_[close];
      if (t.k == K::punct && t.text == "(") ++depth;
      if (t.k == K::punct && t.text == ")" && --depth == 0) break;
    }
    if (close + 1 >= toks_.size()) {
      i_ = toks_.size() - 1;
      return fail("')' closing the subquery");
    }
    std::vector<token> inner(toks_.begin() + static_cast<std::ptrdiff_t>(open) + 1,
                             toks_.begin() + static_cast<std::ptrdiff_t>(close));
    token end;
    end.pos = toks_[close].pos;
    inner.push_back(std::move(end));
    parser sub(text_, std::move(inner));
    sub.depth_ = depth_ + 1;
    sub.next_param_ = next_param_;
    if (!sub.select(s)) {
      err_ = std::move(sub.err_);
      return false;
    }
    next_param_ = sub.next_param_;
    i_ = close;
    advance();
    return true;
  }

 private:
  using K = token::kind;

  const token& peek(size_t ahead = 0) const { return toks_[std::min(i_ + ahead, toks_.size() - 1)]; }
  bool is_kw(keyword kw, size_t ahead = 0) const {
    return peek(ahead).k == K::keyword && peek(ahead).kw == kw;
  }
  bool is_punct(std::string_view p, size_t ahead = 0) const {
    return peek(ahead).k == K::punct && peek(ahead).text == p;
  }
  void advance() {
    if (i_ + 1 < toks_.size()) ++i_;
  }
  bool accept_kw(keyword kw) {
    if (!is_kw(kw)) return false;
    advance();
    return true;
  }
  bool accept_punct(std::string_view p) {
    if (!is_punct(p)) return false;
    advance();
    return true;
  }
  bool fail(std::string expected) {
    if (!err_) err_ = syntax_error{peek().pos, std::move(expected), describe(text_, peek())};
    return false;
  }
  sub failed(std::string expected) {
    fail(std::move(expected));
    return {};
  }
  sub too_deep() { return failed(cat("an expression nested at most ", expression_depth_max, " levels deep")); }

  template <class Node>
  sub make(size_t pos, Node n, std::initializer_list<int> child_heights) {
    int h = 1 + std::max(child_heights);
    if (h > expression_depth_max) return too_deep();
    return {std::make_shared<const expr>(expr{std::move(n), pos}), h};
  }
  sub make_binary(binary_op op, sub a, sub b) {
    size_t pos = a.e->pos;
    return make(pos, binary{op, std::move(a.e), std::move(b.e)}, {a.height, b.height});
  }

  // Counts the parser's own recursion (parentheses, NOT NOT ..., - - ...),
  // which the height of the tree alone does not see: "((((a))))" has height 1.
  struct nesting {
    int& depth;
    explicit nesting(int& d) : depth(++d) {}
    ~nesting() { --depth; }
    nesting(const nesting&) = delete;
    nesting& operator=(const nesting&) = delete;
    bool too_deep() const { return depth > expression_depth_max; }
  };

  // ---- statement -------------------------------------------------------

  // nested: inside FROM ( ... ), where the caller reads the ')'.
  bool select(select_stmt& s, bool nested = false) {
    if (!accept_kw(keyword::select)) return fail("SELECT");
    if (accept_punct("*")) {
      if (!is_kw(keyword::from)) return fail("FROM");
    } else if (!is_kw(keyword::from)) {
      if (peek().k == K::end) return fail("a projection, * or FROM");
      do {
        auto e = expression();
        if (!e) return false;
        projection p{std::move(e.e), ""};
        if (accept_kw(keyword::as)) {
          if (peek().k != K::ident) return fail("an alias name after AS");
          p.alias = peek().text;
          advance();
        }
        s.projections.push_back(std::move(p));
      } while (accept_punct(","));
    }
    if (!s.projections.empty() && no_target_follows(nested)) {
      s.from.k = target::kind::none;
      s.from.pos = peek().pos;
    } else {
      if (!accept_kw(keyword::from)) return fail(s.projections.empty() ? "FROM" : "',' or FROM");
      if (!from_target(s.from)) return false;
    }
    if (is_word("let") && !let_clause(s.let)) return false;
    if (accept_kw(keyword::where)) {
      auto e = expression();
      if (!e) return false;
      s.where = std::move(e.e);
    }
    if (accept_kw(keyword::group)) {
      if (!accept_kw(keyword::by)) return fail("BY after GROUP");
      do {
        auto e = expression();
        if (!e) return false;
        s.group_by.push_back(std::move(e.e));
      } while (accept_punct(","));
    }
    if (accept_kw(keyword::order)) {
      if (!accept_kw(keyword::by)) return fail("BY after ORDER");
      do {
        auto e = expression();
        if (!e) return false;
        order_item o{std::move(e.e), false};
        if (accept_kw(keyword::desc)) o.desc = true;
        else accept_kw(keyword::asc);
        s.order_by.push_back(std::move(o));
      } while (accept_punct(","));
    }
    // OrientDB accepts SKIP and LIMIT in either order.
    for (;;) {
      if (!s.skip && accept_kw(keyword::skip)) {
        if (!count(s.skip, false)) return false;
      } else if (!s.limit && accept_kw(keyword::limit)) {
        if (!count(s.limit, true)) return false;
      } else {
        break;
      }
    }
    if (nested) return true;
    accept_punct(";");
    if (peek().k != K::end) return fail("end of statement");
    return true;
  }

  // SKIP n (n >= 0) or LIMIT n (n >= 0, or -1 for none).
  bool count(std::optional<int64_t>& out, bool minus_one) {
    if (minus_one && is_punct("-") && peek(1).k == K::integer && peek(1).u == 1) {
      advance();
      advance();
      out = -1;
      return true;
    }
    if (peek().k != K::integer || peek().u > uint64_t{INT64_MAX})
      return fail(minus_one ? "a non-negative integer or -1" : "a non-negative integer");
    out = static_cast<int64_t>(peek().u);
    advance();
    return true;
  }

  bool from_target(target& t) {
    const token& tok = peek();
    t.pos = tok.pos;
    if (tok.k == K::ident) {
      t.k = target::kind::klass;
      t.name = tok.text;
      advance();
      return true;
    }
    if (tok.k == K::rid) {
      t.k = target::kind::rids;
      t.rids.push_back(tok.r);
      advance();
      return true;
    }
    if (accept_kw(keyword::cluster)) {
      t.k = target::kind::cluster;
      // "cluster:name" lexes as CLUSTER and the named parameter ":name".
      if (peek().k == K::param && !peek().text.empty()) {
        t.name = peek().text;
        advance();
        return true;
      }
      if (!accept_punct(":")) return fail("':' and a cluster name or id after CLUSTER");
      if (peek().k != K::ident && peek().k != K::integer) return fail("a cluster name or id");
      t.name = peek().k == K::ident ? peek().text : std::string(text_.substr(peek().pos, peek().len));
      advance();
      return true;
    }
    if (is_punct("(")) return subquery_target(t);
    if (accept_punct("[")) {
      t.k = target::kind::rids;
      do {
        if (peek().k != K::rid) return fail("a RID");
        t.rids.push_back(peek().r);
        advance();
      } while (accept_punct(","));
      if (!accept_punct("]")) return fail("',' or ']'");
      return true;
    }
    return fail("a class name, CLUSTER:name, a RID, a list of RIDs or (a subquery)");
  }

  // ---- expressions, loosest first ----------------------------------------

  sub expression() {
    nesting n(depth_);
    if (n.too_deep()) return too_deep();
    return or_expr();
  }

  sub or_expr() {
    auto a = and_expr();
    while (a && accept_kw(keyword::or_)) {
      auto b = and_expr();
      if (!b) return {};
      a = make_binary(binary_op::or_, std::move(a), std::move(b));
    }
    return a;
  }

  sub and_expr() {
    auto a = not_expr();
    while (a && accept_kw(keyword::and_)) {
      auto b = not_expr();
      if (!b) return {};
      a = make_binary(binary_op::and_, std::move(a), std::move(b));
    }
    return a;
  }

  sub not_expr() {
    if (!is_kw(keyword::not_)) return comparison();
    size_t pos = peek().pos;
    advance();
    nesting n(depth_);
    if (n.too_deep()) return too_deep();
    auto a = not_expr();
    if (!a) return {};
    return make(pos, unary{unary_op::not_, a.e}, {a.height});
  }

  std::optional<binary_op> comparison_op() const {
    const token& t = peek();
    if (t.k == K::keyword) {
      if (t.kw == keyword::like) return binary_op::like;
      if (t.kw == keyword::contains) return binary_op::contains;
      return std::nullopt;
    }
    if (t.k != K::punct) return std::nullopt;
    if (t.text == "=") return binary_op::eq;
    if (t.text == "<>" || t.text == "!=") return binary_op::ne;
    if (t.text == "<") return binary_op::lt;
    if (t.text == "<=") return binary_op::le;
    if (t.text == ">") return binary_op::gt;
    if (t.text == ">=") return binary_op::ge;
    return std::nullopt;
  }

  sub comparison() {
    auto a = additive();
    if (!a) return {};
    size_t pos = a.e->pos;
    if (auto op = comparison_op()) {
      advance();
      auto b = additive();
      if (!b) return {};
      return make_binary(*op, std::move(a), std::move(b));
    }
    if (is_kw(keyword::in) || (is_kw(keyword::not_) && is_kw(keyword::in, 1))) {
      auto op = is_kw(keyword::in) ? binary_op::in : binary_op::not_in;
      advance();
      if (op == binary_op::not_in) advance();
      auto b = is_punct("(") ? list_of(")") : additive();
      if (!b) return {};
      return make_binary(op, std::move(a), std::move(b));
    }
    if (accept_kw(keyword::between)) {
      // The bounds are additive expressions, so the AND is BETWEEN's own.
      auto lo = additive();
      if (!lo) return {};
      if (!accept_kw(keyword::and_)) return failed("AND of BETWEEN");
      auto hi = additive();
      if (!hi) return {};
      return make(pos, between{a.e, lo.e, hi.e}, {a.height, lo.height, hi.height});
    }
    if (accept_kw(keyword::is)) {
      bool negated = accept_kw(keyword::not_);
      unary_op op;
      if (accept_kw(keyword::null)) op = negated ? unary_op::is_not_null : unary_op::is_null;
      else if (accept_kw(keyword::defined)) op = negated ? unary_op::is_not_defined : unary_op::is_defined;
      else return failed(negated ? "NULL or DEFINED" : "NOT, NULL or DEFINED");
      return make(pos, unary{op, a.e}, {a.height});
    }
    return a;
  }

  sub additive() {
    auto a = multiplicative();
    while (a && (is_punct("+") || is_punct("-"))) {
      auto op = is_punct("+") ? binary_op::add : binary_op::sub;
      advance();
      auto b = multiplicative();
      if (!b) return {};
      a = make_binary(op, std::move(a), std::move(b));
    }
    return a;
  }

  sub multiplicative() {
    auto a = negation();
    while (a && (is_punct("*") || is_punct("/") || is_punct("%"))) {
      auto op = is_punct("*") ? binary_op::mul : is_punct("/") ? binary_op::div : binary_op::mod;
      advance();
      auto b = negation();
      if (!b) return {};
      a = make_binary(op, std::move(a), std::move(b));
    }
    return a;
  }

  sub negation() {
    if (!is_punct("-")) return primary();
    size_t pos = peek().pos;
    advance();
    if (peek().k == K::integer) {
      // "-<number>" is one literal; that is also the only way to write INT64_MIN.
      literal l;
      l.k = literal::kind::integer;
      l.i = peek().u == int64_magnitude_max ? INT64_MIN : -static_cast<int64_t>(peek().u);
      advance();
      return make(pos, std::move(l), {0});
    }
    if (peek().k == K::real) {
      literal l;
      l.k = literal::kind::real;
      l.d = -peek().d;
      advance();
      return make(pos, std::move(l), {0});
    }
    nesting n(depth_);
    if (n.too_deep()) return too_deep();
    auto a = negation();
    if (!a) return {};
    return make(pos, unary{unary_op::neg, a.e}, {a.height});
  }

  sub primary() {
    const token& t = peek();
    size_t pos = t.pos;
    literal l;
    switch (t.k) {
      case K::keyword:
        if (t.kw == keyword::in && is_punct("(", 1)) return postfix(call_of());  // the graph function in()
        if (t.kw == keyword::null) l.k = literal::kind::null;
        else if (t.kw == keyword::true_ || t.kw == keyword::false_) {
          l.k = literal::kind::boolean;
          l.b = t.kw == keyword::true_;
        } else {
          return failed("an expression");
        }
        break;
      case K::integer:
        if (t.u > uint64_t{INT64_MAX})
          return failed("an integer from -9223372036854775808 to 9223372036854775807");
        l.k = literal::kind::integer;
        l.i = static_cast<int64_t>(t.u);
        break;
      case K::real:
        l.k = literal::kind::real;
        l.d = t.d;
        break;
      case K::string:
        l.k = literal::kind::string;
        l.s = t.text;
        break;
      case K::rid:
        l.k = literal::kind::rid;
        l.r = t.r;
        break;
      case K::param: {
        param p{t.text, t.text.empty() ? next_param_++ : -1};
        advance();
        return make(pos, std::move(p), {0});
      }
      case K::attribute: {
        field_ref f{{t.text}};
        advance();
        return postfix(make(pos, std::move(f), {0}));
      }
      case K::ident:
        if (!t.quoted && is_punct("(", 1)) return postfix(call_of());
        return postfix(path());
      case K::punct:
        if (t.text == "[") return list_of("]");
        if (t.text == "(") {
          advance();
          auto e = expression();
          if (!e) return {};
          if (!accept_punct(")")) return failed("')'");
          return e;
        }
        return failed("an expression");
      case K::json:  // JSON objects are read by CONTENT and MERGE only
      case K::end:
        return failed("an expression");
    }
    advance();
    return make(pos, std::move(l), {0});
  }

  sub path() {
    size_t pos = peek().pos;
    field_ref f{{peek().text}};
    advance();
    // A word followed by '(' starts a method chain (postfix() reads it).
    while (!is_punct("(", 2) && accept_punct(".")) {
      // Any word may follow a '.': a.limit cannot be read as anything else.
      if (peek().k != K::ident && peek().k != K::keyword) return failed("a field name after '.'");
      f.path.push_back(peek().text);
      advance();
    }
    return make(pos, std::move(f), {0});
  }

  sub call_of() {
    size_t pos = peek().pos;
    call c{ascii_lower(peek().text), {}, false};
    advance();
    advance();  // '('
    int h = 0;
    if (is_punct("*") && is_punct(")", 1)) {
      c.star = true;
      advance();
    } else if (!is_punct(")")) {
      do {
        auto a = expression();
        if (!a) return {};
        h = std::max(h, a.height);
        c.args.push_back(std::move(a.e));
      } while (accept_punct(","));
    }
    if (!accept_punct(")")) return failed("',' or ')'");
    return make(pos, std::move(c), {h});
  }

  // [a, b] anywhere, or (a, b) after IN; may be empty.
  sub list_of(std::string_view close) {
    size_t pos = peek().pos;
    advance();
    list items;
    int h = 0;
    if (!accept_punct(close)) {
      do {
        auto a = expression();
        if (!a) return {};
        h = std::max(h, a.height);
        items.items.push_back(std::move(a.e));
      } while (accept_punct(","));
      if (!accept_punct(close)) return failed(cat("',' or '", close, "'"));
    }
    return make(pos, std::move(items), {h});
  }

  // ---- graph reads: method chains, FROM (subquery), TRAVERSE -------------
  // TRAVERSE, WHILE, MAXDEPTH, STRATEGY, DEPTH_FIRST and BREADTH_FIRST are
  // read as words where they can appear, not reserved as keywords, so that
  // fields named like them keep working unquoted.

  bool is_word(std::string_view w, size_t ahead = 0) const {
    return peek(ahead).k == K::ident && !peek(ahead).quoted && ascii_lower(peek(ahead).text) == w;
  }

  // After a value: .field and .method(args) steps, if any, make a chain.
  sub postfix(sub base) {
    if (!base || !is_punct(".")) return base;
    size_t pos = base.e->pos;
    int h = base.height;
    chain c{base.e, {}};
    while (accept_punct(".")) {
      const token& t = peek();
      if (t.k != K::ident && t.k != K::keyword) return failed("a field or method name after '.'");
      chain_step st{t.text, {}, false, t.pos};
      bool callable = !t.quoted && is_punct("(", 1);
      advance();
      if (callable) {
        st.name = ascii_lower(st.name);
        st.is_call = true;
        advance();  // '('
        if (!is_punct(")")) {
          do {
            auto a = expression();
            if (!a) return {};
            h = std::max(h, a.height);
            st.args.push_back(std::move(a.e));
          } while (accept_punct(","));
        }
        if (!accept_punct(")")) return failed("',' or ')'");
      }
      c.steps.push_back(std::move(st));
    }
    return make(pos, std::move(c), {h});
  }

  // SELECT <expressions> may end without FROM (shortestPath(...), say), or
  // go on with LET.
  bool no_target_follows(bool nested) const {
    return peek().k == K::end || is_punct(";") || (nested && is_punct(")")) || is_word("let");
  }

  // LET $a = expr | (SELECT ...) | (TRAVERSE ...) [, ...]: at most
  // let_variables_max. A '(' starts a subquery only when SELECT or TRAVERSE
  // follows it; otherwise it is a parenthesised expression.
  bool let_clause(std::vector<let_binding>& out) {
    advance();  // LET
    do {
      if (out.size() >= let_variables_max) return fail(cat("at most ", let_variables_max, " LET variables"));
      const token& t = peek();
      if (t.k != K::ident || t.quoted || t.text == "$") return fail("a variable name ($name) in LET");
      let_binding b;
      b.pos = t.pos;
      b.name = t.text[0] == '$' ? t.text : "$" + t.text;
      // $parent and $current name the enclosing record and this one.
      if (b.name == "$parent" || b.name == "$current") return fail("a variable name other than $parent and $current");
      advance();
      if (!accept_punct("=")) return fail("'=' after the LET variable");
      if (is_punct("(") && (is_kw(keyword::select, 1) || is_word("traverse", 1))) {
        target sq;
        if (!subquery_target(sq)) return false;
        b.sub = std::move(sq.sub);
      } else {
        auto e = expression();
        if (!e) return false;
        b.value = std::move(e.e);
      }
      out.push_back(std::move(b));
    } while (accept_punct(","));
    return true;
  }

  // FROM ( SELECT ... ) or FROM ( TRAVERSE ... ).
  bool subquery_target(target& t) {
    advance();  // '('
    nesting n(depth_);
    if (n.too_deep()) return fail(cat("subqueries nested at most ", expression_depth_max, " levels deep"));
    auto sq = std::make_shared<subquery>();
    if (is_word("traverse")) {
      traverse_stmt tr;
      if (!traverse(tr, true)) return false;
      sq->stmt = std::move(tr);
    } else if (is_kw(keyword::select)) {
      select_stmt s;
      if (!select(s, true)) return false;
      sq->stmt = std::move(s);
    } else {
      return fail("SELECT or TRAVERSE in the subquery");
    }
    if (!accept_punct(")")) return fail("')' closing the subquery");
    t.k = target::kind::subquery;
    t.sub = std::move(sq);
    return true;
  }

  std::variant<statement, syntax_error> traverse_statement() {
    traverse_stmt s;
    if (!traverse(s, false)) {
      assert(err_ && err_->position <= text_.size());
      return std::move(*err_);
    }
    return statement{std::move(s)};
  }

  // TRAVERSE items FROM target, then WHILE, MAXDEPTH, LIMIT and STRATEGY in
  // any order, each at most once.
  bool traverse(traverse_stmt& s, bool nested) {
    advance();  // TRAVERSE
    if (accept_punct("*")) {
      s.all_fields = true;
    } else {
      if (is_kw(keyword::from) || peek().k == K::end) return fail("a field, a function like out() or * after TRAVERSE");
      do {
        auto e = expression();
        if (!e) return false;
        auto* c = std::get_if<call>(&e.e->node);
        if (c != nullptr && (c->name == "any" || c->name == "all") && c->args.empty() && !c->star) s.all_fields = true;
        else s.items.push_back(std::move(e.e));
      } while (accept_punct(","));
    }
    if (!accept_kw(keyword::from)) return fail(s.all_fields && s.items.empty() ? "FROM" : "',' or FROM");
    if (!from_target(s.from)) return false;
    bool strategy_given = false;
    for (;;) {
      if (!s.while_cond && is_word("while")) {
        advance();
        auto e = expression();
        if (!e) return false;
        s.while_cond = std::move(e.e);
      } else if (!s.max_depth && is_word("maxdepth")) {
        advance();
        if (!count(s.max_depth, false)) return false;
      } else if (!s.limit && accept_kw(keyword::limit)) {
        if (!count(s.limit, true)) return false;
      } else if (!strategy_given && is_word("strategy")) {
        advance();
        if (is_word("depth_first")) s.strat = traverse_stmt::strategy::depth_first;
        else if (is_word("breadth_first")) s.strat = traverse_stmt::strategy::breadth_first;
        else return fail("DEPTH_FIRST or BREADTH_FIRST");
        advance();
        strategy_given = true;
      } else {
        break;
      }
    }
    if (nested) return true;
    accept_punct(";");
    if (peek().k != K::end) return fail("end of statement");
    return true;
  }

  std::string_view text_;
  std::vector<token> toks_;
  size_t i_ = 0;
  int depth_ = 0;
  int next_param_ = 0;
  std::optional<syntax_error> err_;
};

}  // namespace

std::variant<statement, syntax_error> parse(std::string_view text, size_t max_length) {
  if (text.size() > max_length)
    return syntax_error{max_length, cat("a statement of at most ", max_length, " bytes"),
                        cat("one of ", text.size(), " bytes")};
  auto lexed = lex(text);
  if (auto* e = std::get_if<syntax_error>(&lexed)) return std::move(*e);
  return parser(text, std::move(std::get<std::vector<token>>(lexed))).run();
}

}  // namespace troupe::query

#include "src/query/parse_write.hpp"

#include <utility>

#include "src/util/ascii.hpp"
#include "src/util/strings.hpp"

namespace troupe::query {

namespace {

using K = token::kind;

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string uppered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

// A statement word: an unquoted identifier spelled `w` in any case (the
// write statements' words are not reserved, see parse_write.hpp).
bool is_word(const token& t, std::string_view w) { return t.k == K::ident && !t.quoted && ascii_iequals(t.text, w); }

// Recursive descent over the write statements; one function per statement.
class write_grammar {
 public:
  explicit write_grammar(statement_parser& p) : p_(p) {}

  bool run(statement& out) {
    if (accept_word("INSERT")) return insert(out);
    if (accept_word("UPDATE")) return update(out);
    if (accept_word("DELETE")) {
      if (accept_word("VERTEX")) return delete_vertex(out);
      if (accept_word("EDGE")) return delete_edge(out);
      if (accept_kw(keyword::from)) return delete_from(out);
      return p_.error("FROM, VERTEX or EDGE after DELETE");
    }
    if (accept_word("CREATE")) {
      if (accept_word("VERTEX")) return create_vertex(out);
      if (accept_word("EDGE")) return create_edge(out);
      if (accept_word("CLASS")) return create_class(out);
      if (accept_word("PROPERTY")) return create_property(out);
      if (accept_word("INDEX")) return create_index(out);
      if (accept_word("USER")) return create_user(out);
      return p_.error("VERTEX, EDGE, CLASS, PROPERTY, INDEX or USER after CREATE");
    }
    if (accept_word("DROP")) {
      if (accept_word("CLASS")) return drop_class(out);
      if (accept_word("INDEX")) return drop_index(out);
      if (accept_word("USER")) return drop_user(out);
      return p_.error("CLASS, INDEX or USER after DROP");
    }
    if (accept_word("ALTER")) {
      if (accept_word("USER")) return alter_user(out);
      return p_.error("USER after ALTER");
    }
    return p_.error("SELECT, INSERT, UPDATE, DELETE, CREATE, DROP or ALTER");
  }

 private:
  const token& at(size_t ahead = 0) const { return p_.at(ahead); }
  bool word(std::string_view w, size_t ahead = 0) const { return is_word(at(ahead), w); }
  bool kw(keyword k) const { return at().k == K::keyword && at().kw == k; }
  bool punct(std::string_view s) const { return at().k == K::punct && at().text == s; }
  bool accept_word(std::string_view w) {
    if (!word(w)) return false;
    p_.next();
    return true;
  }
  bool accept_kw(keyword k) {
    if (!kw(k)) return false;
    p_.next();
    return true;
  }
  bool accept_punct(std::string_view s) {
    if (!punct(s)) return false;
    p_.next();
    return true;
  }

  // [;] and the end of the input.
  bool finish(std::string_view expected = "end of statement") {
    accept_punct(";");
    if (at().k != K::end) return p_.error(std::string(expected));
    return true;
  }

  // A class, field or index name: an identifier (backquoted or not).
  bool name(std::string& out, size_t* pos, std::string_view what) {
    if (at().k != K::ident) return p_.error(std::string(what));
    if (pos != nullptr) *pos = at().pos;
    out = at().text;
    p_.next();
    return true;
  }
  // A word after a '.': any identifier or keyword (as SELECT's paths).
  bool name_after_dot(std::string& out, std::string_view what) {
    if (at().k != K::ident && at().k != K::keyword) return p_.error(std::string(what));
    out = at().text;
    p_.next();
    return true;
  }

  bool json_object(std::string& out, std::string_view after) {
    if (at().k != K::json) return p_.error(cat("a JSON object {...} after ", after));
    out = at().text;
    p_.next();
    return true;
  }

  // f = e [, f = e]*; REMOVE allows a bare f.
  bool assignments(std::vector<assignment>& out, bool value_optional) {
    do {
      assignment a;
      a.pos = at().pos;
      if (!name(a.field, nullptr, "a field name")) return false;
      if (accept_punct("=")) {
        a.value = p_.parse_expression();
        if (!a.value) return false;
      } else if (!value_optional) {
        return p_.error("'=' after the field name");
      }
      out.push_back(std::move(a));
    } while (accept_punct(","));
    return true;
  }

  // SET ... | CONTENT {...}, or nothing when `optional`.
  bool body(record_body& b, bool optional) {
    if (accept_word("SET")) return assignments(b.set, false);
    if (accept_word("CONTENT")) {
      std::string j;
      if (!json_object(j, "CONTENT")) return false;
      b.content = std::move(j);
      return true;
    }
    return optional || p_.error("SET or CONTENT");
  }

  bool where_limit(expr_ptr& where, std::optional<int64_t>& limit) {
    if (accept_kw(keyword::where)) {
      where = p_.parse_expression();
      if (!where) return false;
    }
    if (accept_kw(keyword::limit) && !p_.parse_count(limit)) return false;
    return true;
  }

  bool rid_list(std::vector<storage::rid>& out) {
    if (at().k == K::rid) {
      out.push_back(at().r);
      p_.next();
      return true;
    }
    if (!accept_punct("[")) return p_.error("a RID or a list of RIDs");
    do {
      if (at().k != K::rid) return p_.error("a RID");
      out.push_back(at().r);
      p_.next();
    } while (accept_punct(","));
    return accept_punct("]") || p_.error("',' or ']'");
  }

  bool ends(endpoint& e) {
    e.pos = at().pos;
    if (at().k == K::rid || punct("[")) return rid_list(e.rids);
    if (at().k == K::param) {
      e.value = p_.parse_expression();
      return e.value != nullptr;
    }
    if (punct("(")) {
      select_stmt s;
      if (!p_.parse_subquery(s)) return false;
      e.query = std::move(s);
      return true;
    }
    return p_.error("a RID, a list of RIDs, a parameter or (SELECT ...)");
  }

  // ---- statements --------------------------------------------------------

  bool insert(statement& out) {
    insert_stmt s;
    if (!accept_word("INTO")) return p_.error("INTO after INSERT");
    if (!name(s.class_name, &s.class_pos, "a class name")) return false;
    if (accept_kw(keyword::cluster) && !name(s.cluster, nullptr, "a cluster name")) return false;
    if (word("SET") || word("CONTENT")) {
      record_body b;
      if (!body(b, false)) return false;
      s.rows.push_back(std::move(b));
    } else if (punct("(")) {
      p_.next();
      std::vector<std::pair<std::string, size_t>> columns;
      do {
        std::string f;
        size_t pos = at().pos;
        if (!name(f, nullptr, "a field name")) return false;
        columns.emplace_back(std::move(f), pos);
      } while (accept_punct(","));
      if (!accept_punct(")")) return p_.error("',' or ')'");
      if (!accept_word("VALUES")) return p_.error("VALUES");
      do {
        if (!accept_punct("(")) return p_.error("'(' and the values");
        record_body b;
        do {
          if (b.set.size() == columns.size()) return p_.error(cat("')' after ", columns.size(), " values, one per field"));
          auto e = p_.parse_expression();
          if (!e) return false;
          b.set.push_back(assignment{columns[b.set.size()].first, std::move(e), columns[b.set.size()].second});
        } while (accept_punct(","));
        if (b.set.size() < columns.size()) return p_.error(cat(columns.size(), " values, one per field"));
        if (!accept_punct(")")) return p_.error("',' or ')'");
        s.rows.push_back(std::move(b));
      } while (accept_punct(","));
    } else if (accept_kw(keyword::from)) {
      select_stmt q;
      if (!p_.parse_subquery(q)) return false;
      s.from = std::move(q);
    } else {
      return p_.error("SET, (fields) VALUES, CONTENT or FROM (SELECT ...)");
    }
    if (accept_word("RETURN")) {
      s.returning = p_.parse_expression();
      if (!s.returning) return false;
    }
    if (!finish(s.returning ? "end of statement" : "RETURN or end of statement")) return false;
    out = std::move(s);
    return true;
  }

  bool update(statement& out) {
    update_stmt s;
    if (!p_.parse_target(s.what)) return false;
    for (;;) {
      update_action a;
      a.pos = at().pos;
      using k = update_action::kind;
      std::optional<k> clause;
      if (word("SET")) clause = k::set;
      else if (word("INCREMENT")) clause = k::increment;
      else if (word("ADD")) clause = k::add;
      else if (word("REMOVE")) clause = k::remove;
      else if (word("CONTENT")) clause = k::content;
      else if (word("MERGE")) clause = k::merge;
      if (!clause) break;
      p_.next();
      if (*clause == k::content || *clause == k::merge) {
        a.k = *clause;
        if (!json_object(a.json, *clause == k::content ? "CONTENT" : "MERGE")) return false;
        s.actions.push_back(std::move(a));
        continue;
      }
      std::vector<assignment> as;
      if (!assignments(as, *clause == k::remove)) return false;
      for (auto& x : as) s.actions.push_back(update_action{*clause, std::move(x), "", a.pos});
    }
    if (s.actions.empty()) return p_.error("SET, INCREMENT, ADD, REMOVE, CONTENT or MERGE");
    s.upsert = accept_word("UPSERT");
    if (accept_word("RETURN")) {
      if (accept_word("COUNT")) s.ret = update_stmt::returning::count;
      else if (accept_word("BEFORE")) s.ret = update_stmt::returning::before;
      else if (accept_word("AFTER")) s.ret = update_stmt::returning::after;
      else return p_.error("COUNT, BEFORE or AFTER after RETURN");
      bool more = at().k != K::end && !punct(";") && !kw(keyword::where) && !kw(keyword::limit);
      if (s.ret != update_stmt::returning::count && more) {
        s.return_expr = p_.parse_expression();
        if (!s.return_expr) return false;
      }
    }
    if (!where_limit(s.where, s.limit)) return false;
    if (!finish("UPSERT, RETURN, WHERE, LIMIT or end of statement")) return false;
    out = std::move(s);
    return true;
  }

  bool delete_from(statement& out) {
    delete_stmt s;
    if (!p_.parse_target(s.what) || !where_limit(s.where, s.limit)) return false;
    if (!finish("WHERE, LIMIT or end of statement")) return false;
    out = std::move(s);
    return true;
  }

  bool delete_vertex(statement& out) {
    delete_vertex_stmt s;
    if (!p_.parse_target(s.what) || !where_limit(s.where, s.limit)) return false;
    if (!finish("WHERE, LIMIT or end of statement")) return false;
    out = std::move(s);
    return true;
  }

  bool delete_edge(statement& out) {
    delete_edge_stmt s;
    s.class_pos = at().pos;
    if (at().k == K::rid || punct("[")) {
      if (!rid_list(s.rids)) return false;
    } else {
      if (at().k == K::ident && !word("TO") && !name(s.class_name, &s.class_pos, "an edge class name"))
        return false;
      if (accept_kw(keyword::from)) {
        endpoint e;
        if (!ends(e)) return false;
        s.from = std::move(e);
      }
      if (accept_word("TO")) {
        endpoint e;
        if (!ends(e)) return false;
        s.to = std::move(e);
      }
    }
    if (!where_limit(s.where, s.limit)) return false;
    if (!finish(s.rids.empty() && !s.to ? "FROM, TO, WHERE, LIMIT or end of statement" : "WHERE, LIMIT or end of statement"))
      return false;
    out = std::move(s);
    return true;
  }

  bool create_vertex(statement& out) {
    create_vertex_stmt s;
    s.class_pos = at().pos;
    if (at().k == K::ident && !word("SET") && !word("CONTENT") && !name(s.class_name, &s.class_pos, "a class name"))
      return false;
    if (accept_kw(keyword::cluster) && !name(s.cluster, nullptr, "a cluster name")) return false;
    if (!body(s.body, true)) return false;
    if (!finish(s.body.set.empty() && !s.body.content ? "SET, CONTENT or end of statement" : "end of statement"))
      return false;
    out = std::move(s);
    return true;
  }

  bool create_edge(statement& out) {
    create_edge_stmt s;
    s.class_pos = at().pos;
    if (at().k == K::ident && !name(s.class_name, &s.class_pos, "an edge class name")) return false;
    if (accept_kw(keyword::cluster) && !name(s.cluster, nullptr, "a cluster name")) return false;
    if (!accept_kw(keyword::from)) return p_.error(s.cluster.empty() ? "FROM (or CLUSTER)" : "FROM");
    if (!ends(s.from)) return false;
    if (!accept_word("TO")) return p_.error("TO");
    if (!ends(s.to)) return false;
    if (!body(s.body, true)) return false;
    if (!finish(s.body.set.empty() && !s.body.content ? "SET, CONTENT or end of statement" : "end of statement"))
      return false;
    out = std::move(s);
    return true;
  }

  bool create_class(statement& out) {
    create_class_stmt s;
    if (!name(s.name, &s.pos, "a class name")) return false;
    if (accept_word("EXTENDS") && !name(s.superclass, nullptr, "a superclass name")) return false;
    if (!finish(s.superclass.empty() ? "EXTENDS or end of statement" : "end of statement")) return false;
    out = std::move(s);
    return true;
  }

  bool drop_class(statement& out) {
    drop_class_stmt s;
    if (!name(s.name, &s.pos, "a class name") || !finish()) return false;
    out = std::move(s);
    return true;
  }

  bool create_property(statement& out) {
    create_property_stmt s;
    if (!name(s.class_name, &s.pos, "a class name")) return false;
    if (!accept_punct(".")) return p_.error("'.' and the property name (Class.name)");
    if (!name_after_dot(s.name, "a property name")) return false;
    s.type_pos = at().pos;
    if (at().k != K::ident) return p_.error("a type (STRING, INTEGER, ...)");
    s.type = uppered(at().text);
    p_.next();
    // OrientDB's linked type or class (LINKLIST Person, EMBEDDEDLIST STRING):
    // read and not kept, as storage checks only the property's own type.
    if (at().k == K::ident) p_.next();
    if (!finish()) return false;
    out = std::move(s);
    return true;
  }

  // Person.name, or `Person.name`: the parts joined by '.'.
  bool dotted_name(std::string& out, std::vector<std::string>* parts) {
    std::string part;
    if (!name(part, nullptr, "an index name")) return false;
    out = part;
    if (parts != nullptr) parts->push_back(part);
    while (accept_punct(".")) {
      if (!name_after_dot(part, "a name after '.'")) return false;
      out += "." + part;
      if (parts != nullptr) parts->push_back(part);
    }
    return true;
  }

  bool create_index(statement& out) {
    create_index_stmt s;
    s.pos = at().pos;
    std::vector<std::string> parts;
    if (!dotted_name(s.name, &parts)) return false;
    if (accept_word("ON")) {
      if (!name(s.class_name, nullptr, "a class name")) return false;
      if (!accept_punct("(")) return p_.error("'(' and the indexed fields");
      do {
        std::string f;
        if (!name(f, nullptr, "a field name")) return false;
        s.fields.push_back(std::move(f));
      } while (accept_punct(","));
      if (!accept_punct(")")) return p_.error("',' or ')'");
    } else if (parts.size() == 2) {
      s.class_name = parts[0];
      s.fields.push_back(parts[1]);
    } else {
      return p_.error("ON Class (fields), or a name Class.field");
    }
    if (word("UNIQUE") || word("UNIQUE_HASH_INDEX")) s.unique = true;
    else if (!word("NOTUNIQUE") && !word("NOTUNIQUE_HASH_INDEX")) return p_.error("UNIQUE or NOTUNIQUE");
    p_.next();
    if (!finish()) return false;
    out = std::move(s);
    return true;
  }

  bool drop_index(statement& out) {
    drop_index_stmt s;
    s.pos = at().pos;
    if (!dotted_name(s.name, nullptr) || !finish()) return false;
    out = std::move(s);
    return true;
  }

  // ---- users ---------------------------------------------------------------

  // A user name, password or role: a word (keywords too: a password may be
  // any word) or a quoted string, 1..max bytes without control characters.
  bool user_word(std::string& out, std::string_view what, size_t max_bytes) {
    if (at().k != K::ident && at().k != K::string && at().k != K::keyword) return p_.error(std::string(what));
    const std::string& text = at().text;
    if (text.empty() || text.size() > max_bytes)
      return p_.error(cat(what, " of 1 to ", max_bytes, " bytes"));
    for (unsigned char c : text)
      if (c < 0x20 || c == 0x7f) return p_.error(cat(what, " without control characters"));
    out = text;
    p_.next();
    return true;
  }

  bool identified_by(std::string& password) {
    if (!accept_word("IDENTIFIED")) return p_.error("IDENTIFIED BY and the password");
    if (!accept_kw(keyword::by)) return p_.error("BY after IDENTIFIED");
    return user_word(password, "a password", user_password_bytes_max);
  }

  bool create_user(statement& out) {
    create_user_stmt s;
    s.pos = at().pos;
    if (!user_word(s.name, "a user name", user_name_bytes_max) || !identified_by(s.password)) return false;
    if (accept_word("ROLE")) {
      if (accept_punct("[")) {
        do {
          if (s.roles.size() == user_roles_max) return p_.error(cat("at most ", user_roles_max, " roles"));
          std::string r;
          if (!user_word(r, "a role name", user_name_bytes_max)) return false;
          s.roles.push_back(std::move(r));
        } while (accept_punct(","));
        if (!accept_punct("]")) return p_.error("',' or ']'");
      } else {
        std::string r;
        if (!user_word(r, "a role name or [roles]", user_name_bytes_max)) return false;
        s.roles.push_back(std::move(r));
      }
    }
    if (!finish()) return false;
    out = std::move(s);
    return true;
  }

  bool drop_user(statement& out) {
    drop_user_stmt s;
    s.pos = at().pos;
    if (!user_word(s.name, "a user name", user_name_bytes_max) || !finish()) return false;
    out = std::move(s);
    return true;
  }

  bool alter_user(statement& out) {
    alter_user_stmt s;
    s.pos = at().pos;
    if (!user_word(s.name, "a user name", user_name_bytes_max) || !identified_by(s.password) || !finish())
      return false;
    out = std::move(s);
    return true;
  }

  statement_parser& p_;
};

}  // namespace

bool starts_write(const token& t) {
  return is_word(t, "INSERT") || is_word(t, "UPDATE") || is_word(t, "DELETE") || is_word(t, "CREATE") ||
         is_word(t, "DROP") || is_word(t, "ALTER");
}

bool parse_write(statement_parser& p, statement& out) { return write_grammar(p).run(out); }

}  // namespace troupe::query

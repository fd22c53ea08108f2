#include "src/config/node_name.hpp"

#include <istream>
#include <ostream>

#include "src/util/strings.hpp"

namespace troupe {

const char* to_string(node_name_source s) {
  switch (s) {
    case node_name_source::parameter: return "the nodeName parameter";
    case node_name_source::environment: return "ORIENTDB_NODE_NAME";
    case node_name_source::prompt: return "the first-run prompt";
    case node_name_source::generated: return "generated";
  }
  return "?";
}

const char* const first_run_banner =
    "+---------------------------------------------------------------+\n"
    "|         WARNING: FIRST DISTRIBUTED RUN CONFIGURATION          |\n"
    "+---------------------------------------------------------------+\n"
    "| This is the first time that the server is running as          |\n"
    "| distributed. Please type the name you want to assign to the   |\n"
    "| current server node.                                          |\n"
    "|                                                               |\n"
    "| To avoid this message set the environment variable or JVM     |\n"
    "| setting ORIENTDB_NODE_NAME to the server node name to use.    |\n"
    "+---------------------------------------------------------------+\n";

result<node_name_choice> choose_node_name(const node_name_inputs& in) {
  assert(in.now_ms);
  if (in.parameter && !in.parameter->empty()) {
    if (!valid_node_name(*in.parameter))
      return error_info{"", "nodeName", cat("'", *in.parameter, "' is not 1-64 characters of A-Z a-z 0-9 . _ -")};
    return node_name_choice{*in.parameter, node_name_source::parameter};
  }
  if (in.environment && !trim(*in.environment).empty()) {
    std::string name(trim(*in.environment));
    if (!valid_node_name(name))
      return error_info{"", "ORIENTDB_NODE_NAME",
                        cat("'", name, "' is not 1-64 characters of A-Z a-z 0-9 . _ -")};
    return node_name_choice{name, node_name_source::environment};
  }
  auto generated = [&] { return node_name_choice{cat("node", in.now_ms()), node_name_source::generated}; };
  if (!in.interactive) return generated();
  assert(in.in != nullptr && in.out != nullptr);
  *in.out << "\n" << first_run_banner << "\n";
  constexpr int max_attempts = 3;
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    *in.out << node_name_prompt << std::flush;
    std::string line;
    if (!std::getline(*in.in, line)) return generated();  // end of input counts as blank
    auto answer = std::string(trim(line));
    if (answer.empty()) return generated();
    if (valid_node_name(answer)) return node_name_choice{answer, node_name_source::prompt};
    *in.out << "'" << answer << "' is not a valid node name: use 1-64 characters of A-Z a-z 0-9 . _ -\n";
  }
  return error_info{"", "node name", cat("no valid node name after ", max_attempts, " attempts")};
}

}  // namespace troupe

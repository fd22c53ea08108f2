// Node name assignment, as the seed tutorial describes (OrientDB 2.0 behaviour):
// the distributed handler's nodeName parameter; else the ORIENTDB_NODE_NAME
// environment variable; else, when standard input is a terminal, the boxed
// "FIRST DISTRIBUTED RUN CONFIGURATION" prompt; a blank answer, or no terminal,
// gives node<epoch-millis>.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "src/util/result.hpp"

namespace troupe {

enum class node_name_source { parameter, environment, prompt, generated };
const char* to_string(node_name_source s);

struct node_name_inputs {
  std::optional<std::string> parameter;    // nodeName from the server config
  std::optional<std::string> environment;  // ORIENTDB_NODE_NAME
  bool interactive = false;                // standard input is a terminal
  std::istream* in = nullptr;              // where answers come from (REQUIRED if interactive)
  std::ostream* out = nullptr;             // where the prompt goes (REQUIRED if interactive)
  std::function<int64_t()> now_ms;         // epoch milliseconds (REQUIRED)
};

struct node_name_choice {
  std::string name;
  node_name_source source;
};

// The prompt box, word for word as OrientDB prints it.
extern const char* const first_run_banner;
inline constexpr const char* node_name_prompt = "Node name [BLANK=auto generate it]: ";

// Picks the name. Invalid names from the environment are an error; an invalid
// typed answer is refused and asked again (at most 3 times, then an error).
result<node_name_choice> choose_node_name(const node_name_inputs& in);

}  // namespace troupe

// The console's failover rules: which member to move to when the connection's
// node is gone, and whether the command that noticed it may be sent again.
// Plain C++ (no CAF, no I/O): actors/console_client.cpp applies them, and
// test/console/failover_test.cpp tests them as tables.
//
// Why these rules: a read can always be repeated elsewhere; a write may be
// repeated only when the first attempt provably did nothing (it never left
// this process, or the node refused it before applying it). A write whose
// connection dropped while it was in flight may or may not have been applied:
// sending it again could apply it twice, so the console says the outcome is
// unknown instead.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "src/console/report.hpp"

namespace troupe::console {

// How many members one failover tries before it gives up (each try is bounded
// by the console's connect timeout).
inline constexpr size_t failover_candidates_max = 8;

// The members to try, in order, after `gone` (a member name) was lost: those
// after it in `members` (the cluster's join order), then those before it,
// wrapping around; only members with a console endpoint whose status is
// ONLINE, never `gone` itself; when `db` is not empty, only members where db
// is ONLINE (member_info::shown_status). At most failover_candidates_max.
std::vector<console_peer> failover_candidates(const std::vector<console_peer>& members, const std::string& gone,
                                              const std::string& db);

// What became of one attempt to send a command over the session.
enum class attempt {
  answered,         // the node answered (a result or an error of its own)
  not_delivered,    // the connection was known gone before sending: nothing left this process
  refused,          // the node refused before applying it because it is stopping (shutting_down)
  lost_in_flight,   // the connection dropped while the command was pending
  timed_out,        // no answer within the timeout; the connection still looks up
};

enum class next_step {
  done,              // show the answer
  failover_retry,    // move to another member and send the command once more
  failover_unknown,  // move to another member, and say the write's outcome is unknown
  report,            // show the error (no failover: the node may be fine, only slow)
};

// The decision table: `write` for a command that changes data or schema.
next_step decide(attempt a, bool write);

// The one line the console prints when it moved:
// "Connection to node1 (127.0.0.1:2424) lost: now connected to node2 (127.0.0.1:2425)".
std::string moved_line(const std::string& from_name, const std::string& from_endpoint, const std::string& to_name,
                       const std::string& to_endpoint);

// The sentence for a write whose outcome failover cannot know.
std::string unknown_outcome_text(const std::string& from_name, const std::string& to_name);

}  // namespace troupe::console

// Seats are roles with explicit permissions, denied unless granted (the cut of gst-rtsp-server's
// rtsp-auth/rtsp-permissions): a DJ seat may move its own deck and channel, the crossfader only if the
// battle gives it to them, spectators nothing. Tokens are 128-bit random, compared in constant time.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace dju {

enum class Role { SeatA, SeatB, Spectator };
enum class CrossfaderOwner { Shared, SeatA, SeatB };

const char* role_name(Role role);  // "a", "b", "spectator"
bool parse_role(const std::string& name, Role* role);
const char* crossfader_owner_name(CrossfaderOwner owner);  // "shared", "a", "b"
bool parse_crossfader_owner(const std::string& name, CrossfaderOwner* owner);

// Permission names.
namespace perm {
std::string deck(char seat);     // "deck.a": transport, tempo, hotcues, loops, loading
std::string channel(char seat);  // "channel.a": EQ, filter, channel fader, cue mix
inline const char* kCrossfader = "crossfader";
inline const char* kReady = "ready";
inline const char* kListenCue = "listen.cue";  // receives their own headphone cue track
}  // namespace perm

class Permissions {
 public:
  void grant(const std::string& name) { granted_.insert(name); }
  bool is_allowed(const std::string& name) const { return granted_.count(name) > 0; }
  std::vector<std::string> list() const { return {granted_.begin(), granted_.end()}; }

 private:
  std::set<std::string> granted_;
};

Permissions permissions_for(Role role, CrossfaderOwner crossfader);

// 128 random bits as 32 lowercase hex characters (from the kernel's CSPRNG).
std::string generate_token();
// Same length and same bytes, in time independent of where they differ.
bool tokens_equal(const std::string& expected, const std::string& given);

}  // namespace dju

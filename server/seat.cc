#include "seat.h"

#include <sys/random.h>

#include <cstdio>
#include <stdexcept>

namespace dju {

const char* role_name(Role role) {
  switch (role) {
    case Role::SeatA: return "a";
    case Role::SeatB: return "b";
    case Role::Spectator: return "spectator";
  }
  return "spectator";
}

bool parse_role(const std::string& name, Role* role) {
  if (name == "a") *role = Role::SeatA;
  else if (name == "b") *role = Role::SeatB;
  else if (name == "spectator") *role = Role::Spectator;
  else return false;
  return true;
}

const char* crossfader_owner_name(CrossfaderOwner owner) {
  switch (owner) {
    case CrossfaderOwner::Shared: return "shared";
    case CrossfaderOwner::SeatA: return "a";
    case CrossfaderOwner::SeatB: return "b";
  }
  return "shared";
}

bool parse_crossfader_owner(const std::string& name, CrossfaderOwner* owner) {
  if (name == "shared") *owner = CrossfaderOwner::Shared;
  else if (name == "a") *owner = CrossfaderOwner::SeatA;
  else if (name == "b") *owner = CrossfaderOwner::SeatB;
  else return false;
  return true;
}

namespace perm {
std::string deck(char seat) { return std::string("deck.") + seat; }
std::string channel(char seat) { return std::string("channel.") + seat; }
}  // namespace perm

Permissions permissions_for(Role role, CrossfaderOwner crossfader) {
  Permissions p;
  if (role == Role::Spectator) return p;  // deny everything by default
  char seat = role == Role::SeatA ? 'a' : 'b';
  p.grant(perm::deck(seat));
  p.grant(perm::channel(seat));
  p.grant(perm::kReady);
  p.grant(perm::kListenCue);
  if (crossfader == CrossfaderOwner::Shared || (crossfader == CrossfaderOwner::SeatA && seat == 'a') ||
      (crossfader == CrossfaderOwner::SeatB && seat == 'b'))
    p.grant(perm::kCrossfader);
  return p;
}

std::string generate_token() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) throw std::runtime_error("getrandom failed");
    got += static_cast<size_t>(n);
  }
  char hex[33];
  for (size_t i = 0; i < sizeof bytes; i++) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return std::string(hex, 32);
}

bool tokens_equal(const std::string& expected, const std::string& given) {
  // The length of a token is public (32); only its bytes are secret.
  if (expected.size() != given.size() || expected.empty()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < expected.size(); i++)
    diff = static_cast<unsigned char>(diff | (expected[i] ^ given[i]));
  return diff == 0;
}

}  // namespace dju

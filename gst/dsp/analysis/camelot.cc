#include "analysis/camelot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dju {

namespace {
int pitch_class_of(const char* s, int* used) {
  static const int base[7] = {9, 11, 0, 2, 4, 5, 7};  // A B C D E F G
  const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  if (c < 'A' || c > 'G') return -1;
  int pc = base[c - 'A'];
  int n = 1;
  if (s[1] == '#') { ++pc; ++n; }
  else if (s[1] == 'b') { --pc; ++n; }  // "Ab", "Ebm": flats
  *used = n;
  return (pc + 12) % 12;
}
}  // namespace

CamelotKey camelot_from_tonic(int tonic, bool minor) {
  CamelotKey k;
  if (tonic < 0 || tonic > 11) return k;
  // One hour per fifth; A minor and C major sit at 8.
  const int ref = minor ? 9 : 0;
  const int steps = (((tonic - ref) * 7) % 12 + 12) % 12;
  k.hour = (steps + 7) % 12 + 1;
  k.minor = minor;
  return k;
}

CamelotKey parse_key(const char* text) {
  CamelotKey k;
  if (!text) return k;
  while (std::isspace(static_cast<unsigned char>(*text))) ++text;
  if (!*text) return k;
  if (std::isdigit(static_cast<unsigned char>(*text))) {
    char* end = nullptr;
    const long h = std::strtol(text, &end, 10);
    if (h >= 1 && h <= 12 && end && (*end == 'A' || *end == 'a' || *end == 'B' || *end == 'b') && end[1] == 0) {
      k.hour = static_cast<int>(h);
      k.minor = (*end == 'A' || *end == 'a');
    }
    return k;
  }
  int used = 0;
  const int pc = pitch_class_of(text, &used);
  if (pc < 0) return k;
  const char* rest = text + used;
  while (*rest == ' ') ++rest;
  bool minor = false;
  if (*rest == 0 || std::strncmp(rest, "maj", 3) == 0 || std::strcmp(rest, "M") == 0) minor = false;
  else if (*rest == 'm' || std::strncmp(rest, "min", 3) == 0) minor = true;
  else return k;
  return camelot_from_tonic(pc, minor);
}

void camelot_format(CamelotKey k, char* out, int size) {
  if (!k.known()) std::snprintf(out, size, "?");
  else std::snprintf(out, size, "%d%c", k.hour, k.minor ? 'A' : 'B');
}

int camelot_hours_apart(CamelotKey a, CamelotKey b) {
  const int d = std::abs(a.hour - b.hour) % 12;
  return d > 6 ? 12 - d : d;
}

double camelot_compatibility(CamelotKey a, CamelotKey b) {
  if (!a.known() || !b.known()) return 100.0;  // nothing to hold against the DJ
  static const double same_letter[7] = {100, 90, 60, 35, 20, 10, 0};
  const int d = camelot_hours_apart(a, b);
  if (a.minor == b.minor) return same_letter[d];
  if (d == 0) return 90;  // relative major/minor
  if (d == 1) return 70;  // diagonal move
  return std::max(0.0, same_letter[d] - 10);
}

}  // namespace dju

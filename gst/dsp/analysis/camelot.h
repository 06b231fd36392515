// Keys on the Camelot wheel, as DJs name them: 1A…12A minor, 1B…12B major; A minor = 8A, C major = 8B.
// Neighbours on the wheel (±1 hour, or A<->B at the same hour) mix without clashing.
#pragma once

namespace dju {

struct CamelotKey {
  int hour = 0;        // 1..12, 0 = unknown
  bool minor = false;  // letter A
  bool known() const { return hour >= 1 && hour <= 12; }
};

// "8A", "12b", "A minor", "Am", "F# major", "Ebm", "C" (major). Unknown text gives an unknown key.
CamelotKey parse_key(const char* text);
CamelotKey camelot_from_tonic(int tonic_pc, bool minor);
// Writes "8A" into out (at least 4 bytes); "?" for unknown.
void camelot_format(CamelotKey k, char* out, int size);
// Hours apart on the wheel, 0..6.
int camelot_hours_apart(CamelotKey a, CamelotKey b);
// Harmonic compatibility 0..100: same key or relative 100/90, one hour 90, … tritone 0.
double camelot_compatibility(CamelotKey a, CamelotKey b);

}  // namespace dju

// Keys, scales and chords for the demo tracks, and the Camelot wheel DJs use to pick
// harmonically compatible tracks.
#pragma once

#include <string>

namespace demo {

struct Key {
  int root = 9;        // pitch class, 0 = C
  bool minor = true;
};

inline const char* pitch_name(int pc) {
  static const char* names[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};
  return names[((pc % 12) + 12) % 12];
}

inline std::string key_name(const Key& k) { return std::string(pitch_name(k.root)) + (k.minor ? " minor" : " major"); }

// Camelot: moving up a fifth moves one step clockwise; A minor is 8A and C major 8B.
inline std::string camelot(const Key& k) {
  int n = k.minor ? ((7 + (k.root - 9) * 7) % 12 + 12) % 12 + 1 : ((7 + k.root * 7) % 12 + 12) % 12 + 1;
  return std::to_string(n) + (k.minor ? "A" : "B");
}

// A chord is a triad on a scale degree (0-based). In a minor key the V chord takes the raised
// seventh (harmonic minor): its leading tone pulls home to the tonic and tells minor apart from
// the relative major.
struct Chord {
  int degree = 0;
  bool leading_tone = false;
};

// Semitones above the tonic of a scale degree (any integer; octaves wrap).
inline int degree_semitones(const Key& k, int degree, bool leading_tone) {
  static const int minor[7] = {0, 2, 3, 5, 7, 8, 10};
  static const int major[7] = {0, 2, 4, 5, 7, 9, 11};
  int oct = degree >= 0 ? degree / 7 : -((6 - degree) / 7);
  int d = degree - oct * 7;
  int s = (k.minor ? minor : major)[d];
  if (k.minor && leading_tone && d == 6) s = 11;
  return s + 12 * oct;
}

// MIDI note of a degree, with the tonic placed in [lowest, lowest + 12).
inline int degree_note(const Key& k, int degree, bool leading_tone, int lowest) {
  int tonic = lowest + ((k.root - lowest) % 12 + 12) % 12;
  return tonic + degree_semitones(k, degree, leading_tone);
}

}  // namespace demo

// house-124-am and house-124-em share tempo and first beat: started together they are beat-matched,
// a ready pair for recipes and demos.
// The demo library: what each track is (genre, tempo, key, progression, arrangement) and the
// per-genre grooves written as step patterns, one character per sixteenth note.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "theory.h"

namespace demo {

// Layers a section can switch on, one letter each in SectionSpec::layers.
//   K kick   S snare/clap backbeat   H closed hats   O open hats   P percussion
//   B bass   C chords (stabs, keys or arpeggio)    D pad    L lead    R riser (last 4 bars)
//   X crash on the section's first downbeat
struct SectionSpec {
  std::string name;
  int bars;
  std::string layers;
};

enum class BassVoice { Sub, SawPluck, Reese, FmRoll, Eight08 };
enum class ChordVoice { Stab, Keys, Pluck, DubStab, Pad };
enum class LeadVoice { Bell, SuperSaw, SquareLead, Flute };

// A genre's groove. Drum strings: '.' rest, '1'..'9' velocity. Bass strings: note letters
// r (root) o (root an octave up) f (fifth) t (third), '-' holds the previous note, '.' rest.
// Chord strings: 'x' hit, '-' hold, '.' rest. Strings are one bar (16) or two bars (32) long.
struct Groove {
  std::string kick, snare, hats, open_hats, perc;
  std::string bass, bass_alt;     // bass_alt plays on every second bar
  std::string chords;             // 'x' = chord hit; with ChordVoice::Pluck each 'x' is one arpeggio note
  bool clap = true;               // backbeat is a clap (house family) or a snare
  bool snare_too = false;         // layer a snare under the clap
  double swing = 0.0;             // fraction of a sixteenth by which off-eighths are late
  double kick_decay_s = 0.14, kick_sweep_hz = 160.0, kick_click = 0.25;
  double duck = 0.55;             // sidechain depth on bass and chords at each kick
  BassVoice bass_voice = BassVoice::SawPluck;
  ChordVoice chord_voice = ChordVoice::Stab;
  LeadVoice lead_voice = LeadVoice::Bell;
  double delay_send = 0.15;       // echo on lead and chords
};

struct TrackSpec {
  std::string id, title, artist, genre;
  double bpm;
  Key key;
  double first_beat_s;
  int phrase_bars;
  std::vector<Chord> progression;  // one chord per `bars_per_chord` bars, cycling from each section start
  int bars_per_chord;
  std::vector<SectionSpec> sections;
  Groove groove;
  uint64_t seed;
};

const std::vector<TrackSpec>& catalogue();

}  // namespace demo

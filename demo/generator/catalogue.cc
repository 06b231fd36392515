#include "catalogue.h"

namespace demo {
namespace {

// Chord shorthands. Minor keys: i iv V(harmonic) VI VII; major keys: I IV V vi.
const Chord i{0, false}, iv{3, false}, V{4, true}, VI{5, false};
const Chord I{0, false}, IV{3, false}, Vmaj{4, false}, vi{5, false};

Groove house() {
  Groove g;
  g.kick = "9...9...9...9...";
  g.snare = "....9.......9...";
  g.hats = "35.435.435.435.4";
  g.open_hats = "..6...6...6...6.";
  g.perc = "..........3..3..";
  g.bass = "..r-..r-..r-..o-";
  g.bass_alt = "..r-..r-..f-..r-";
  g.chords = "...x-..x-....x-.";
  g.bass_voice = BassVoice::SawPluck;
  g.chord_voice = ChordVoice::Stab;
  g.lead_voice = LeadVoice::Bell;
  return g;
}

// House with a round sub bass and the stabs played as keys.
Groove house_keys() {
  Groove g = house();
  g.bass_voice = BassVoice::Sub;
  g.chord_voice = ChordVoice::Keys;
  g.bass = "..r-..r-..r-..r-";
  g.bass_alt = "..r-..r-..f-..r-";
  return g;
}

Groove deep_house() {
  Groove g = house();
  g.hats = "2.4.2.4.2.4.2.4.";
  g.open_hats = "";
  g.perc = "...3......3.....";
  g.bass = "r-....r...r-..o.";
  g.bass_alt = "r-....r...f-..r.";
  g.chords = "x---...x-...x-..";
  g.snare_too = true;
  g.swing = 0.12;
  g.bass_voice = BassVoice::Sub;
  g.chord_voice = ChordVoice::Keys;
  g.duck = 0.45;
  return g;
}

Groove tech_house() {
  Groove g = house();
  g.hats = "2424242424242424";
  g.open_hats = "..7...7...7...7.";
  g.perc = "...4..4....4.4..";
  g.bass = "..r.r.r...r.r.o.";
  g.bass_alt = "..r.r.r...f.r.o.";
  g.chords = "...x......x.....";
  g.chord_voice = ChordVoice::DubStab;
  g.lead_voice = LeadVoice::SquareLead;
  g.duck = 0.6;
  g.delay_send = 0.3;
  g.kick_decay_s = 0.15;
  return g;
}

Groove progressive() {
  Groove g = house();
  g.hats = "2.3.2.3.2.3.2.3.";
  g.open_hats = "..7...7...7...7.";
  g.perc = "";
  g.bass = ".rr..rr..rr..rr.";
  g.bass_alt = ".rr..rr..rr..ro.";
  g.chords = "x.xxx.xxx.xxx.xx";
  g.chord_voice = ChordVoice::Pluck;
  g.lead_voice = LeadVoice::SuperSaw;
  g.delay_send = 0.25;
  return g;
}

Groove techno() {
  Groove g;
  g.kick = "9...9...9...9...";
  g.snare = "....7.......7...";
  g.hats = "3535353535353535";
  g.open_hats = "..8...8...8...8.";
  g.perc = "..4..4....4..4..";
  g.bass = ".rrr.rrr.rrr.rrr";
  g.bass_alt = ".rrr.rrr.rrr.rro";
  g.chords = "..x.............";
  g.kick_decay_s = 0.17;
  g.kick_sweep_hz = 180.0;
  g.kick_click = 0.35;
  g.duck = 0.65;
  g.bass_voice = BassVoice::FmRoll;
  g.chord_voice = ChordVoice::DubStab;
  g.lead_voice = LeadVoice::SquareLead;
  g.delay_send = 0.35;
  return g;
}

Groove trance() {
  Groove g = techno();
  g.snare = "....9.......9...";
  g.hats = "3.3.3.3.3.3.3.3.";
  g.perc = "";
  g.bass_voice = BassVoice::SawPluck;
  g.chords = "xxxxxxxxxxxxxxxx";
  g.chord_voice = ChordVoice::Pluck;
  g.lead_voice = LeadVoice::SuperSaw;
  g.kick_decay_s = 0.15;
  g.duck = 0.6;
  g.delay_send = 0.25;
  return g;
}

Groove nu_disco() {
  Groove g = house();
  g.clap = false;
  g.snare = "....9.......9...";
  g.hats = "5353535353535353";
  g.open_hats = "..6...6...6...6.";
  g.perc = "";
  g.bass = "r.o.r.o.r.o.r.o.";
  g.bass_alt = "r.o.r.o.f.o.f.o.";
  g.chords = "..x-..x-..x-..x-";
  g.chord_voice = ChordVoice::Stab;
  g.lead_voice = LeadVoice::SquareLead;
  g.duck = 0.35;
  return g;
}

Groove hip_hop() {
  Groove g;
  g.kick = "9......9..9.....";
  g.snare = "....9.......9...";
  g.hats = "6.3.6.3.6.3.6.42";
  g.open_hats = "";
  g.perc = "";
  g.bass = "r-------..r---f-";
  g.bass_alt = "r-------..o---f-";
  g.chords = "x-------......x-";
  g.clap = false;
  g.swing = 0.3;
  g.kick_decay_s = 0.2;
  g.kick_sweep_hz = 120.0;
  g.kick_click = 0.15;
  g.duck = 0.45;
  g.bass_voice = BassVoice::Eight08;
  g.chord_voice = ChordVoice::Keys;
  g.lead_voice = LeadVoice::Flute;
  g.delay_send = 0.1;
  return g;
}

Groove downtempo() {
  Groove g = hip_hop();
  g.kick = "9.......9.9.....";
  g.hats = "4.2.4.2.4.2.4.2.";
  g.perc = ".......3......3.";
  g.bass = "r-------..r-f---";
  g.bass_alt = "r-------..r-o---";
  g.chords = "x---------------";
  g.swing = 0.15;
  g.kick_decay_s = 0.13;
  g.duck = 0.4;
  g.bass_voice = BassVoice::Sub;
  g.lead_voice = LeadVoice::Bell;
  g.delay_send = 0.2;
  return g;
}

Groove drum_and_bass() {
  Groove g;
  g.kick = "9.........9.....";
  g.snare = "....9..2....9.2.";
  g.hats = "5.3.5.3.5.3.5.3.";
  g.open_hats = "";
  g.perc = "......3.......3.";
  g.bass = "r---------r-----";
  g.bass_alt = "r---------o-f---";
  g.chords = "x---------------";
  g.clap = false;
  g.kick_decay_s = 0.11;
  g.kick_sweep_hz = 200.0;
  g.kick_click = 0.35;
  g.duck = 0.35;
  g.bass_voice = BassVoice::Reese;
  g.chord_voice = ChordVoice::Pad;
  g.lead_voice = LeadVoice::Bell;
  g.delay_send = 0.2;
  return g;
}

// Arrangements. Intro and outro are drums only; every section is a whole number of phrases.
std::vector<SectionSpec> club_arrangement() {
  return {{"intro", 16, "KSHOP"},     {"groove", 16, "KSHOPB"},     {"main", 16, "KSHOPBC"},
          {"breakdown", 16, "DLR"},   {"drop", 32, "KSHOPBCLX"},    {"outro", 16, "KSHOP"}};
}

}  // namespace

const std::vector<TrackSpec>& catalogue() {
  static const std::vector<TrackSpec> tracks = [] {
    std::vector<TrackSpec> t;
    t.push_back({"hiphop-90-dm", "Dusty Crates", "Lo-Rez Kid", "hip-hop", 90.0, {2, true}, 0.120, 8,
                 {i, iv, i, V}, 1,
                 {{"intro", 8, "KSH"}, {"verse", 16, "KSHBC"}, {"hook", 16, "KSHBCLX"},
                  {"breakdown", 8, "CDL"}, {"hook", 16, "KSHBCLX"}, {"outro", 8, "KSH"}},
                 hip_hop(), 0x1001});
    t.push_back({"downtempo-100-gm", "Harbour Fog", "Slow Tide Collective", "downtempo", 100.0, {7, true},
                 0.050, 16, {i, VI, i, V}, 2,
                 {{"intro", 16, "KSHP"}, {"main", 16, "KSHPBC"}, {"breakdown", 16, "DLR"},
                  {"drop", 16, "KSHPBCLX"}, {"outro", 16, "KSHP"}},
                 downtempo(), 0x1002});
    t.push_back({"nudisco-110-fmaj", "Mirrorball Avenue", "Sunset Rollers", "nu-disco", 110.0, {5, false},
                 0.000, 16, {I, IV, I, Vmaj}, 1,
                 {{"intro", 16, "KSHOP"}, {"groove", 16, "KSHOPB"}, {"main", 16, "KSHOPBC"},
                  {"breakdown", 16, "DLR"}, {"drop", 16, "KSHOPBCLX"}, {"outro", 16, "KSHOP"}},
                 nu_disco(), 0x1003});
    t.push_back({"deephouse-120-cm", "Basement Velvet", "Ines Marlow", "deep house", 120.0, {0, true}, 0.200,
                 16, {i, iv, i, V}, 2, club_arrangement(), deep_house(), 0x1004});
    t.push_back({"house-124-am", "Warehouse Sunrise", "The Night Shift", "house", 124.0, {9, true}, 0.250,
                 16, {i, VI, iv, V}, 2, club_arrangement(), house(), 0x1005});
    t.push_back({"house-124-em", "Second Wind", "Corner Club", "house", 124.0, {4, true}, 0.080, 16,
                 {i, VI, i, V}, 2, club_arrangement(), house_keys(), 0x1006});
    t.push_back({"techhouse-126-ebm", "Low Ceiling", "Rasmus Vale", "tech house", 126.0, {3, true}, 0.150,
                 16, {i, i, iv, V}, 2, club_arrangement(), tech_house(), 0x1007});
    t.push_back({"progressive-128-cmaj", "Open Skies", "Aurora Drift", "progressive house", 128.0,
                 {0, false}, 0.030, 16, {I, IV, I, Vmaj}, 2, club_arrangement(), progressive(), 0x1008});
    t.push_back({"techno-130-fm", "Concrete Pulse", "Unit Seven", "techno", 130.0, {5, true}, 0.100, 16,
                 {i, i, VI, V}, 2,
                 {{"intro", 16, "KHOP"}, {"groove", 16, "KSHOPB"}, {"main", 16, "KSHOPBC"},
                  {"breakdown", 16, "DCR"}, {"drop", 32, "KSHOPBCLX"}, {"outro", 16, "KSHOP"}},
                 techno(), 0x1009});
    t.push_back({"techno-130-bm", "Night Signal", "Gridlock", "techno", 130.0, {11, true}, 0.175, 16,
                 {i, iv, i, V}, 2,
                 {{"intro", 16, "KHOP"}, {"groove", 16, "KSHOPB"}, {"main", 16, "KSHOPBC"},
                  {"breakdown", 16, "DCR"}, {"drop", 32, "KSHOPBCLX"}, {"outro", 16, "KSHOP"}},
                 techno(), 0x100A});
    t.push_back({"trance-140-fsm", "Lifted Horizon", "Solenne", "trance", 140.0, {6, true}, 0.060, 16,
                 {i, VI, iv, V}, 2,
                 {{"intro", 16, "KSHOP"}, {"groove", 16, "KSHOPB"}, {"main", 16, "KSHOPBC"},
                  {"breakdown", 32, "DLCR"}, {"drop", 32, "KSHOPBCDLX"}, {"outro", 16, "KSHOP"}},
                 trance(), 0x100B});
    t.push_back({"dnb-174-csm", "Rolling Thunder", "Subway Echo", "drum & bass", 174.0, {1, true}, 0.090, 32,
                 {i, VI, i, V}, 4,
                 {{"intro", 32, "KSHP"}, {"drop", 32, "KSHPBCX"}, {"breakdown", 32, "DLR"},
                  {"drop", 32, "KSHPBCLX"}, {"outro", 32, "KSHP"}},
                 drum_and_bass(), 0x100C});
    return t;
  }();
  return tracks;
}

}  // namespace demo

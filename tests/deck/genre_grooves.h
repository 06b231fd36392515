// Drum grooves of many genres at known tempi, synthesised here (kick, snare, hats, a bass line
// and a pad), for testing the deck's tempo detection beyond the demo library. Deterministic: the
// same seed gives the same track. Deliberately separate from the deck's analysis code.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "measure.h"

namespace deck_test {

// One genre's groove: drum strings of sixteenths, one bar (16) or two (32) long; '.' rest,
// '1'..'9' velocity. The bass plays the root on each 'x' of its string and holds through '-'.
struct Groove {
  std::string name;
  double bpm;            // the tempo a DJ counts (the ground truth)
  double first_beat_s;   // the first downbeat
  std::string kick, snare, hats, open_hats, bass;
  double swing = 0.0;    // fraction of a sixteenth by which the off-sixteenths are late
  bool clap = false;     // clap (house family) instead of a snare
  double bass_hz = 55.0;
};

// Small deterministic noise source (xorshift).
struct Noise {
  uint32_t s;
  explicit Noise(uint32_t seed) : s(seed ? seed : 1u) {}
  float next() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return static_cast<float>(s) / 2147483648.0f - 1.0f;
  }
};

inline void add_kick(std::vector<float>& x, size_t at, double amp) {
  double ph = 0;
  for (size_t i = 0; i < static_cast<size_t>(0.25 * kSr) && at + i < x.size(); ++i) {
    const double t = i / kSr;
    ph += 2 * M_PI * (48.0 + 130.0 * std::exp(-t / 0.025)) / kSr;
    x[at + i] += static_cast<float>(amp * std::sin(ph) * std::exp(-t / 0.09));
  }
}

inline void add_snare(std::vector<float>& x, size_t at, double amp, bool clap, Noise& rng) {
  // Band-limited noise (a crude one-pole band-pass) plus a 190 Hz body; a clap is three quick bursts.
  double lp = 0, hp_in = 0, hp = 0;
  for (size_t i = 0; i < static_cast<size_t>(0.2 * kSr) && at + i < x.size(); ++i) {
    const double t = i / kSr;
    const double n = rng.next();
    lp += 0.35 * (n - lp);
    hp = 0.9 * (hp + lp - hp_in);
    hp_in = lp;
    double env = std::exp(-t / 0.05);
    if (clap) env = std::exp(-std::fmod(t, 0.011) / 0.004) * (t < 0.033 ? 1.0 : 0.0) + std::exp(-t / 0.06) * (t >= 0.022);
    const double body = clap ? 0.0 : 0.5 * std::sin(2 * M_PI * 190.0 * t) * std::exp(-t / 0.03);
    x[at + i] += static_cast<float>(amp * (2.0 * hp * env + body));  // noise about as loud as the kick
  }
}

inline void add_hat(std::vector<float>& x, size_t at, double amp, double decay_s, Noise& rng) {
  float prev = 0;
  for (size_t i = 0; i < static_cast<size_t>(6 * decay_s * kSr) && at + i < x.size(); ++i) {
    const float n = rng.next();
    const float hi = n - prev;  // first difference: mostly above 5 kHz
    prev = n;
    x[at + i] += static_cast<float>(amp * 0.4 * hi * std::exp(-(i / kSr) / decay_s));
  }
}

// Renders `seconds` of the groove, mono. The drums start at first_beat_s; a sustained pad (a
// minor triad) runs throughout, so the track is never silent between hits.
inline std::vector<float> render_groove(const Groove& g, double seconds, uint32_t seed = 7) {
  std::vector<float> x(static_cast<size_t>(seconds * kSr), 0.0f);
  Noise rng(seed);
  const double step_s = 60.0 / g.bpm / 4.0;
  auto vel = [](const std::string& pat, size_t i) -> double {
    if (pat.empty()) return 0.0;
    const char c = pat[i % pat.size()];
    return c >= '1' && c <= '9' ? (c - '0') / 9.0 : 0.0;
  };
  // Bass: a sine with a short attack on each note, following its string.
  std::vector<double> bass_gate(x.size(), 0.0);
  for (size_t step = 0;; ++step) {
    double t = g.first_beat_s + step * step_s;
    if (step % 2 == 1) t += g.swing * step_s;
    const size_t at = static_cast<size_t>(std::llround(t * kSr));
    if (at >= x.size()) break;
    // a little humanising: ±1.5 dB of velocity
    const double hv = 1.0 + 0.08 * rng.next();
    if (double v = vel(g.kick, step)) add_kick(x, at, 0.75 * v * hv);
    if (double v = vel(g.snare, step)) add_snare(x, at, 0.6 * v * hv, g.clap, rng);
    if (double v = vel(g.hats, step)) add_hat(x, at, 0.25 * v * hv, 0.012, rng);
    if (double v = vel(g.open_hats, step)) add_hat(x, at, 0.2 * v * hv, 0.06, rng);
    if (!g.bass.empty()) {
      const char c = g.bass[step % g.bass.size()];
      const size_t end = std::min(x.size(), at + static_cast<size_t>(step_s * kSr) + 1);
      if (c == 'x' || c == '-')
        for (size_t i = at; i < end; ++i) bass_gate[i] = c == 'x' && i - at < 48 ? (i - at) / 48.0 : 1.0;
    }
  }
  double bass_env = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    bass_env += 0.002 * (bass_gate[i] - bass_env);
    const double t = i / kSr;
    const double bass = 0.22 * bass_env * std::sin(2 * M_PI * g.bass_hz * t);
    const double pad = 0.03 * (std::sin(2 * M_PI * 220.0 * t) + std::sin(2 * M_PI * 261.63 * t) +
                               std::sin(2 * M_PI * 329.63 * t));
    x[i] += static_cast<float>(bass + pad);
  }
  return x;
}

// The test set: genres at the tempi a DJ would name, with the drum parts they are known by.
inline std::vector<Groove> genre_grooves() {
  std::vector<Groove> v;
  auto add = [&](Groove g) { v.push_back(std::move(g)); };
  // Boom bap: kick on 1, the "a" of 2 and the "and" of 3; snare on 2 and 4; swung hats.
  for (double bpm : {85.0, 88.0, 95.0}) {
    Groove g{"hip-hop", bpm, 0.31, "9......9..9.....", "....9.......9...", "7.4.7.4.7.4.7.45", "", "x-------..x---x-"};
    g.swing = 0.25;
    add(g);
  }
  // Rock: kick on 1 and 3 (and the "and" of 3), snare on 2 and 4, straight eighths on the hats.
  for (double bpm : {80.0, 120.0}) {
    Groove g{"rock", bpm, 0.12, "9.......9.7.....", "....9.......9...", "6.4.6.4.6.4.6.4.", "", "x-x-x-x-x-x-x-x-"};
    g.bass_hz = 82.4;
    add(g);
  }
  // Drum & bass two-step: kick on 1 and the "and" of 3, snare on 2 and 4, sixteenth hats.
  for (double bpm : {172.0, 174.0}) {
    Groove g{"drum & bass", bpm, 0.05, "9.........9.....", "....9..2....9.2.", "5.3.5.3.5.3.5.3.", "", "x---------x-----"};
    add(g);
  }
  // Dubstep: half-time, kick on 1, snare on 3 (counted at 140).
  add({"dubstep", 140.0, 0.2, "9.........7.....", "........9.......", "4.3.4.3.4.3.4.3.", "", "x-------x---x---"});
  // House and techno: four to the floor.
  {
    Groove g{"house", 124.0, 0.25, "9...9...9...9...", "....9.......9...", "3.5.3.5.3.5.3.5.", "..6...6...6...6.", "..x-..x-..x-..x-"};
    g.clap = true;
    add(g);
  }
  add({"techno", 132.0, 0.1, "9...9...9...9...", "", "3535353535353535", "..7...7...7...7.", ".x-x.x-x.x-x.x-x"});
  // Downtempo: a laid-back backbeat.
  {
    Groove g{"downtempo", 100.0, 0.4, "9.......9.9.....", "....9.......9...", "4.2.4.2.4.2.4.2.", "", "x-------..x-x---"};
    g.swing = 0.15;
    add(g);
  }
  // Trap: counted at 140 with half-time drums (snare on 3), rolling sixteenth hats, a 808 that
  // follows the kick. Its "70 BPM" feel is the same audio counted at half speed.
  add({"trap", 140.0, 0.15, "9......9..9.....9.......9.......", "........9...............9.......",
       "5353535353535353", "", "x------x--x-----x-------x-------"});
  return v;
}

}  // namespace deck_test

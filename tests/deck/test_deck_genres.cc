// Tempo detection beyond the demo library: synthesised grooves of many genres at known tempi
// (genre_grooves.h). Prints the table of true against detected BPM and first beat; every track
// must come out at the tempo a DJ counts (±0.1 BPM, no half or double) with its first beat
// within ±5 ms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "deck/analysis.h"
#include "genre_grooves.h"

using namespace deck_test;

TEST(DeckGenres, TempoAndFirstBeatOfEveryGenre) {
  int right = 0, total = 0;
  std::printf("%-12s %7s %9s %9s %9s %7s\n", "genre", "bpm", "found", "beat1 s", "found", "conf");
  // Each groove twice: 60 s, and 45 s of another take (other noise, the drums 0.13 s later).
  struct Take {
    double seconds, shift_s;
    uint32_t seed;
  };
  for (const Take& take : {Take{60.0, 0.0, 7}, Take{45.0, 0.13, 2}})
  for (Groove g : genre_grooves()) {
    g.first_beat_s += take.shift_s;
    const auto mono = render_groove(g, take.seconds, take.seed);
    auto t = std::make_shared<dju::Track>();
    const auto st = to_stereo(mono);
    t->append(st.data(), mono.size());
    const auto a = dju::analyse_track(*t);
    const double period = 60.0 / g.bpm;
    const double want_fb = std::fmod(g.first_beat_s, period);
    const double found_fb = a.grid.first_beat / kSr;
    double d = std::fmod(found_fb - want_fb, period);
    if (d > period / 2) d -= period;
    if (d < -period / 2) d += period;
    std::printf("%-12s %7.1f %9.3f %9.4f %9.4f %7.2f\n", g.name.c_str(), g.bpm, a.grid.bpm, want_fb, found_fb,
                a.bpm_confidence);
    EXPECT_NEAR(a.grid.bpm, g.bpm, 0.1) << g.name << " at " << g.bpm;
    EXPECT_NEAR(d, 0.0, 0.005) << g.name << " at " << g.bpm << ": first beat " << found_fb << " s";
    ++total;
    if (std::fabs(a.grid.bpm - g.bpm) <= 0.1 && std::fabs(d) <= 0.005) ++right;
  }
  std::printf("right: %d of %d\n", right, total);
  EXPECT_EQ(right, total);
}

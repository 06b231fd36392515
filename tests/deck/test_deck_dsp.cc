// The deck's pure DSP: playback engine (positions, keylock delay compensation, loops, hotcues,
// scratch, sync) and analysis (beat grid, key), on signals synthesised here.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "deck/analysis.h"
#include "deck/deck_engine.h"
#include "measure.h"

using namespace deck_test;

namespace {

std::shared_ptr<dju::Track> make_track(const std::vector<float>& mono) {
  auto t = std::make_shared<dju::Track>();
  const auto st = to_stereo(mono);
  t->append(st.data(), mono.size());
  return t;
}

dju::BeatGrid grid(double bpm, double first_beat_s) {
  dju::BeatGrid g;
  g.bpm = bpm;
  g.first_beat = first_beat_s * kSr;
  return g;
}

// Renders `seconds` in 256-frame blocks; returns the left channel.
std::vector<float> play(dju::DeckEngine& e, double seconds, int64_t* time) {
  const size_t n = static_cast<size_t>(seconds * kSr);
  std::vector<float> out(n * 2);
  for (size_t done = 0; done < n; done += 256) {
    const size_t k = std::min<size_t>(256, n - done);
    e.render(out.data() + 2 * done, k, *time);
    *time += static_cast<int64_t>(k);
  }
  return left(out);
}

// Onsets of the source track's kicks as the independent detector sees them (seconds of track).
std::vector<double> source_onsets(double bpm, double seconds, double fb) {
  return onsets(click_track(bpm, seconds, fb));
}

}  // namespace

TEST(DeckEngine, PlaysTheTrackSampleExactAtUnitRate) {
  auto mono = click_track(124, 4, 0.1, 440);
  dju::DeckEngine e;
  e.set_track(make_track(mono), grid(124, 0.1));
  e.seek(1000);
  e.set_playing(true);
  int64_t t = 0;
  auto out = play(e, 1.0, &t);
  // After the 5 ms fade-in the output is the track itself, from the seek point on.
  for (size_t i = 300; i < out.size(); ++i) ASSERT_NEAR(out[i], mono[1000 + i], 1e-4) << i;
  EXPECT_DOUBLE_EQ(e.snapshot().position, 1000.0 + 48000.0);
}

TEST(DeckEngine, PositionAdvancesByTempoExactly) {
  dju::DeckEngine e;
  e.set_track(make_track(click_track(124, 10, 0.1)), grid(124, 0.1));
  e.set_tempo(1.06);
  e.set_playing(true);
  int64_t t = 0;
  play(e, 0.1, &t);  // past the 10 ms tempo ramp
  const double p0 = e.snapshot().position;
  play(e, 2.0, &t);
  EXPECT_NEAR(e.snapshot().position - p0, 2.0 * kSr * 1.06, 1e-6);
}

// With keylock the heard position is compensated for SoundTouch's delay: the kick at track time
// T comes out when the reported position passes T, on average within ±1 ms at any tempo; each
// kick within the WSOLA sequence jitter (±|tempo−1|·20 ms) on top. 97 BPM: the kicks fall on every
// phase of SoundTouch's 40 ms sequences, so the mean is a fair one.
TEST(DeckEngine, KeylockPositionIsWhatIsHeard) {
  for (double tempo : {1.0, 0.94, 1.06, 1.25}) {
    dju::DeckEngine e;
    e.set_track(make_track(click_track(97, 24, 1.0)), grid(97, 1.0));
    e.set_keylock(true);
    e.set_tempo(tempo);
    e.seek(0.5 * kSr);
    e.set_playing(true);
    int64_t t = 0;
    auto out = play(e, 16.0, &t);
    auto on = onsets(out);
    auto src = source_onsets(97, 24, 1.0);
    ASSERT_GE(on.size(), 24u) << tempo;
    // Output time of source onset s: (s - 0.5) / tempo.
    double mean = 0;
    for (size_t i = 0; i < 24; ++i) {
      const double err = on[i] - (src[i] - 0.5) / tempo;
      EXPECT_LT(std::fabs(err), 0.0015 + std::fabs(tempo - 1.0) * 0.025) << "tempo " << tempo << " beat " << i;
      mean += err / 24;
    }
    EXPECT_LT(std::fabs(mean), 0.001) << "tempo " << tempo;
  }
}

TEST(DeckEngine, KeylockKeepsPitchVarispeedFollowsTempo) {
  std::vector<float> tone(static_cast<size_t>(8 * kSr));
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.3f * static_cast<float>(std::sin(2 * M_PI * 440.0 * i / kSr));
  for (bool keylock : {true, false}) {
    dju::DeckEngine e;
    e.set_track(make_track(tone), dju::BeatGrid{});
    e.set_keylock(keylock);
    e.set_tempo(1.06);
    e.set_playing(true);
    int64_t t = 0;
    auto out = play(e, 4.0, &t);
    const double f = tone_frequency(out, 48000, 96000, keylock ? 440.0 : 466.4);
    if (keylock) {
      EXPECT_NEAR(cents(f, 440.0), 0.0, 5.0);
    } else {
      EXPECT_NEAR(cents(f, 440.0), 100.88, 5.0);  // 1200·log2(1.06)
    }
  }
}

TEST(DeckEngine, KeyShiftMovesPitchBySemitones) {
  std::vector<float> tone(static_cast<size_t>(6 * kSr));
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.3f * static_cast<float>(std::sin(2 * M_PI * 440.0 * i / kSr));
  dju::DeckEngine e;
  e.set_track(make_track(tone), dju::BeatGrid{});
  e.set_key_shift(-2.0);
  e.set_playing(true);
  int64_t t = 0;
  auto out = play(e, 3.0, &t);
  EXPECT_NEAR(cents(tone_frequency(out, 48000, 96000, 392.0), 440.0), -200.0, 5.0);
  EXPECT_NEAR(e.snapshot().position, 3.0 * kSr, 1.0);  // tempo unchanged
}

TEST(DeckEngine, HotcueJumpLandsOnItsPoint) {
  for (bool keylock : {false, true}) {
    const double fb = 0.25, bpm = 124;
    auto src = source_onsets(bpm, 20, fb);
    dju::DeckEngine e;
    e.set_track(make_track(click_track(bpm, 20, fb)), grid(bpm, fb));
    e.set_keylock(keylock);
    // Hotcue 3 exactly 20 ms before the kick at beat 20.
    const double cue_s = fb + 20 * 60.0 / bpm - 0.020;
    e.seek(cue_s * kSr);
    ASSERT_TRUE(e.hotcue(3));  // empty: sets
    e.seek(2.0 * kSr);
    e.set_playing(true);
    int64_t t = 0;
    play(e, 1.0, &t);
    ASSERT_TRUE(e.hotcue(3));  // jumps
    EXPECT_NEAR(e.snapshot().position, cue_s * kSr, 0.5);
    auto out = play(e, 0.3, &t);
    auto on = onsets(out);
    ASSERT_FALSE(on.empty());
    // The kick after the cue point comes out 20 ms after the jump (as the source detector sees it).
    const double src_kick = src[20] - (fb + 20 * 60.0 / bpm);
    EXPECT_NEAR(on[0], 0.020 + src_kick, 0.001) << "keylock " << keylock;
  }
  dju::DeckEngine e;
  EXPECT_FALSE(e.hotcue(1));  // no track
  e.set_track(make_track(click_track(124, 2, 0.1)), grid(124, 0.1));
  EXPECT_FALSE(e.hotcue(0));
  EXPECT_FALSE(e.hotcue(9));
}

TEST(DeckEngine, BeatLoopRepeatsWithExactPeriodAndCleanSeam) {
  const double bpm = 124, fb = 0.1;
  // Kicks plus a tone that does not fit the loop length, so the seam is a real discontinuity.
  auto mono = click_track(bpm, 30, fb, 331.0, 0.2);
  dju::DeckEngine e;
  e.set_track(make_track(mono), grid(bpm, fb));
  e.seek((fb + 8 * 60.0 / bpm) * kSr);
  e.set_playing(true);
  int64_t t = 0;
  play(e, 0.05, &t);
  ASSERT_TRUE(e.beatloop(4));
  const auto s = e.snapshot();
  const double len = 4 * 60.0 / bpm * kSr;
  EXPECT_NEAR(s.loop_end - s.loop_start, len, 1e-6);
  auto out = play(e, 10.0, &t);
  auto on = onsets(out);
  // Every kick of the loop, loop after loop: the onsets one loop apart are exactly len apart.
  ASSERT_GE(on.size(), 16u);
  for (size_t i = 0; i + 4 < on.size(); ++i) EXPECT_NEAR(on[i + 4] - on[i], len / kSr, 0.001) << i;
  // The seam: the largest step across the loop points stays below the music's own largest step.
  const double music_step = max_step(mono, 0, mono.size());
  const double first_seam = (s.loop_end - e.snapshot().position) / kSr;  // not used for timing
  (void)first_seam;
  double seam_step = 0;
  for (int k = 0; k < 4; ++k) {
    const double seam_t = (s.loop_end - (s.loop_start + 0.05 * kSr * 0)) / kSr;  // offset below
    (void)seam_t;
  }
  // Seams are at output times where the playhead wraps: loop_end - pos_at_start, + n·len.
  const double pos_at_start = s.position;
  for (int k = 0; k < 4; ++k) {
    const size_t at = static_cast<size_t>((s.loop_end - pos_at_start) + k * len);
    seam_step = std::max(seam_step, max_step(out, at - 240, at + 480));
  }
  EXPECT_LT(seam_step, music_step);
  // Halve and double keep the start; exit lets the track run on.
  ASSERT_TRUE(e.loop_halve());
  EXPECT_NEAR(e.snapshot().loop_end - e.snapshot().loop_start, len / 2, 1e-6);
  ASSERT_TRUE(e.loop_double());
  EXPECT_NEAR(e.snapshot().loop_end - e.snapshot().loop_start, len, 1e-6);
  ASSERT_TRUE(e.loop_exit());
  play(e, len / kSr + 0.1, &t);
  EXPECT_GT(e.snapshot().position, s.loop_end);
  EXPECT_FALSE(e.beatloop(0.0));
  EXPECT_FALSE(e.beatloop(100.0));
}

TEST(DeckEngine, ManualLoopAndBeatjump) {
  const double bpm = 120, fb = 0.0;
  dju::DeckEngine e;
  e.set_track(make_track(click_track(bpm, 30, fb)), grid(bpm, fb));
  e.set_quantize(true);
  e.seek(2.01 * kSr);  // quantize: the loop-in snaps to the beat at 2.0 s
  ASSERT_TRUE(e.loop_in());
  EXPECT_DOUBLE_EQ(e.snapshot().loop_start, 2.0 * kSr);
  e.set_playing(true);
  int64_t t = 0;
  play(e, 0.99, &t);  // now at ~3.0 s
  ASSERT_TRUE(e.loop_out());
  EXPECT_DOUBLE_EQ(e.snapshot().loop_end, 3.0 * kSr);
  play(e, 3.0, &t);
  const double p = e.snapshot().position;
  EXPECT_GE(p, 2.0 * kSr);
  EXPECT_LT(p, 3.0 * kSr);
  ASSERT_TRUE(e.beatjump(4));  // the loop travels along
  EXPECT_DOUBLE_EQ(e.snapshot().loop_start, 4.0 * kSr);
  EXPECT_NEAR(e.snapshot().position, p + 2.0 * kSr, 1e-6);
  ASSERT_TRUE(e.loop_exit());
  ASSERT_TRUE(e.reloop());
  EXPECT_DOUBLE_EQ(e.snapshot().position, 4.0 * kSr);
}

TEST(DeckEngine, CdjCue) {
  dju::DeckEngine e;
  e.set_track(make_track(click_track(120, 10, 0.0, 300)), grid(120, 0.0));
  e.seek(3.0 * kSr);
  ASSERT_TRUE(e.cue(true));  // paused: cue point here, preview while held
  EXPECT_DOUBLE_EQ(e.snapshot().cue, 3.0 * kSr);
  EXPECT_TRUE(e.snapshot().playing);
  int64_t t = 0;
  auto out = play(e, 0.5, &t);
  EXPECT_GT(max_step(out, 0, out.size()), 0.001);
  ASSERT_TRUE(e.cue(false));  // released: back to the cue, paused
  EXPECT_FALSE(e.snapshot().playing);
  EXPECT_DOUBLE_EQ(e.snapshot().position, 3.0 * kSr);
  e.set_playing(true);
  play(e, 1.0, &t);
  ASSERT_TRUE(e.cue(true));  // playing: back to the cue and stop
  EXPECT_FALSE(e.snapshot().playing);
  EXPECT_DOUBLE_EQ(e.snapshot().position, 3.0 * kSr);
  out = play(e, 0.2, &t);
  for (size_t i = 300; i < out.size(); ++i) ASSERT_EQ(out[i], 0.0f);
}

TEST(DeckEngine, ScratchGoesThroughZeroSmoothly) {
  std::vector<float> tone(static_cast<size_t>(6 * kSr));
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.5f * static_cast<float>(std::sin(2 * M_PI * 200.0 * i / kSr));
  dju::DeckEngine e;
  e.set_track(make_track(tone), dju::BeatGrid{});
  e.seek(3.0 * kSr);
  e.set_playing(true);
  int64_t t = 0;
  play(e, 0.2, &t);
  ASSERT_TRUE(e.scratch(true));
  std::vector<float> all;
  // Platter velocity from +1 down to -1 and back, in 10 ms controller steps.
  for (int i = 0; i <= 200; ++i) {
    const double v = std::cos(M_PI * i / 100.0);
    ASSERT_TRUE(e.jog(v));
    auto o = play(e, 0.01, &t);
    all.insert(all.end(), o.begin(), o.end());
    if (i == 100) {
      EXPECT_LT(e.snapshot().rate, -0.9);
    }
  }
  // No zipper or click: no step bigger than a 200 Hz sine's at rate 1 (0.5·2π·200/48000 ≈ 0.013).
  EXPECT_LT(max_step(all, 0, all.size()), 0.02);
  ASSERT_TRUE(e.scratch(false));
  play(e, 0.1, &t);
  EXPECT_NEAR(e.snapshot().rate, 1.0, 1e-9);
  EXPECT_FALSE(e.jog(100.0));
}

// Two decks at different BPMs: after sync the follower's kicks coincide with the leader's for a
// minute (both rendered on one timeline, as two decks of one pipeline are).
TEST(DeckEngine, SyncLocksBeatsForAMinute) {
  for (bool keylock : {false, true}) {
    dju::DeckEngine a, b;
    a.set_track(make_track(click_track(124, 80, 0.3)), grid(124, 0.3));
    b.set_track(make_track(click_track(128, 80, 0.05)), grid(128, 0.05));
    b.set_keylock(keylock);
    a.seek(1.1 * kSr);
    b.seek(7.77 * kSr);
    a.set_playing(true);
    b.set_playing(true);
    int64_t ta = 0, tb = 0;
    play(a, 0.5, &ta);
    play(b, 0.5, &tb);
    ASSERT_TRUE(b.sync_to(a.snapshot()));
    std::vector<float> oa, ob;
    for (int i = 0; i < 60 * 10; ++i) {
      auto x = play(a, 0.1, &ta);
      auto y = play(b, 0.1, &tb);
      oa.insert(oa.end(), x.begin(), x.end());
      ob.insert(ob.end(), y.begin(), y.end());
    }
    EXPECT_NEAR(b.snapshot().tempo, 124.0 / 128.0, 1e-12);
    auto on_a = onsets(oa), on_b = onsets(ob);
    ASSERT_GT(on_a.size(), 100u);
    size_t matched = 0;
    double worst = 0;
    for (double x : on_b) {
      if (x < 0.05) continue;  // the sync's own crossfade
      double best = 1e9;
      for (double y : on_a) best = std::min(best, std::fabs(x - y));
      worst = std::max(worst, best);
      ++matched;
    }
    EXPECT_GT(matched, 100u);
    EXPECT_LT(worst, 0.002) << "keylock " << keylock;
  }
}

// Sync lock: the follower, fed the leader's snapshot before every block as the element does,
// follows the leader's later tempo changes and a jump, and keeps its beats on the leader's;
// set_tempo and sync_off let go. Varispeed: with keylock, a tempo change leaves a transient of up
// to ~3 ms that fades over a few seconds (the stretcher's delay compensation lags the change).
TEST(DeckEngine, SyncFollowsTheLeader) {
  dju::DeckEngine a, b;
  a.set_track(make_track(click_track(124, 80, 0.3)), grid(124, 0.3));
  b.set_track(make_track(click_track(128, 80, 0.05)), grid(128, 0.05));
  b.set_keylock(false);
  a.seek(1.1 * kSr);
  b.seek(7.77 * kSr);
  a.set_playing(true);
  b.set_playing(true);
  int64_t ta = 0, tb = 0;
  ASSERT_TRUE(b.sync_to(a.snapshot()));
  EXPECT_TRUE(b.snapshot().sync_engaged);
  std::vector<float> oa, ob;
  std::vector<double> settle;  // output seconds where the leader changed
  for (int block = 0; block < 40 * 188; ++block) {  // 40 s in 256-frame blocks
    const double t = static_cast<double>(ta) / kSr;
    if (block == 10 * 188) a.set_tempo(1.06), settle.push_back(t);
    if (block == 20 * 188) a.set_tempo(0.95), settle.push_back(t);
    if (block == 30 * 188) a.beatjump(4.0), settle.push_back(t);
    auto x = play(a, 256 / kSr, &ta);
    b.follow(a.snapshot());
    auto y = play(b, 256 / kSr, &tb);
    oa.insert(oa.end(), x.begin(), x.end());
    ob.insert(ob.end(), y.begin(), y.end());
  }
  EXPECT_NEAR(b.snapshot().tempo, 0.95 * 124.0 / 128.0, 1e-12);
  auto on_a = onsets(oa), on_b = onsets(ob);
  ASSERT_GT(on_b.size(), 60u);
  double worst = 0;
  size_t checked = 0;
  for (double x : on_b) {
    bool skip = x < 0.05;
    for (double c : settle) skip = skip || (x > c - 0.02 && x < c + 0.3);
    if (skip) continue;
    double best = 1e9;
    for (double y : on_a) best = std::min(best, std::fabs(x - y));
    worst = std::max(worst, best);
    ++checked;
  }
  EXPECT_GT(checked, 60u);
  EXPECT_LT(worst, 0.002);
  // The follower's own tempo lets go; so does sync_off after a new sync.
  b.set_tempo(1.0);
  EXPECT_FALSE(b.snapshot().sync_engaged);
  a.set_tempo(1.02);
  b.follow(a.snapshot());
  play(b, 0.1, &tb);
  EXPECT_DOUBLE_EQ(b.snapshot().tempo, 1.0);
  ASSERT_TRUE(b.sync_to(a.snapshot()));
  play(b, 0.01, &tb);
  b.sync_off();
  a.set_tempo(0.9);
  b.follow(a.snapshot());
  play(b, 0.1, &tb);
  EXPECT_NEAR(b.snapshot().tempo, 1.02 * 124.0 / 128.0, 1e-12);
}

// ---------------------------------------------------------------- analysis

TEST(DeckAnalysis, BeatGridIsExactOnSteadyTempo) {
  struct Case {
    double bpm, fb;
  } cases[] = {{124, 0.25}, {128, 0.0}, {174, 1.3}, {90, 0.6}, {140, 0.02}};
  for (const auto& c : cases) {
    auto mono = click_track(c.bpm, 60, c.fb, 220, 0.05);
    auto t = make_track(mono);
    auto a = dju::analyse_track(*t);
    EXPECT_NEAR(a.grid.bpm, c.bpm, 0.1) << c.bpm;
    // The grid runs from the start of the track: its first beat is the first kick's time modulo
    // the beat period, ±5 ms.
    const double period = 60.0 / c.bpm;
    EXPECT_NEAR(a.grid.first_beat / kSr, std::fmod(c.fb, period), 0.005) << c.bpm;
    EXPECT_GE(a.waveform.size(), 1000u);
    EXPECT_LE(a.waveform.size(), 4000u);
  }
}

TEST(DeckAnalysis, KeyFromChroma) {
  // A minor triad with a little of the scale: A C E strong, others weak.
  double am[12] = {};
  const int scale[] = {9, 11, 0, 2, 4, 5, 7};
  for (int pc : scale) am[pc] = 1.0;
  am[9] = am[0] = am[4] = 3.0;
  auto k = dju::key_from_chroma(am);
  EXPECT_EQ(k.name, "A minor");
  EXPECT_EQ(k.camelot, "8A");
  double cmaj[12] = {};
  for (int pc : {0, 2, 4, 5, 7, 9, 11}) cmaj[pc] = 1.0;
  cmaj[0] = cmaj[4] = cmaj[7] = 3.0;
  EXPECT_EQ(dju::key_from_chroma(cmaj).camelot, "8B");
  EXPECT_EQ(dju::camelot_code(4, true), "9A");    // E minor
  EXPECT_EQ(dju::camelot_code(8, true), "1A");    // G# minor
  EXPECT_EQ(dju::camelot_code(7, false), "9B");   // G major
  EXPECT_EQ(dju::camelot_code(11, false), "1B");  // B major
  EXPECT_EQ(dju::camelot_code(5, false), "7B");   // F major
  double zero[12] = {};
  EXPECT_EQ(dju::key_from_chroma(zero).tonic, -1);
}

TEST(DeckAnalysis, KeyOfAChordProgression) {
  // A minor: Am – Dm – E – Am (i–iv–V–i) triads with a root bass, each 2 s.
  const int chords[4][3] = {{9, 0, 4}, {2, 5, 9}, {4, 8, 11}, {9, 0, 4}};
  std::vector<float> x(static_cast<size_t>(16 * kSr));
  for (size_t i = 0; i < x.size(); ++i) {
    const int c = static_cast<int>(i / (2 * kSr)) % 4;
    double v = 0;
    for (int n = 0; n < 3; ++n) {
      const double f = 261.63 * std::pow(2.0, chords[c][n] / 12.0);
      v += 0.1 * std::sin(2 * M_PI * f * i / kSr);
    }
    v += 0.2 * std::sin(2 * M_PI * 65.41 * std::pow(2.0, chords[c][0] / 12.0) * i / kSr);
    x[i] = static_cast<float>(v);
  }
  auto a = dju::analyse_track(*make_track(x));
  EXPECT_EQ(a.key.name, "A minor");
  EXPECT_EQ(a.key.camelot, "8A");
}

// djeq measured through a real pipeline: transparency, kill depths, passband, clicks, controller ramps.
#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/controller/gstinterpolationcontrolsource.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "mixer_test_util.h"
#include "test_env.h"

using namespace mixtest;

namespace {

// Level change in dB of a sine through djeq configured by `setup`, measured after the ramps.
double response_db(double hz, const std::function<void(GstElement*)>& setup) {
  Signal in = sine(hz, 0.5, kRate);
  Signal out = run_filter("djeq", in, setup);
  EXPECT_EQ(out.size(), in.size());
  return db(tone_amplitude(out, hz, kRate / 2, kRate) / tone_amplitude(in, hz, kRate / 2, kRate));
}

double residual_dbfs(const Signal& a, const Signal& b) {
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return db(m);
}

// The first demo track decoded to 48 kHz stereo float (10 s from 30 s in), or empty without the library.
Signal demo_music() {
  namespace fs = std::filesystem;
  const fs::path dir = dju_test::demo_tracks();
  if (!fs::exists(dir)) return {};
  std::string file;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".flac" && (file.empty() || e.path().string() < file)) file = e.path().string();
  if (file.empty()) return {};
  gchar* uri = gst_filename_to_uri(file.c_str(), nullptr);
  std::string desc = std::string("uridecodebin uri=") + uri +
                     " ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=48000,channels=2 ! "
                     "appsink name=sink sync=false";
  g_free(uri);
  GstElement* pipe = gst_parse_launch(desc.c_str(), nullptr);
  if (!pipe) return {};
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  Signal all = pull_all(sink);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  const size_t from = std::min<size_t>(frames_of(all), 30 * kRate), to = std::min<size_t>(frames_of(all), 40 * kRate);
  return Signal(all.begin() + from * kChannels, all.begin() + to * kChannels);
}

}  // namespace

TEST(DjEq, ZeroDbIsTransparentOnSweepNoiseAndMusic) {
  auto flat = [](GstElement* eq) { g_object_set(eq, "low", 0.0, "mid", 0.0, "high", 0.0, "filter", 0.0, nullptr); };
  Signal sw = sweep(20.0, 20000.0, 0.9, 2 * kRate);
  Signal out = run_filter("djeq", sw, flat);
  ASSERT_EQ(out.size(), sw.size());
  EXPECT_LE(residual_dbfs(out, sw), -90.0);
  std::printf("[measure] djeq 0 dB residual, sweep: %.1f dBFS\n", residual_dbfs(out, sw));

  Signal nz = noise(0.5, kRate);
  out = run_filter("djeq", nz, flat);
  EXPECT_LE(residual_dbfs(out, nz), -90.0);

  // After a round trip (a kill and back to 0 dB) the EQ steps out of the path again.
  Signal back_in = sweep(20.0, 20000.0, 0.9, 2 * kRate);
  out = run_filter("djeq", back_in, nullptr, [](GstElement* eq, guint64 f) {
    if (f == 0) g_object_set(eq, "low-kill", TRUE, nullptr);
    if (f >= kRate / 4 && f < kRate / 4 + kBlock) g_object_set(eq, "low-kill", FALSE, nullptr);
  });
  Signal tail_out(out.begin() + kRate * kChannels, out.end()), tail_in(back_in.begin() + kRate * kChannels, back_in.end());
  EXPECT_LE(residual_dbfs(tail_out, tail_in), -90.0);

  Signal music = demo_music();
  if (music.empty()) GTEST_FAIL() << "no demo library (the build makes it) at " << dju_test::demo_tracks() << " for the music check";
  out = run_filter("djeq", music, flat);
  ASSERT_EQ(out.size(), music.size());
  EXPECT_LE(residual_dbfs(out, music), -90.0);
  std::printf("[measure] djeq 0 dB residual, music: %.1f dBFS\n", residual_dbfs(out, music));
}

TEST(DjEq, KillDepthsAndPassband) {
  auto kill = [](const char* prop) { return [prop](GstElement* eq) { g_object_set(eq, prop, TRUE, nullptr); }; };
  const double low = response_db(50.0, kill("low-kill"));
  const double mid = response_db(1000.0, kill("mid-kill"));
  const double high = response_db(10000.0, kill("high-kill"));
  std::printf("[measure] kill depths: low@50Hz %.1f dB, mid@1kHz %.1f dB, high@10kHz %.1f dB\n", low, mid, high);
  EXPECT_LE(low, -60.0);
  EXPECT_LE(mid, -40.0);
  EXPECT_LE(high, -60.0);
  // The other bands stay at unity away from the crossovers.
  for (double hz : {1000.0, 10000.0}) EXPECT_NEAR(response_db(hz, kill("low-kill")), 0.0, 0.5) << hz;
  for (double hz : {50.0, 10000.0}) EXPECT_NEAR(response_db(hz, kill("mid-kill")), 0.0, 0.5) << hz;
  for (double hz : {50.0, 1000.0}) EXPECT_NEAR(response_db(hz, kill("high-kill")), 0.0, 0.5) << hz;
  // The knob's bottom is a kill too, and +6 dB is +6 dB.
  EXPECT_LE(response_db(50.0, [](GstElement* eq) { g_object_set(eq, "low", -40.0, nullptr); }), -60.0);
  EXPECT_NEAR(response_db(5000.0, [](GstElement* eq) { g_object_set(eq, "high", 6.0, nullptr); }), 6.0, 0.1);
  // Moving a crossover moves the band: with the low/mid crossover at 1 kHz, 500 Hz is in the low band.
  EXPECT_LE(response_db(300.0, [](GstElement* eq) {
              g_object_set(eq, "low-mid-crossover", 1500.0, "mid-high-crossover", 6000.0, "low-kill", TRUE, nullptr);
            }),
            -40.0);
}

TEST(DjEq, FilterKnob) {
  auto knob = [](double v) { return [v](GstElement* eq) { g_object_set(eq, "filter", v, nullptr); }; };
  EXPECT_LE(response_db(2000.0, knob(-1.0)), -60.0);
  EXPECT_LE(response_db(100.0, knob(1.0)), -60.0);
  EXPECT_NEAR(response_db(100.0, knob(-0.3)), 0.0, 0.5);
  EXPECT_NEAR(response_db(8000.0, knob(0.3)), 0.0, 0.5);
}

// Jumping any parameter end to end in one call never clicks: the largest sample-to-sample step of a
// low sine stays below 2.5 times its own natural largest step (at the input level, or at the level
// of a boosted setting before or after the jump). A click — an unsmoothed jump — steps by up to the sine's full amplitude, 25 to
// 130 times that natural step here; even a 1 ms linear ramp across the full level breaks the bound.
// The margin above 1× covers what a filter legitimately adds while it moves (its resonance, the
// change of phase as a cutoff sweeps across the tone).
TEST(DjEq, ParameterJumpsDoNotClick) {
  const double hz = 60.0, amp = 0.5;
  struct Jump {
    const char* name;
    std::function<void(GstElement*)> before, after;
  };
  auto set_d = [](const char* p, double v) { return [p, v](GstElement* e) { g_object_set(e, p, v, nullptr); }; };
  auto set_b = [](const char* p, gboolean v) { return [p, v](GstElement* e) { g_object_set(e, p, v, nullptr); }; };
  std::vector<Jump> jumps = {
      {"low +6 → kill", set_d("low", 6.0), set_d("low", -40.0)},
      {"low kill → +6", set_d("low", -40.0), set_d("low", 6.0)},
      {"mid +6 → kill", set_d("mid", 6.0), set_d("mid", -40.0)},
      {"high kill → +6", set_d("high", -40.0), set_d("high", 6.0)},
      {"low-kill on", nullptr, set_b("low-kill", TRUE)},
      {"low-kill off", set_b("low-kill", TRUE), set_b("low-kill", FALSE)},
      {"mid-kill on", nullptr, set_b("mid-kill", TRUE)},
      {"high-kill on", nullptr, set_b("high-kill", TRUE)},
      {"filter 0 → -1", nullptr, set_d("filter", -1.0)},
      {"filter -1 → 0", set_d("filter", -1.0), set_d("filter", 0.0)},
      {"filter 0 → +1", nullptr, set_d("filter", 1.0)},
      {"filter -1 → +1", set_d("filter", -1.0), set_d("filter", 1.0)},
      {"filter +1 → -1", set_d("filter", 1.0), set_d("filter", -1.0)},
      {"crossover 246 → 16000 with low at -20",
       [](GstElement* e) { g_object_set(e, "low", -20.0, nullptr); },
       set_d("low-mid-crossover", 16000.0)},
      {"crossover 2500 → 20 with low killed",
       [](GstElement* e) { g_object_set(e, "low-kill", TRUE, nullptr); },
       [](GstElement* e) { g_object_set(e, "low-mid-crossover", 20.0, "mid-high-crossover", 30.0, nullptr); }},
  };
  for (const auto& j : jumps) {
    Signal in = sine(hz, amp, kRate);
    Signal out = run_filter("djeq", in, j.before, [&](GstElement* eq, guint64 f) {
      if (f == kRate / 2 - (kRate / 2) % kBlock) j.after(eq);
    });
    // Skip the first 100 ms: a `before` setting may legitimately start the stream mid-transition.
    const double step = max_step(out, kRate / 10);
    const double loudest = std::max(tone_amplitude(out, hz, kRate / 4, kRate / 2 - kBlock),
                                    tone_amplitude(out, hz, kRate * 3 / 4, kRate));
    // Reference level: the input's, or the louder setting if a boost makes it louder.
    const double bound = 2.5 * 2.0 * M_PI * hz / kRate * std::max(loudest, amp);
    std::printf("[measure] djeq click test %-40s largest step %.5f (bound %.5f, %.2f x natural)\n", j.name, step,
                bound, step / (bound / 2.5));
    EXPECT_LE(step, bound) << j.name;
  }
}

// The measure above does catch a click: the stock `volume` element switched off in one call (it does
// not ramp) breaks the same bound many times over.
TEST(DjEq, ClickMeasureCatchesAnUnsmoothedJump) {
  const double hz = 60.0, amp = 0.5;
  Signal in = sine(hz, amp, kRate / 2);
  Signal out = run_filter("volume", in, nullptr, [](GstElement* vol, guint64 f) {
    if (f == 8192) g_object_set(vol, "volume", 0.0, nullptr);
  });
  const double bound = 2.5 * 2.0 * M_PI * hz / kRate * amp;
  std::printf("[measure] unsmoothed volume jump: largest step %.4f (bound %.5f)\n", max_step(out), bound);
  EXPECT_GT(max_step(out), 10.0 * bound);
}

TEST(DjEq, ControllerRampOfTheLowBand) {
  // A GstController line from 0 dB to -40 dB (a kill) over one second on a 50 Hz sine.
  Signal in = sine(50.0, 0.5, 2 * kRate);
  Signal out = run_filter("djeq", in, [](GstElement* eq) {
    GstControlSource* cs = gst_interpolation_control_source_new();
    g_object_set(cs, "mode", GST_INTERPOLATION_MODE_LINEAR, nullptr);
    // Direct bindings map 0..1 onto the property's range (-40 … +6 dB).
    auto norm = [](double dbv) { return (dbv + 40.0) / 46.0; };
    gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(cs), 0, norm(0.0));
    gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(cs), GST_SECOND, norm(-40.0));
    gst_object_add_control_binding(GST_OBJECT(eq), gst_direct_control_binding_new(GST_OBJECT(eq), "low", cs));
    gst_object_unref(cs);
  });
  ASSERT_EQ(out.size(), in.size());
  // Half way the low band sits at -20 dB; at the end it is killed.
  const double mid_level = db(tone_amplitude(out, 50.0, kRate / 2 - 1200, kRate / 2 + 1200) / 0.5);
  const double end_level = db(tone_amplitude(out, 50.0, kRate + kRate / 4, 2 * kRate) / 0.5);
  std::printf("[measure] controller ramp: %.1f dB at 0.5 s, %.1f dB after 1.25 s\n", mid_level, end_level);
  EXPECT_NEAR(mid_level, -20.0, 1.5);
  EXPECT_LE(end_level, -60.0);
  EXPECT_LE(max_step(out), 2.0 * 2.0 * M_PI * 50.0 / kRate * 0.5);
}

// A DJ's first press of KILL on a flat EQ (the element is then out of the signal path) must cut the
// band at once, as must turning a band knob to its -40 dB bottom.
TEST(DjEq, KillFromFlatMidStreamCuts) {
  const double hz = 50.0;
  const std::vector<std::pair<const char*, std::function<void(GstElement*)>>> presses = {
      {"low-kill", [](GstElement* e) { g_object_set(e, "low-kill", TRUE, nullptr); }},
      {"low -40 dB", [](GstElement* e) { g_object_set(e, "low", -40.0, nullptr); }},
  };
  for (const auto& press : presses) {
    Signal in = sine(hz, 0.5, kRate);
    Signal out = run_filter("djeq", in, nullptr, [&](GstElement* eq, guint64 f) {
      if (f == kRate / 4 - (kRate / 4) % kBlock) press.second(eq);
    });
    const double before = tone_amplitude(out, hz, kRate / 16, kRate / 4 - kBlock);
    const double after = tone_amplitude(out, hz, kRate * 3 / 4, kRate);
    std::printf("[measure] djeq %s pressed mid-stream on a flat EQ: %.1f dB\n", press.first, db(after / before));
    EXPECT_LE(db(after / before), -60.0) << press.first;
  }
}

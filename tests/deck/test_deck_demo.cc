// Analysis on the demo library (build/demo/manifest.json is the ground truth). Prints the table.
// The acceptance: BPM within ±0.1 and first beat within ±5 ms on every track, key right on
// at least 9 of 10 (here: at least 11 of 12).
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <json-glib/json-glib.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "deck/track_loader.h"
#include "test_env.h"

TEST(DeckDemo, BpmFirstBeatAndKeyMatchTheManifest) {
  const std::string dir = dju_test::demo_tracks();
  const std::string manifest = dir + "/manifest.json";
  if (!g_file_test(manifest.c_str(), G_FILE_TEST_EXISTS)) GTEST_FAIL() << "no demo library (the build makes it) at " << dir;
  JsonParser* parser = json_parser_new();
  ASSERT_TRUE(json_parser_load_from_file(parser, manifest.c_str(), nullptr));
  JsonArray* tracks = json_object_get_array_member(json_node_get_object(json_parser_get_root(parser)), "tracks");
  const guint n = json_array_get_length(tracks);
  ASSERT_GE(n, 10u);
  int keys_right = 0, beats_right = 0, bpm_exact = 0;
  std::printf("%-22s %8s %8s %9s %9s %6s %6s %7s %7s\n", "track", "bpm", "found", "beat1", "found", "key",
              "found", "load s", "anal s");
  for (guint i = 0; i < n; ++i) {
    JsonObject* t = json_array_get_object_element(tracks, i);
    const std::string file = dir + "/" + json_object_get_string_member(t, "file");
    const double bpm = json_object_get_double_member(t, "bpm");
    const double fb = json_object_get_double_member(t, "first_beat_s");
    const std::string camelot = json_object_get_string_member(t, "camelot");
    dju::LoadedTrack r;
    std::string err;
    ASSERT_TRUE(dju::load_track(file, r, err)) << file << ": " << err;
    const auto& a = r.analysis;
    const double found_fb = a.grid.first_beat / 48000.0;
    // The grid's origin may be any beat; compare phase against the manifest's beats.
    const double period = 60.0 / bpm;
    double d = std::fmod(found_fb - fb, period);
    if (d > period / 2) d -= period;
    if (d < -period / 2) d += period;
    std::printf("%-22s %8.2f %8.3f %9.4f %9.4f %6s %6s %7.3f %7.3f\n", json_object_get_string_member(t, "id"), bpm,
                a.grid.bpm, fb, found_fb, camelot.c_str(), a.key.camelot.c_str(), r.decode_s, r.analyse_s);
    EXPECT_NEAR(a.grid.bpm, bpm, 0.1) << file;
    EXPECT_NEAR(found_fb, fb, 0.005) << file;
    if (std::fabs(a.grid.bpm - bpm) <= 0.1) ++bpm_exact;
    if (std::fabs(d) < 0.005 && std::fabs(found_fb - fb) < 0.005) ++beats_right;
    if (a.key.camelot == camelot) ++keys_right;
  }
  std::printf("bpm within 0.1: %d of %u; first beat within 5 ms: %d of %u; keys right: %d of %u\n", bpm_exact, n,
              beats_right, n, keys_right, n);
  EXPECT_EQ(bpm_exact, static_cast<int>(n));
  EXPECT_EQ(beats_right, static_cast<int>(n));
  EXPECT_GE(keys_right * 10, static_cast<int>(n) * 9);  // 9 in 10: 11 of 12
  EXPECT_GE(keys_right, static_cast<int>(n) - 1);
  g_object_unref(parser);
}

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

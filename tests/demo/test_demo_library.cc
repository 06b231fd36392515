// The demo library is the ground truth every other suite trusts, so it is checked here against
// its own manifest with independent measurements: the FLAC files are decoded by GStreamer's
// flacdec (not by anything the generator wrote), kick onsets are found blindly in the low band and
// must sit on the manifest's beat grid within ±2 ms, durations must be exact to the sample, and a
// second run of the generator must write the same bytes.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "key_profile.h"
#include "kick_onsets.h"
#include "test_env.h"

namespace {

struct Section {
  std::string name;
  double start_s = 0, end_s = 0;
  int start_bar = 0, bars = 0;
  bool kick = false;
  std::set<std::string> layers;
};

struct Track {
  std::string id, file, genre, key, camelot;
  double bpm = 0, first_beat_s = 0, duration_s = 0;
  int beats_per_bar = 0, phrase_bars = 0, sample_rate = 0, bars = 0;
  gint64 frames = 0;
  std::vector<double> kick_beats;
  std::vector<Section> sections;
};

std::string manifest_path() { return dju_test::demo_tracks() + "/manifest.json"; }

std::vector<Track> load_manifest(std::string* error) {
  std::vector<Track> out;
  JsonParser* parser = json_parser_new();
  GError* err = nullptr;
  if (!json_parser_load_from_file(parser, manifest_path().c_str(), &err)) {
    *error = err ? err->message : "cannot read manifest";
    g_clear_error(&err);
    g_object_unref(parser);
    return out;
  }
  JsonObject* root = json_node_get_object(json_parser_get_root(parser));
  JsonArray* tracks = json_object_get_array_member(root, "tracks");
  for (guint i = 0; tracks && i < json_array_get_length(tracks); ++i) {
    JsonObject* o = json_array_get_object_element(tracks, i);
    Track t;
    t.id = json_object_get_string_member(o, "id");
    t.file = json_object_get_string_member(o, "file");
    t.genre = json_object_get_string_member(o, "genre");
    t.key = json_object_get_string_member(o, "key");
    t.camelot = json_object_get_string_member(o, "camelot");
    t.bpm = json_object_get_double_member(o, "bpm");
    t.first_beat_s = json_object_get_double_member(o, "first_beat_s");
    t.duration_s = json_object_get_double_member(o, "duration_s");
    t.beats_per_bar = int(json_object_get_int_member(o, "beats_per_bar"));
    t.phrase_bars = int(json_object_get_int_member(o, "phrase_bars"));
    t.sample_rate = int(json_object_get_int_member(o, "sample_rate"));
    t.bars = int(json_object_get_int_member(o, "bars"));
    t.frames = json_object_get_int_member(o, "frames");
    JsonArray* kb = json_object_get_array_member(o, "kick_pattern_beats");
    for (guint k = 0; kb && k < json_array_get_length(kb); ++k) t.kick_beats.push_back(json_array_get_double_element(kb, k));
    JsonArray* secs = json_object_get_array_member(o, "sections");
    for (guint k = 0; secs && k < json_array_get_length(secs); ++k) {
      JsonObject* so = json_array_get_object_element(secs, k);
      Section s;
      s.name = json_object_get_string_member(so, "name");
      s.start_s = json_object_get_double_member(so, "start_s");
      s.end_s = json_object_get_double_member(so, "end_s");
      s.start_bar = int(json_object_get_int_member(so, "start_bar"));
      s.bars = int(json_object_get_int_member(so, "bars"));
      s.kick = json_object_get_boolean_member(so, "kick");
      JsonArray* ls = json_object_get_array_member(so, "layers");
      for (guint m = 0; ls && m < json_array_get_length(ls); ++m) s.layers.insert(json_array_get_string_element(ls, m));
      t.sections.push_back(s);
    }
    out.push_back(t);
  }
  g_object_unref(parser);
  return out;
}

const std::vector<Track>& manifest() {
  static std::string error;
  static const std::vector<Track> tracks = load_manifest(&error);
  if (!error.empty()) ADD_FAILURE() << manifest_path() << ": " << error;
  return tracks;
}

// Camelot numbers written out from the wheel, independent of the generator's formula.
const std::map<std::string, std::string>& camelot_wheel() {
  static const std::map<std::string, std::string> m = {
      {"Ab minor", "1A"},  {"Eb minor", "2A"},  {"Bb minor", "3A"}, {"F minor", "4A"},   {"C minor", "5A"},
      {"G minor", "6A"},   {"D minor", "7A"},   {"A minor", "8A"},  {"E minor", "9A"},   {"B minor", "10A"},
      {"F# minor", "11A"}, {"C# minor", "12A"}, {"B major", "1B"},  {"F# major", "2B"},  {"Db major", "3B"},
      {"Ab major", "4B"},  {"Eb major", "5B"},  {"Bb major", "6B"}, {"F major", "7B"},   {"C major", "8B"},
      {"G major", "9B"},   {"D major", "10B"},  {"A major", "11B"}, {"E major", "12B"}};
  return m;
}

struct Decoded {
  std::string error, format;
  int rate = 0, channels = 0;
  size_t frames = 0;
  std::vector<float> mono;
};

Decoded decode(const std::string& path) {
  Decoded d;
  GstElement* pipe = gst_pipeline_new(nullptr);
  GstElement* src = gst_element_factory_make("filesrc", nullptr);
  GstElement* parse = gst_element_factory_make("flacparse", nullptr);
  GstElement* dec = gst_element_factory_make("flacdec", nullptr);
  GstElement* sink = gst_element_factory_make("appsink", nullptr);
  if (!src || !parse || !dec || !sink) {
    d.error = "missing filesrc/flacparse/flacdec/appsink";
    return d;
  }
  g_object_set(src, "location", path.c_str(), NULL);
  g_object_set(sink, "sync", FALSE, NULL);
  gst_bin_add_many(GST_BIN(pipe), src, parse, dec, sink, NULL);
  gst_element_link_many(src, parse, dec, sink, NULL);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    if (d.rate == 0) {
      GstStructure* st = gst_caps_get_structure(gst_sample_get_caps(s), 0);
      gst_structure_get_int(st, "rate", &d.rate);
      gst_structure_get_int(st, "channels", &d.channels);
      d.format = gst_structure_get_string(st, "format");
    }
    GstBuffer* buf = gst_sample_get_buffer(s);
    GstMapInfo map;
    if (d.format == "S16LE" && d.channels == 2 && gst_buffer_map(buf, &map, GST_MAP_READ)) {
      const gint16* p = reinterpret_cast<const gint16*>(map.data);
      size_t n = map.size / 4;
      for (size_t i = 0; i < n; ++i) d.mono.push_back((p[2 * i] + p[2 * i + 1]) / 65536.0f);
      d.frames += n;
      gst_buffer_unmap(buf, &map);
    }
    gst_sample_unref(s);
  }
  GstBus* bus = gst_element_get_bus(pipe);
  if (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    d.error = e ? e->message : "decode error";
    g_clear_error(&e);
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  return d;
}

std::vector<char> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// ---------------------------------------------------------------------------------------------

TEST(DemoManifest, DescribesAVariedLibrary) {
  const auto& tracks = manifest();
  ASSERT_GE(tracks.size(), 10u);
  std::set<std::string> ids, genres, keys;
  bool hip_hop = false, house = false, techno = false, dnb = false;
  for (const auto& t : tracks) {
    SCOPED_TRACE(t.id);
    EXPECT_TRUE(ids.insert(t.id).second) << "duplicate id";
    EXPECT_EQ(t.file, t.id + ".flac");
    genres.insert(t.genre);
    keys.insert(t.key);
    hip_hop |= t.bpm >= 85 && t.bpm <= 95;
    house |= t.bpm >= 120 && t.bpm <= 126;
    techno |= t.bpm >= 128 && t.bpm <= 135;
    dnb |= t.bpm >= 170 && t.bpm <= 178;
    EXPECT_GE(t.duration_s, 120.0);
    EXPECT_LE(t.duration_s, 240.0);
    EXPECT_EQ(t.sample_rate, 48000);
    EXPECT_EQ(t.beats_per_bar, 4);
    EXPECT_EQ(t.frames, gint64(std::llround(t.duration_s * 48000)));
    ASSERT_TRUE(camelot_wheel().count(t.key)) << "unknown key name " << t.key;
    EXPECT_EQ(camelot_wheel().at(t.key), t.camelot) << t.key;
    EXPECT_GE(t.first_beat_s, 0.0);
    EXPECT_FALSE(t.kick_beats.empty());

    // Sections tile the beat grid in whole phrases; intro and outro are drums only; there is a
    // breakdown without the kick.
    ASSERT_FALSE(t.sections.empty());
    const double bar_s = 4 * 60.0 / t.bpm;
    int bar = 0;
    bool breakdown = false;
    const std::set<std::string> tonal = {"bass", "chords", "pad", "lead"};
    for (const auto& s : t.sections) {
      EXPECT_EQ(s.start_bar, bar) << s.name;
      EXPECT_EQ(s.bars % t.phrase_bars, 0) << s.name << " is not whole phrases";
      EXPECT_NEAR(s.start_s, t.first_beat_s + s.start_bar * bar_s, 1e-6) << s.name;
      EXPECT_NEAR(s.end_s, t.first_beat_s + (s.start_bar + s.bars) * bar_s, 1e-6) << s.name;
      if (s.name == "breakdown" && !s.kick) breakdown = true;
      bar += s.bars;
    }
    EXPECT_EQ(bar, t.bars);
    EXPECT_LE(t.sections.back().end_s, t.duration_s);
    EXPECT_EQ(t.sections.front().name, "intro");
    EXPECT_EQ(t.sections.back().name, "outro");
    for (const auto* s : {&t.sections.front(), &t.sections.back()}) {
      EXPECT_TRUE(s->kick) << s->name;
      for (const auto& l : s->layers) EXPECT_FALSE(tonal.count(l)) << s->name << " has " << l;
    }
    EXPECT_TRUE(breakdown);
  }
  EXPECT_TRUE(hip_hop && house && techno && dnb) << "tempo range not covered";
  EXPECT_GE(genres.size(), 6u);
  EXPECT_GE(keys.size(), 8u);

  // Harmonic mixing needs both compatible pairs (same or adjacent Camelot number) and clashes
  // (a tritone: six steps round the wheel).
  int compatible = 0, tritone = 0;
  for (size_t a = 0; a < tracks.size(); ++a) {
    for (size_t b = a + 1; b < tracks.size(); ++b) {
      int na = std::stoi(tracks[a].camelot), nb = std::stoi(tracks[b].camelot);
      int dist = std::min((na - nb + 12) % 12, (nb - na + 12) % 12);
      if (dist <= 1) ++compatible;
      if (dist == 6) ++tritone;
    }
  }
  EXPECT_GE(compatible, 3);
  EXPECT_GE(tritone, 2);
}

class DemoTrack : public testing::TestWithParam<std::string> {};

TEST_P(DemoTrack, AudioMatchesManifest) {
  const Track* t = nullptr;
  for (const auto& tr : manifest())
    if (tr.id == GetParam()) t = &tr;
  ASSERT_NE(t, nullptr);
  Decoded d = decode(dju_test::demo_tracks() + "/" + t->file);
  ASSERT_TRUE(d.error.empty()) << d.error;
  EXPECT_EQ(d.rate, 48000);
  EXPECT_EQ(d.channels, 2);
  ASSERT_EQ(d.format, "S16LE");
  EXPECT_EQ(gint64(d.frames), t->frames) << "duration not exact to the sample";
  EXPECT_EQ(gint64(d.frames), gint64(std::llround(t->duration_s * 48000)));

  // Where the manifest says the kick plays, every kick must be found within ±2 ms.
  std::vector<double> onsets = dju_demo_test::detect_kick_onsets(d.mono, 48000.0);
  std::vector<double> expected;
  const double beat = 60.0 / t->bpm;
  for (const auto& s : t->sections) {
    if (!s.kick) continue;
    for (int b = s.start_bar; b < s.start_bar + s.bars; ++b)
      for (double kb : t->kick_beats) expected.push_back(t->first_beat_s + (b * 4 + kb) * beat);
  }
  ASSERT_FALSE(expected.empty());
  double max_err = 0.0, sum_err = 0.0;
  int missed = 0;
  for (double e : expected) {
    auto it = std::lower_bound(onsets.begin(), onsets.end(), e);
    double best = 1e9;
    if (it != onsets.end()) best = *it - e;
    if (it != onsets.begin() && std::fabs(*(it - 1) - e) < std::fabs(best)) best = *(it - 1) - e;
    if (std::fabs(best) > 0.002) {
      if (missed < 5)
        ADD_FAILURE() << "kick at " << e << " s (beat " << std::fmod((e - t->first_beat_s) / beat, 4.0)
                      << " of its bar): nearest onset " << best * 1000.0 << " ms away";
      ++missed;
      continue;
    }
    max_err = std::max(max_err, std::fabs(best));
    sum_err += best;
  }
  // Kick onsets found where the manifest has no kick (e.g. in a breakdown) would mean the grid or
  // the arrangement is wrong.
  int stray = 0;
  for (double o : onsets) {
    for (const auto& s : t->sections)
      if (!s.kick && o > s.start_s + 0.05 && o < s.end_s - 0.05) ++stray;
  }
  std::printf("%-22s kicks %4zu  found %4zu  missed %d  max |error| %.3f ms  mean error %+.3f ms  onsets %zu  stray in kick-free sections %d\n",
              t->id.c_str(), expected.size(), expected.size() - missed, missed, max_err * 1000.0,
              sum_err / std::max<size_t>(1, expected.size() - missed) * 1000.0, onsets.size(), stray);
  RecordProperty("max_error_ms", std::to_string(max_err * 1000.0));
  EXPECT_EQ(missed, 0);
  EXPECT_EQ(stray, 0);

  // The key is audible: an independent chroma estimate puts the manifest's key first (or within
  // 0.05 correlation of the first, for the closest relatives).
  auto keys = dju_demo_test::rank_keys(d.mono, 48000.0);
  double r_manifest = -2.0;
  for (const auto& k : keys)
    if (k.name == t->key) r_manifest = k.r;
  std::printf("%-22s key %-9s chroma best %-9s r=%.2f  manifest key r=%.2f\n", t->id.c_str(), t->key.c_str(),
              keys[0].name.c_str(), keys[0].r, r_manifest);
  EXPECT_GT(r_manifest, keys[0].r - 0.05) << "the music sounds like " << keys[0].name;

  // Not silent, not clipped: sane levels.
  double sum = 0.0, peak = 0.0;
  for (float v : d.mono) {
    sum += double(v) * v;
    peak = std::max(peak, double(std::fabs(v)));
  }
  double rms_db = 10.0 * std::log10(sum / std::max<size_t>(1, d.mono.size()));
  EXPECT_GT(rms_db, -24.0);
  EXPECT_LT(peak, 1.0);
}

std::vector<std::string> track_ids() {
  std::string error;
  std::vector<std::string> ids;
  for (const auto& t : load_manifest(&error)) ids.push_back(t.id);
  if (ids.empty()) ids.push_back("manifest-missing");
  return ids;
}

INSTANTIATE_TEST_SUITE_P(Library, DemoTrack, testing::ValuesIn(track_ids()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(DemoGenerator, WritesTheSameBytesOnEveryRun) {
  // Regenerate one track into a fresh folder and compare with the library the build made.
  const auto& tracks = manifest();
  ASSERT_FALSE(tracks.empty());
  const std::string id = tracks.front().id;
  gchar* dir = g_dir_make_tmp("dju-demo-XXXXXX", nullptr);
  ASSERT_NE(dir, nullptr);
  std::string cmd = std::string("'") + DJU_DEMO_GENERATOR + "' --output '" + dir + "' --only " + id + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::string fresh = std::string(dir) + "/" + id + ".flac";
  std::vector<char> a = read_all(fresh), b = read_all(dju_test::demo_tracks() + "/" + id + ".flac");
  EXPECT_GT(a.size(), 1000000u);
  EXPECT_TRUE(a == b) << "regenerated " << id << " differs from the built library";
  g_remove(fresh.c_str());
  g_remove((std::string(dir) + "/manifest.json").c_str());
  g_rmdir(dir);
  g_free(dir);

  // Unknown ids are refused.
  std::string bad = std::string("'") + DJU_DEMO_GENERATOR + "' --output /nonexistent --only no-such-track 2>/dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0);
}

}  // namespace

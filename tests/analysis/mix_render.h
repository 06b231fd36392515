// Test-side rendering of DJ transitions: two tracks, each deck's contribution to the master with its
// own fades, bass EQ and offset, the way the server feeds djjudge. Tracks come from the demo library
// (decoded here with GStreamer) or are synthesised (kick, hat, bass line and chords in a chosen key).
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "analysis_test_util.h"
#include "test_env.h"

namespace dju_test {

struct Track {
  std::string id;
  std::vector<float> stereo;  // 48 kHz interleaved
  double bpm = 0;
  double first_beat_s = 0;
  double cue_s = 0;  // where the DJ starts it (a phrase boundary)
  double seconds() const { return stereo.size() / 2.0 / kRate; }
};

// ---------- synthetic tracks ----------

// A four-to-the-floor loop: kick on every beat, open hat off the beat, a bass note on the off-beat
// eighths and a sustained minor triad (one chord per bar: i, VI, iv, V), all in `tonic` minor.
inline Track synth_track(const std::string& id, double bpm, int tonic_pc, double seconds, uint32_t seed) {
  Track t;
  t.id = id;
  t.bpm = bpm;
  const size_t n = static_cast<size_t>(seconds * kRate);
  std::vector<float> m(n, 0.0f);
  const double beat = 60.0 / bpm;
  auto noise = white_noise(1.0, 0.06, seed);
  auto midi_hz = [](double midi) { return 440.0 * std::pow(2.0, (midi - 69) / 12.0); };
  const int root = 45 + ((tonic_pc - 9 + 12) % 12);      // around A2
  const int prog[4][3] = {{0, 3, 7}, {-4, 0, 3}, {5, 8, 12}, {7, 11, 14}};  // i, VI, iv, V (harmonic)
  const int bass_root[4] = {0, -4, 5, 7};
  for (int b = 0; b * beat < seconds; ++b) {
    const size_t k0 = static_cast<size_t>(b * beat * kRate);
    for (size_t i = 0; i < 12000 && k0 + i < n; ++i) {
      const double tt = static_cast<double>(i) / kRate;
      m[k0 + i] += static_cast<float>(0.5 * std::exp(-tt * 14) * std::sin(2 * kPi * (50 * tt + 60 * (1 - std::exp(-tt * 30)) / 30)));
    }
    const size_t h0 = static_cast<size_t>((b + 0.5) * beat * kRate);
    for (size_t i = 0; i < noise.size() && h0 + i < n; ++i)
      m[h0 + i] += static_cast<float>(0.08 * std::exp(-static_cast<double>(i) / kRate * 40) * noise[i]);
    const int bar = (b / 4) % 4;
    // Bass: off-beat eighth.
    const double bf = midi_hz(root + bass_root[bar]);
    for (size_t i = 0; i < static_cast<size_t>(0.4 * beat * kRate) && h0 + i < n; ++i) {
      const double tt = static_cast<double>(i) / kRate;
      m[h0 + i] += static_cast<float>(0.22 * std::exp(-tt * 4) * std::sin(2 * kPi * bf * tt));
    }
    // Chords: one beat of a soft triad, an octave and a fifth up.
    for (int v = 0; v < 3; ++v) {
      const double cf = midi_hz(root + 12 + prog[bar][v]);
      for (size_t i = 0; i < static_cast<size_t>(beat * kRate) && k0 + i < n; ++i) {
        const double tt = static_cast<double>(i) / kRate;
        m[k0 + i] += static_cast<float>(0.05 * std::min(1.0, tt * 50) * std::sin(2 * kPi * cf * tt + v));
      }
    }
  }
  t.stereo = to_stereo(m);
  t.first_beat_s = 0;
  t.cue_s = 0;
  return t;
}

// ---------- demo library ----------

inline bool demo_available() {
  std::ifstream f(demo_tracks() + "/manifest.json");
  return f.good();
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The number after `"key":` following the entry whose "id" is `id`.
inline double manifest_number(const std::string& manifest, const std::string& id, const std::string& key,
                              size_t from_pos = std::string::npos) {
  size_t at = manifest.find("\"" + id + "\"");
  if (at == std::string::npos) return NAN;
  if (from_pos != std::string::npos) at = from_pos;
  const size_t k = manifest.find("\"" + key + "\"", at);
  if (k == std::string::npos) return NAN;
  const size_t colon = manifest.find(':', k);
  return std::strtod(manifest.c_str() + colon + 1, nullptr);
}

// Start of the named section (first occurrence) of a track.
inline double manifest_section_start(const std::string& manifest, const std::string& id, const std::string& section) {
  const size_t at = manifest.find("\"" + id + "\"");
  if (at == std::string::npos) return NAN;
  const size_t s = manifest.find("\"" + section + "\"", at);
  if (s == std::string::npos) return NAN;
  return manifest_number(manifest, id, "start_s", s);
}

inline std::vector<float> decode_48k_stereo(const std::string& path) {
  std::string desc = "filesrc name=src ! decodebin ! audioconvert ! audioresample ! "
                     "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved ! appsink name=sink sync=false";
  GstElement* pipe = gst_parse_launch(desc.c_str(), nullptr);
  std::vector<float> out;
  if (!pipe) return out;
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  g_object_set(src, "location", path.c_str(), NULL);
  gst_object_unref(src);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstBuffer* b = gst_sample_get_buffer(s);
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    const float* f = reinterpret_cast<const float*>(map.data);
    out.insert(out.end(), f, f + map.size / sizeof(float));
    gst_buffer_unmap(b, &map);
    gst_sample_unref(s);
  }
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  return out;
}

inline Track demo_track(const std::string& id, const char* cue_section = "main") {
  Track t;
  t.id = id;
  const std::string manifest = read_file(demo_tracks() + "/manifest.json");
  t.bpm = manifest_number(manifest, id, "bpm");
  t.first_beat_s = manifest_number(manifest, id, "first_beat_s");
  t.cue_s = manifest_section_start(manifest, id, cue_section);
  if (std::isnan(t.cue_s)) t.cue_s = t.first_beat_s;
  t.stereo = decode_48k_stereo(demo_tracks() + "/" + id + ".flac");
  return t;
}

// ---------- rendering a transition ----------

struct BlendPlan {
  double blend_start_s = 0;     // mix time the incoming deck starts (outgoing's phrase boundary)
  double incoming_late_s = 0;   // phase error: the incoming starts this much after the beat
  double incoming_rate = 1.0;   // playback rate of the incoming deck (tempo and pitch, like vinyl)
  double outgoing_rate = 1.0;
  double fade_in_beats = 16;    // incoming fader up
  double swap_after_beats = 16; // bass swap (and outgoing fade start) after the start
  double fade_out_beats = 16;   // outgoing fader down
  bool bass_swap = true;        // false: both basses stay full
  double tail_s = 4;
  double gain = 0.7;            // both decks' level (headroom so the sum never clips)
};

struct RenderedMix {
  std::vector<float> deck0, deck1;  // stereo, same length
};

// Two cascaded RBJ high-pass biquads at 250 Hz: a DJ's low-kill (what is left without the bass).
struct LowKill {
  double b0, b1, b2, a1, a2;
  double z[2][2][2] = {};  // [stage][channel][state]
  LowKill() {
    const double w = 2 * kPi * 250.0 / kRate, cw = std::cos(w), al = std::sin(w) / (2 * 0.7071), a0 = 1 + al;
    b0 = (1 + cw) / 2 / a0; b1 = -(1 + cw) / a0; b2 = b0; a1 = -2 * cw / a0; a2 = (1 - al) / a0;
  }
  double run(int ch, double x) {
    for (int s = 0; s < 2; ++s) {
      double* st = z[s][ch];
      const double y = b0 * x + st[0];
      st[0] = b1 * x - a1 * y + st[1];
      st[1] = b2 * x - a2 * y;
      x = y;
    }
    return x;
  }
};

inline float sample_at(const Track& t, double pos_s, int ch) {
  const double f = pos_s * kRate;
  if (f < 0) return 0.0f;
  const size_t i = static_cast<size_t>(f);
  if (2 * (i + 1) + 1 >= t.stereo.size()) return 0.0f;
  const double fr = f - i;
  return static_cast<float>(t.stereo[2 * i + ch] * (1 - fr) + t.stereo[2 * (i + 1) + ch] * fr);
}

inline RenderedMix render_blend(const Track& out, const Track& in, const BlendPlan& p) {
  const double beat = 60.0 / (out.bpm * p.outgoing_rate);
  const double fade_in = p.fade_in_beats * beat, swap = p.swap_after_beats * beat, fade_out = p.fade_out_beats * beat;
  const double total = p.blend_start_s + swap + fade_out + p.tail_s;
  const size_t n = static_cast<size_t>(total * kRate);
  RenderedMix r;
  r.deck0.assign(2 * n, 0.0f);
  r.deck1.assign(2 * n, 0.0f);
  LowKill kill_out, kill_in;
  const double in_start = p.blend_start_s + p.incoming_late_s;
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / kRate;
    // Outgoing: cued on a phrase, full until the swap, then faded out (cosine).
    double g_out = 1.0, bass_out = 1.0;
    if (t > p.blend_start_s + swap) {
      const double x = std::min(1.0, (t - p.blend_start_s - swap) / fade_out);
      g_out = std::cos(0.5 * kPi * x);
      if (p.bass_swap) bass_out = std::max(0.0, 1.0 - (t - p.blend_start_s - swap) / beat);
    }
    if (t >= p.blend_start_s + swap + fade_out) g_out = 0.0;
    // Incoming: fader up (sine), bass killed until the swap, restored over one beat.
    double g_in = 0.0, bass_in = 1.0;
    if (t >= in_start) {
      g_in = std::sin(0.5 * kPi * std::min(1.0, (t - in_start) / fade_in));
      if (p.bass_swap) bass_in = std::clamp((t - p.blend_start_s - swap) / beat, 0.0, 1.0);
    }
    for (int ch = 0; ch < 2; ++ch) {
      const double xo = sample_at(out, out.cue_s + t * p.outgoing_rate, ch);
      const double xi = t >= in_start ? sample_at(in, in.cue_s + (t - in_start) * p.incoming_rate, ch) : 0.0;
      const double ho = kill_out.run(ch, xo), hi = kill_in.run(ch, xi);
      r.deck0[2 * i + ch] = static_cast<float>(p.gain * g_out * (bass_out * xo + (1.0 - bass_out) * ho));
      r.deck1[2 * i + ch] = static_cast<float>(p.gain * g_in * (bass_in * xi + (1.0 - bass_in) * hi));
    }
  }
  return r;
}

// ---------- running djjudge ----------

struct PadHints {
  double bpm = 0;
  const char* key = nullptr;
};

// Feeds both decks to djjudge (deck_0, deck_1) in alternating blocks, like two live streams, and
// returns every djjudge message.
inline std::vector<GstStructure*> run_djjudge(const RenderedMix& mix, PadHints h0 = {}, PadHints h1 = {}) {
  GstElement* judge = gst_element_factory_make("djjudge", nullptr);
  g_object_set(judge, "async", FALSE, NULL);  // a GstHarness wants its state changes to succeed at once
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(judge, bus);
  GstHarness* a = gst_harness_new_with_element(judge, "deck_0", nullptr);
  GstHarness* b = gst_harness_new_with_element(judge, "deck_1", nullptr);
  const char* caps = "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved";
  gst_harness_set_src_caps_str(a, caps);
  gst_harness_set_src_caps_str(b, caps);
  GstPad* p0 = gst_element_get_static_pad(judge, "deck_0");
  GstPad* p1 = gst_element_get_static_pad(judge, "deck_1");
  if (h0.bpm > 0) g_object_set(p0, "bpm", h0.bpm, NULL);
  if (h1.bpm > 0) g_object_set(p1, "bpm", h1.bpm, NULL);
  if (h0.key) g_object_set(p0, "key", h0.key, NULL);
  if (h1.key) g_object_set(p1, "key", h1.key, NULL);
  gst_object_unref(p0);
  gst_object_unref(p1);
  const size_t frames = mix.deck0.size() / 2, block = 1024;
  for (size_t off = 0; off < frames; off += block) {
    const size_t n = std::min(block, frames - off);
    for (int d = 0; d < 2; ++d) {
      const std::vector<float>& src = d ? mix.deck1 : mix.deck0;
      GstBuffer* buf = gst_buffer_new_allocate(nullptr, n * 2 * sizeof(float), nullptr);
      gst_buffer_fill(buf, 0, src.data() + off * 2, n * 2 * sizeof(float));
      GST_BUFFER_PTS(buf) = gst_util_uint64_scale(off, GST_SECOND, kRate);
      GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(n, GST_SECOND, kRate);
      gst_harness_push(d ? b : a, buf);
    }
  }
  gst_harness_push_event(a, gst_event_new_eos());
  gst_harness_push_event(b, gst_event_new_eos());
  std::vector<GstStructure*> msgs;
  while (GstMessage* m = gst_bus_pop(bus)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name(s, "djjudge"))
      msgs.push_back(gst_structure_copy(s));
    gst_message_unref(m);
  }
  gst_element_set_bus(judge, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(b);
  gst_harness_teardown(a);
  return msgs;
}

inline const GstStructure* final_report(const std::vector<GstStructure*>& msgs) {
  for (const GstStructure* s : msgs)
    if (!g_strcmp0(gst_structure_get_string(s, "phase"), "final")) return s;
  return nullptr;
}

inline std::string describe(const GstStructure* s) {
  if (!s) return "(no final report)";
  gchar* str = gst_structure_to_string(s);
  std::string out = str;
  g_free(str);
  return out;
}

}  // namespace dju_test

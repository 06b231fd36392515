// Shared helpers for the analysis tests: synthetic signals and running djspectrum over them.
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace dju_test {

constexpr double kPi = 3.14159265358979323846;
constexpr int kRate = 48000;

// Stereo interleaved buffer from a mono signal (both channels equal).
inline std::vector<float> to_stereo(const std::vector<float>& mono) {
  std::vector<float> s(mono.size() * 2);
  for (size_t i = 0; i < mono.size(); ++i) s[2 * i] = s[2 * i + 1] = mono[i];
  return s;
}

inline std::vector<float> sine(double hz, double amp, double seconds, double phase = 0.0) {
  std::vector<float> v(static_cast<size_t>(seconds * kRate));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(amp * std::sin(2 * kPi * hz * i / kRate + phase));
  return v;
}

// Deterministic white noise (uniform, xorshift).
inline std::vector<float> white_noise(double amp, double seconds, uint32_t seed = 12345) {
  std::vector<float> v(static_cast<size_t>(seconds * kRate));
  uint32_t x = seed;
  for (auto& s : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s = static_cast<float>(amp * (2.0 * (x / 4294967296.0) - 1.0));
  }
  return v;
}

// Runs stereo F32 audio through djspectrum (extra properties as a launch fragment) and returns every
// djspectrum message structure (copies, caller frees with gst_structure_free).
inline std::vector<GstStructure*> run_djspectrum(const std::vector<float>& stereo, const char* props = "",
                                                 size_t block_frames = 256) {
  std::string desc = std::string("djspectrum ") + props;
  GstHarness* h = gst_harness_new_parse(desc.c_str());
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved");
  const size_t frames = stereo.size() / 2;
  for (size_t off = 0; off < frames; off += block_frames) {
    const size_t n = std::min(block_frames, frames - off);
    GstBuffer* buf = gst_buffer_new_allocate(nullptr, n * 2 * sizeof(float), nullptr);
    gst_buffer_fill(buf, 0, stereo.data() + off * 2, n * 2 * sizeof(float));
    GST_BUFFER_PTS(buf) = gst_util_uint64_scale(off, GST_SECOND, kRate);
    GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(n, GST_SECOND, kRate);
    if (gst_harness_push(h, buf) != GST_FLOW_OK) break;
    GstBuffer* out = gst_harness_pull(h);
    if (out) gst_buffer_unref(out);
  }
  gst_harness_push_event(h, gst_event_new_eos());
  std::vector<GstStructure*> msgs;
  while (GstMessage* m = gst_bus_pop(bus)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name(s, "djspectrum"))
      msgs.push_back(gst_structure_copy(s));
    gst_message_unref(m);
  }
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
  return msgs;
}

inline void free_all(std::vector<GstStructure*>& v) {
  for (auto* s : v) gst_structure_free(s);
  v.clear();
}

inline double get_double(const GstStructure* s, const char* name) {
  double d = NAN;
  gst_structure_get_double(s, name, &d);
  return d;
}

inline std::vector<float> get_floats(const GstStructure* s, const char* name) {
  std::vector<float> out;
  const GValue* arr = gst_structure_get_value(s, name);
  if (!arr || !GST_VALUE_HOLDS_ARRAY(arr)) return out;
  for (guint i = 0; i < gst_value_array_get_size(arr); ++i)
    out.push_back(g_value_get_float(gst_value_array_get_value(arr, i)));
  return out;
}

}  // namespace dju_test

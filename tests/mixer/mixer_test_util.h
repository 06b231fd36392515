// Helpers for the djeq / djmixer tests: signals, runs through real pipelines (appsrc → element →
// appsink), and measurements (level of one frequency, largest sample-to-sample step).
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace mixtest {

constexpr int kRate = 48000;
constexpr int kChannels = 2;
constexpr guint kBlock = 256;  // frames per buffer, as in a battle

using Signal = std::vector<float>;  // interleaved stereo

inline size_t frames_of(const Signal& s) { return s.size() / kChannels; }

inline Signal sine(double hz, double amp, size_t frames, double phase = 0.0) {
  Signal s(frames * kChannels);
  for (size_t i = 0; i < frames; ++i) {
    const float v = static_cast<float>(amp * std::sin(2.0 * M_PI * hz * static_cast<double>(i) / kRate + phase));
    for (int c = 0; c < kChannels; ++c) s[i * kChannels + c] = v;
  }
  return s;
}

// Exponential sweep from f0 to f1 over the whole signal.
inline Signal sweep(double f0, double f1, double amp, size_t frames) {
  Signal s(frames * kChannels);
  const double T = static_cast<double>(frames) / kRate, k = std::log(f1 / f0);
  for (size_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / kRate;
    const float v = static_cast<float>(amp * std::sin(2.0 * M_PI * f0 * T / k * (std::exp(t / T * k) - 1.0)));
    for (int c = 0; c < kChannels; ++c) s[i * kChannels + c] = v;
  }
  return s;
}

inline Signal noise(double amp, size_t frames, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  Signal s(frames * kChannels);
  for (auto& v : s) v = static_cast<float>(amp) * d(rng);
  return s;
}

inline double db(double linear) { return 20.0 * std::log10(std::max(linear, 1e-15)); }

// Amplitude of one frequency on channel 0 over frames [from, to) (Goertzel, whole cycles not needed
// for the long windows used here).
inline double tone_amplitude(const Signal& s, double hz, size_t from, size_t to) {
  to = std::min(to, frames_of(s));
  const double w = 2.0 * M_PI * hz / kRate;
  double re = 0, im = 0;
  for (size_t i = from; i < to; ++i) {
    re += s[i * kChannels] * std::cos(w * static_cast<double>(i));
    im += s[i * kChannels] * std::sin(w * static_cast<double>(i));
  }
  return 2.0 * std::hypot(re, im) / static_cast<double>(to - from);
}

inline double rms(const Signal& s, size_t from, size_t to) {
  to = std::min(to, frames_of(s));
  double ss = 0;
  for (size_t i = from * kChannels; i < to * kChannels; ++i) ss += double(s[i]) * s[i];
  return std::sqrt(ss / static_cast<double>((to - from) * kChannels));
}

inline float peak(const Signal& s) {
  float p = 0;
  for (float v : s) p = std::max(p, std::fabs(v));
  return p;
}

inline double max_step(const Signal& s, size_t from = 0, size_t to = SIZE_MAX, size_t* where = nullptr) {
  to = std::min(to, frames_of(s));
  double m = 0;
  for (size_t i = from + 1; i < to; ++i)
    for (int c = 0; c < kChannels; ++c) {
      const double d = std::fabs(s[i * kChannels + c] - s[(i - 1) * kChannels + c]);
      if (d > m) {
        m = d;
        if (where) *where = i;
      }
    }
  return m;
}

inline GstElement* make_appsrc(const char* name) {
  GstElement* src = gst_element_factory_make("appsrc", name);
  GstCaps* caps = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "rate", G_TYPE_INT, kRate,
                                      "channels", G_TYPE_INT, kChannels, "layout", G_TYPE_STRING, "interleaved",
                                      nullptr);
  g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, "max-bytes", G_GUINT64_CONSTANT(0), "block", FALSE,
               nullptr);
  gst_caps_unref(caps);
  return src;
}

inline void push_all(GstElement* src, const Signal& s) {
  const size_t frames = frames_of(s);
  for (size_t f = 0; f < frames; f += kBlock) {
    const size_t n = std::min<size_t>(kBlock, frames - f);
    GstBuffer* buf = gst_buffer_new_memdup(s.data() + f * kChannels, n * kChannels * sizeof(float));
    GST_BUFFER_PTS(buf) = gst_util_uint64_scale(f, GST_SECOND, kRate);
    GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(f + n, GST_SECOND, kRate) - GST_BUFFER_PTS(buf);
    GST_BUFFER_OFFSET(buf) = f;
    GST_BUFFER_OFFSET_END(buf) = f + n;
    ASSERT_EQ(gst_app_src_push_buffer(GST_APP_SRC(src), buf), GST_FLOW_OK);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
}

inline GstElement* make_appsink() {
  GstElement* sink = gst_element_factory_make("appsink", nullptr);
  GstCaps* caps = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "rate", G_TYPE_INT, kRate,
                                      "channels", G_TYPE_INT, kChannels, nullptr);
  g_object_set(sink, "caps", caps, "sync", FALSE, "max-buffers", 0u, nullptr);
  gst_caps_unref(caps);
  return sink;
}

inline Signal pull_all(GstElement* sink) {
  Signal out;
  while (GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstBuffer* buf = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
      const float* d = reinterpret_cast<const float*>(map.data);
      out.insert(out.end(), d, d + map.size / sizeof(float));
      gst_buffer_unmap(buf, &map);
    }
    gst_sample_unref(sample);
  }
  return out;
}

// Calls `fn(element, frame)` from the streaming thread before each buffer reaches `pad`.
struct BufferHook {
  std::function<void(guint64 frame)> fn;
  guint64 frames = 0;
};

inline GstPadProbeReturn hook_probe(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* hook = static_cast<BufferHook*>(data);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  hook->fn(hook->frames);
  hook->frames += gst_buffer_get_size(buf) / (sizeof(float) * kChannels);
  return GST_PAD_PROBE_OK;
}

// appsrc → element → appsink. `setup` runs before PLAYING; `on_buffer` (optional) before each input
// buffer reaches the element, with the frame index of that buffer.
inline Signal run_filter(const char* factory, const Signal& in, const std::function<void(GstElement*)>& setup,
                         const std::function<void(GstElement*, guint64)>& on_buffer = nullptr) {
  GstElement* pipe = gst_pipeline_new(nullptr);
  GstElement* src = make_appsrc("src");
  GstElement* el = gst_element_factory_make(factory, "el");
  EXPECT_NE(el, nullptr) << factory;
  GstElement* sink = make_appsink();
  gst_bin_add_many(GST_BIN(pipe), src, el, sink, nullptr);
  EXPECT_TRUE(gst_element_link_many(src, el, sink, nullptr));
  if (setup) setup(el);
  BufferHook hook;
  if (on_buffer) {
    hook.fn = [&](guint64 f) { on_buffer(el, f); };
    GstPad* pad = gst_element_get_static_pad(el, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, hook_probe, &hook, nullptr);
    gst_object_unref(pad);
  }
  EXPECT_NE(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  push_all(src, in);
  Signal out = pull_all(sink);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  return out;
}

// N appsrc → djmixer sink_0..N-1 → appsink. Messages posted by the mixer are returned in `messages`.
struct MixRun {
  Signal out;
  std::vector<GstStructure*> messages;
  ~MixRun() {
    for (auto* s : messages) gst_structure_free(s);
  }
};

inline void run_mixer(MixRun& run, const std::vector<Signal>& inputs,
                      const std::function<void(GstElement* mix, std::vector<GstPad*>& pads)>& setup,
                      const std::function<void(GstElement*, guint64)>& on_buffer = nullptr) {
  GstElement* pipe = gst_pipeline_new(nullptr);
  GstElement* mix = gst_element_factory_make("djmixer", "mix");
  ASSERT_NE(mix, nullptr);
  GstElement* sink = make_appsink();
  gst_bin_add_many(GST_BIN(pipe), mix, sink, nullptr);
  ASSERT_TRUE(gst_element_link(mix, sink));
  std::vector<GstElement*> srcs;
  std::vector<GstPad*> pads;
  for (size_t i = 0; i < inputs.size(); ++i) {
    GstElement* src = make_appsrc(nullptr);
    gst_bin_add(GST_BIN(pipe), src);
    GstPad* mpad = gst_element_request_pad_simple(mix, "sink_%u");
    GstPad* spad = gst_element_get_static_pad(src, "src");
    EXPECT_EQ(gst_pad_link(spad, mpad), GST_PAD_LINK_OK);
    gst_object_unref(spad);
    srcs.push_back(src);
    pads.push_back(mpad);
  }
  if (setup) setup(mix, pads);
  BufferHook hook;
  if (on_buffer) {
    hook.fn = [&](guint64 f) { on_buffer(mix, f); };
    GstPad* pad = gst_element_get_static_pad(mix, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, hook_probe, &hook, nullptr);
    gst_object_unref(pad);
  }
  ASSERT_NE(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  for (size_t i = 0; i < inputs.size(); ++i) push_all(srcs[i], inputs[i]);
  run.out = pull_all(sink);
  GstBus* bus = gst_element_get_bus(pipe);
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (s && gst_structure_has_name(s, "djmixer")) run.messages.push_back(gst_structure_copy(s));
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  for (auto* p : pads) {
    gst_element_release_request_pad(mix, p);
    gst_object_unref(p);
  }
  gst_object_unref(pipe);
}

}  // namespace mixtest

// dju-bench-pipeline: runs one gst-launch style pipeline as fast as it goes (non-live) and prints
// one JSON object with what it cost, split at the first buffer that reaches the element named
// "sink" (before it: loading, decoding, analysis, preroll; after it: streaming).
//
//   dju-bench-pipeline [--timeout SECONDS] 'djdeck location=a.flac playing=true num-buffers=4000 ! fakesink name=sink'
//
// Output fields: audio_s (audio that reached "sink", from buffer durations), wall_s, cpu_s (user +
// system of every thread of this process, from getrusage), user_s and sys_s (its two parts),
// voluntary_switches / involuntary_switches (context switches of all its threads), setup_cpu_s /
// setup_wall_s (state change to first buffer), stream_cpu_s / stream_wall_s (first buffer to EOS), rss_start_kb (before
// PLAYING), rss_first_buffer_kb, rss_end_kb, max_rss_kb (peak), threads (at EOS), messages (element
// messages posted on the bus, counted by structure name). Exit status 1 with {"error": …} on an
// error message, a timeout or a pipeline that does not parse.
#include <gst/gst.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace {

struct Sample {
  double cpu_s = 0.0;
  double user_s = 0.0;
  double sys_s = 0.0;
  long voluntary_switches = 0;
  long involuntary_switches = 0;
  double wall_s = 0.0;
  long rss_kb = 0;
};

double seconds(const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

long max_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// "VmRSS:  1234 kB" and "Threads:  12" from /proc/self/status.
long status_field(const char* name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(name);
  while (std::getline(in, line)) {
    if (line.compare(0, n, name) == 0 && line.size() > n && line[n] == ':') return std::atol(line.c_str() + n + 1);
  }
  return -1;
}

Sample sample_now() {
  Sample s;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.user_s = seconds(ru.ru_utime);
  s.sys_s = seconds(ru.ru_stime);
  s.cpu_s = s.user_s + s.sys_s;
  s.voluntary_switches = ru.ru_nvcsw;
  s.involuntary_switches = ru.ru_nivcsw;
  s.wall_s = g_get_monotonic_time() / 1e6;
  s.rss_kb = status_field("VmRSS");
  return s;
}

struct Probe {
  std::atomic<bool> seen{false};
  Sample first;
  std::mutex mutex;
  guint64 audio_ns = 0;
};

GstPadProbeReturn on_buffer(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* probe = static_cast<Probe*>(data);
  if (!probe->seen.load(std::memory_order_acquire)) {
    probe->first = sample_now();
    probe->seen.store(true, std::memory_order_release);
  }
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (buf && GST_BUFFER_DURATION_IS_VALID(buf)) {
    std::lock_guard<std::mutex> lk(probe->mutex);
    probe->audio_ns += GST_BUFFER_DURATION(buf);
  }
  return GST_PAD_PROBE_OK;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

int fail(const std::string& why) {
  std::printf("{\"error\":\"%s\"}\n", json_escape(why).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  double timeout_s = 600.0;
  int i = 1;
  for (; i < argc; i++) {
    if (std::strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      timeout_s = g_ascii_strtod(argv[++i], nullptr);
    } else {
      break;
    }
  }
  if (i != argc - 1) {
    std::fprintf(stderr, "usage: %s [--timeout SECONDS] 'PIPELINE DESCRIPTION'\n", argv[0]);
    return 2;
  }

  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(argv[i], &error);
  if (!pipeline || error) {
    std::string why = error ? error->message : "pipeline did not parse";
    g_clear_error(&error);
    return fail("parse: " + why);
  }

  Probe probe;
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  if (sink) {
    GstPad* pad = gst_element_get_static_pad(sink, "sink");
    if (pad) {
      gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &probe, nullptr);
      gst_object_unref(pad);
    }
    gst_object_unref(sink);
  }

  const Sample start = sample_now();
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    gst_object_unref(pipeline);
    return fail("the pipeline refused to start");
  }

  std::map<std::string, long> messages;
  std::string failure;
  GstBus* bus = gst_element_get_bus(pipeline);
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_s * 1e6);
  for (;;) {
    const gint64 left = deadline - g_get_monotonic_time();
    if (left <= 0) {
      failure = "timeout";
      break;
    }
    GstMessage* msg = gst_bus_timed_pop(bus, static_cast<GstClockTime>(left) * GST_USECOND);
    if (!msg) continue;
    bool done = false;
    switch (GST_MESSAGE_TYPE(msg)) {
      case GST_MESSAGE_EOS:
        done = true;
        break;
      case GST_MESSAGE_ERROR: {
        GError* err = nullptr;
        gchar* dbg = nullptr;
        gst_message_parse_error(msg, &err, &dbg);
        failure = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " + (err ? err->message : "error");
        g_clear_error(&err);
        g_free(dbg);
        done = true;
        break;
      }
      case GST_MESSAGE_ELEMENT: {
        const GstStructure* s = gst_message_get_structure(msg);
        if (s) messages[gst_structure_get_name(s)]++;
        break;
      }
      default:
        break;
    }
    gst_message_unref(msg);
    if (done) break;
  }
  const Sample end = sample_now();
  const long threads = status_field("Threads");
  gst_object_unref(bus);
  if (!failure.empty()) {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    return fail(failure);
  }

  const bool seen = probe.seen.load(std::memory_order_acquire);
  const Sample first = seen ? probe.first : end;
  std::ostringstream o;
  o.precision(6);
  o << std::fixed << "{\"audio_s\":" << probe.audio_ns / 1e9 << ",\"wall_s\":" << end.wall_s - start.wall_s
    << ",\"cpu_s\":" << end.cpu_s - start.cpu_s << ",\"user_s\":" << end.user_s - start.user_s
    << ",\"sys_s\":" << end.sys_s - start.sys_s
    << ",\"voluntary_switches\":" << end.voluntary_switches - start.voluntary_switches
    << ",\"involuntary_switches\":" << end.involuntary_switches - start.involuntary_switches
    << ",\"setup_cpu_s\":" << first.cpu_s - start.cpu_s
    << ",\"setup_wall_s\":" << first.wall_s - start.wall_s << ",\"stream_cpu_s\":" << end.cpu_s - first.cpu_s
    << ",\"stream_wall_s\":" << end.wall_s - first.wall_s << ",\"rss_start_kb\":" << start.rss_kb
    << ",\"rss_first_buffer_kb\":" << first.rss_kb << ",\"rss_end_kb\":" << end.rss_kb
    << ",\"max_rss_kb\":" << max_rss_kb() << ",\"threads\":" << threads << ",\"messages\":{";
  bool comma = false;
  for (const auto& [name, count] : messages) {
    o << (comma ? "," : "") << '"' << json_escape(name) << "\":" << count;
    comma = true;
  }
  o << "}}";
  // Printed before the teardown, so that a crash or hang there (reported by the exit status) does
  // not lose what was measured.
  std::printf("%s\n", o.str().c_str());
  std::fflush(stdout);
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(10));
    std::fprintf(stderr, "dju-bench-pipeline: the pipeline did not shut down within 10 s\n");
    std::_Exit(3);
  }).detach();
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return 0;
}

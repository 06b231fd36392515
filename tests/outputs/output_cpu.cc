// CPU cost of one broadcast output: runs a live battle master (48 kHz stereo sine into a tee and a
// fakesink) with one output of the given kind into a real far end on 127.0.0.1, and prints the
// process CPU time (all threads, user + system) over the measured window as a share of one core.
// Run once with "none" and once per kind; the difference is the output's cost.
//
//   dju-output-cpu none|rtmp|rtmp-video|srt|srt-video|hls|icecast-mp3|icecast-ogg [seconds]
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "far_ends.h"
#include "output_manager.h"

using namespace dju_test;

static double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void spin(double seconds) {
  gint64 end = g_get_monotonic_time() + static_cast<gint64>(seconds * 1e6);
  while (g_get_monotonic_time() < end) {
    while (g_main_context_iteration(nullptr, FALSE)) {
    }
    g_usleep(5000);
  }
}

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s none|rtmp|rtmp-video|srt|srt-video|hls|icecast-mp3|icecast-ogg [seconds]\n",
                 argv[0]);
    return 2;
  }
  std::string kind = argv[1];
  double seconds = argc > 2 ? g_ascii_strtod(argv[2], nullptr) : 10.0;

  std::unique_ptr<RtmpServer> nginx;
  std::unique_ptr<IcecastServer> icecast;
  std::string spec;
  if (kind == "rtmp" || kind == "rtmp-video") {
    nginx = std::make_unique<RtmpServer>(free_tcp_port());
    if (!nginx->start()) return 1;
    spec = R"({"kind":"rtmp","url":")" + nginx->url("bench") + "\"" + (kind == "rtmp-video" ? ",\"video\":true}" : "}");
  } else if (kind == "srt" || kind == "srt-video") {
    spec = R"({"kind":"srt","bind":"127.0.0.1","port":)" + std::to_string(free_udp_port()) +
           (kind == "srt-video" ? ",\"video\":true}" : "}");
  } else if (kind == "hls") {
    spec = R"({"kind":"hls"})";
  } else if (kind == "icecast-mp3" || kind == "icecast-ogg") {
    icecast = std::make_unique<IcecastServer>(free_tcp_port());
    if (!icecast->start()) return 1;
    spec = R"({"kind":"icecast","format":")" + std::string(kind == "icecast-ogg" ? "ogg" : "mp3") +
           R"(","url":"icecast://source:hackme@127.0.0.1:)" + std::to_string(icecast->port()) + "/bench\"}";
  } else if (kind != "none") {
    std::fprintf(stderr, "unknown kind %s\n", kind.c_str());
    return 2;
  }

  GstElement* pipeline = gst_parse_launch(
      "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 samplesperbuffer=256 ! "
      "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved ! tee name=master ! "
      "queue ! fakesink sync=false",
      nullptr);
  GstElement* tee = gst_bin_get_by_name(GST_BIN(pipeline), "master");
  std::string hls_root = make_temp_dir("dju-bench-hls-XXXXXX");
  auto manager = dju::OutputManager::create(GST_PIPELINE(pipeline), tee, hls_root);
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_bus_add_watch(
      bus,
      [](GstBus*, GstMessage* m, gpointer data) -> gboolean {
        static_cast<dju::OutputManager*>(data)->handle_bus_message(m);
        return TRUE;
      },
      manager.get());
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  spin(0.5);
  std::string id;
  if (!spec.empty()) {
    JsonParser* p = json_parser_new();
    json_parser_load_from_data(p, spec.c_str(), -1, nullptr);
    std::string err;
    int status = 0;
    id = manager->add(json_node_get_object(json_parser_get_root(p)), &err, &status);
    g_object_unref(p);
    if (id.empty()) {
      std::fprintf(stderr, "add failed (%d): %s\n", status, err.c_str());
      return 1;
    }
  }
  spin(2.0);  // warm up: connections made, encoders settled
  double c0 = cpu_seconds();
  gint64 t0 = g_get_monotonic_time();
  spin(seconds);
  double cpu = cpu_seconds() - c0;
  double wall = (g_get_monotonic_time() - t0) / 1e6;
  JsonNode* list = manager->list();
  gchar* outputs = json_to_string(list, FALSE);
  json_node_unref(list);
  std::printf("{\"kind\":\"%s\",\"seconds\":%.2f,\"cpu_s\":%.3f,\"core_percent\":%.2f,\"outputs\":%s}\n",
              kind.c_str(), wall, cpu, 100.0 * cpu / wall, outputs);
  g_free(outputs);
  manager->stop_all();
  manager.reset();
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(tee);
  gst_object_unref(pipeline);
  gchar* cmd = g_strdup_printf("rm -rf '%s'", hls_root.c_str());
  (void)!system(cmd);
  g_free(cmd);
  return 0;
}

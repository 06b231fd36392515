// djuniverse-server: hosts DJ battles, one GStreamer pipeline each, streamed to browsers over WebRTC
// and controlled over a WebSocket. Runs with no configuration (port 8080, the demo library as its
// tracks, ./data for recordings and results); flags and DJU_* environment variables change each.
#include <glib-unix.h>
#include <gst/gst.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "battle.h"
#include "battle_directory.h"
#include "battle_store.h"
#include "listener.h"
#include "metrics.h"
#include "server_context.h"
#include "track_library.h"

using namespace dju;

namespace {

struct App {
  GMainLoop* loop = nullptr;
  ServerContext ctx;
  std::unique_ptr<Listener> listener;
  int pending_endings = 0;
  bool stopping = false;
};

const char* env_or(const char* name, const char* fallback) {
  const char* v = g_getenv(name);
  return v && *v ? v : fallback;
}

// Each WebRTC peer costs ~17 descriptors; the usual soft limit of 1024 breaks near 60 peers.
void raise_fd_limit() {
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
      g_print("open-file limit raised from %lu to %lu\n", static_cast<unsigned long>(before),
              static_cast<unsigned long>(rl.rlim_cur));
  }
}

gboolean on_signal(gpointer data) {
  auto* app = static_cast<App*>(data);
  if (app->stopping) return G_SOURCE_CONTINUE;
  app->stopping = true;
  g_print("stopping: finalizing recordings\n");
  app->listener->stop_accepting();
  for (auto& b : app->ctx.directory->list()) {
    if (!b->running()) continue;
    app->pending_endings++;
    b->end("shutdown", [app] {
      if (--app->pending_endings == 0) g_main_loop_quit(app->loop);
    });
  }
  if (app->pending_endings == 0) g_main_loop_quit(app->loop);
  // Never hang on the way out.
  g_timeout_add_seconds(8, [](gpointer d) -> gboolean {
    g_main_loop_quit(static_cast<App*>(d)->loop);
    return G_SOURCE_REMOVE;
  }, app);
  return G_SOURCE_CONTINUE;
}

}  // namespace

int main(int argc, char** argv) {
  App app;
  ServerOptions& o = app.ctx.options;
  int port = std::atoi(env_or("DJU_PORT", "8080"));
  gchar *host = nullptr, *tracks = nullptr, *data = nullptr, *web = nullptr, *admin = nullptr, *cert = nullptr,
        *key = nullptr;
  int max_upload_mb = 64, max_battles = 16;
  double frame_ms = 5.0, mix_latency_ms = 20.0;
  gboolean ice_loopback = FALSE;
  GOptionEntry entries[] = {
      {"port", 'p', 0, G_OPTION_ARG_INT, &port, "HTTP port (0 picks a free one; env DJU_PORT)", "PORT"},
      {"host", 0, 0, G_OPTION_ARG_STRING, &host, "Address to listen on (default: every interface)", "IP"},
      {"tracks", 0, 0, G_OPTION_ARG_FILENAME, &tracks, "Tracks folder (env DJU_TRACKS; default ./tracks, else the demo library)", "DIR"},
      {"data", 0, 0, G_OPTION_ARG_FILENAME, &data, "Data folder for recordings and results (env DJU_DATA; default ./data)", "DIR"},
      {"web", 0, 0, G_OPTION_ARG_FILENAME, &web, "Folder of the web pages (env DJU_WEB)", "DIR"},
      {"admin-token", 0, 0, G_OPTION_ARG_STRING, &admin, "Token that guards creating/deleting battles (env DJU_ADMIN_TOKEN)", "TOKEN"},
      {"tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &cert, "PEM certificate: serve https/wss", "FILE"},
      {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &key, "PEM private key for --tls-cert", "FILE"},
      {"max-upload-mb", 0, 0, G_OPTION_ARG_INT, &max_upload_mb, "Largest track upload (MiB, default 64)", "N"},
      {"max-battles", 0, 0, G_OPTION_ARG_INT, &max_battles, "Battles hosted at once (default 16)", "N"},
      {"opus-frame-ms", 0, 0, G_OPTION_ARG_DOUBLE, &frame_ms, "Opus frame size for WebRTC: 2.5, 5, 10 or 20 (default 5)", "MS"},
      {"mix-latency-ms", 0, 0, G_OPTION_ARG_DOUBLE, &mix_latency_ms, "Slack for late deck buffers before mixing (default 20)", "MS"},
      {"ice-loopback", 0, 0, G_OPTION_ARG_NONE, &ice_loopback,
       "WebRTC on 127.0.0.1 only (browsers on this machine; env DJU_ICE_LOOPBACK=1)", nullptr},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext* oc = g_option_context_new("- DJ battles mixed on the server, streamed over WebRTC");
  g_option_context_add_main_entries(oc, entries, nullptr);
  g_option_context_add_group(oc, gst_init_get_option_group());
  GError* err = nullptr;
  if (!g_option_context_parse(oc, &argc, &argv, &err)) {
    g_printerr("%s\n", err->message);
    return 2;
  }
  g_option_context_free(oc);
  gst_init(&argc, &argv);
  raise_fd_limit();

  o.port = port;
  if (host) o.host = host;
  o.data_dir = data ? data : env_or("DJU_DATA", "data");
  if (tracks) o.tracks_dir = tracks;
  else if (g_getenv("DJU_TRACKS")) o.tracks_dir = g_getenv("DJU_TRACKS");
  else if (g_file_test("tracks", G_FILE_TEST_IS_DIR)) o.tracks_dir = "tracks";
  else if (g_file_test(DJU_DEFAULT_DEMO_DIR, G_FILE_TEST_IS_DIR)) o.tracks_dir = DJU_DEFAULT_DEMO_DIR;
  else o.tracks_dir = "tracks";
  if (web) o.web_dir = web;
  else if (g_getenv("DJU_WEB")) o.web_dir = g_getenv("DJU_WEB");
  else if (g_file_test("web/index.html", G_FILE_TEST_IS_REGULAR)) o.web_dir = "web";
  else o.web_dir = DJU_DEFAULT_WEB_DIR;
  o.admin_token = admin ? admin : env_or("DJU_ADMIN_TOKEN", "");
  if (cert) o.tls_cert = cert;
  if (key) o.tls_key = key;
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    g_printerr("--tls-cert and --tls-key go together\n");
    return 2;
  }
  if (max_upload_mb < 1 || max_battles < 1 || !(frame_ms == 2.5 || frame_ms == 5 || frame_ms == 10 || frame_ms == 20)) {
    g_printerr("--max-upload-mb and --max-battles must be ≥ 1; --opus-frame-ms one of 2.5, 5, 10, 20\n");
    return 2;
  }
  o.max_upload_bytes = static_cast<size_t>(max_upload_mb) * 1024 * 1024;
  o.max_battles = max_battles;
  o.pipeline.frame_ms = frame_ms;
  if (!(mix_latency_ms >= 0 && mix_latency_ms <= 500)) {
    g_printerr("--mix-latency-ms must be 0 … 500\n");
    return 2;
  }
  o.pipeline.mixer_latency_ms = mix_latency_ms;
  o.pipeline.ice_loopback = ice_loopback || g_strcmp0(g_getenv("DJU_ICE_LOOPBACK"), "1") == 0;
  g_free(host); g_free(tracks); g_free(data); g_free(web); g_free(admin); g_free(cert); g_free(key);

  // Absolute folders: log lines and decks need paths that do not depend on the working directory.
  for (std::string* dir : {&o.tracks_dir, &o.data_dir, &o.web_dir}) {
    if (!g_path_is_absolute(dir->c_str())) {
      gchar* cwd = g_get_current_dir();
      gchar* abs = g_build_filename(cwd, dir->c_str(), nullptr);
      *dir = abs;
      g_free(abs);
      g_free(cwd);
    }
  }
  g_mkdir_with_parents(o.data_dir.c_str(), 0755);
  g_mkdir_with_parents(o.tracks_dir.c_str(), 0755);

  LocalBattleDirectory directory;
  BattleStore store(o.data_dir);
  TrackLibrary library(o.tracks_dir, o.data_dir, o.max_upload_bytes);
  app.ctx.directory = &directory;
  app.ctx.store = &store;
  app.ctx.library = &library;
  library.scan();

  int restored = 0;
  for (const auto& record : store.load_all()) {
    if (auto b = Battle::restore(record, &store)) {
      directory.add(b);
      restored++;
    }
  }
  g_print("data: %s (%d battles from earlier runs)\n", o.data_dir.c_str(), restored);
  auto missing = BattleBuilder::missing_elements();
  if (!missing.empty()) {
    std::string m;
    for (auto& e : missing) m += " " + e;
    g_print("warning: cannot host battles until these elements exist:%s\n", m.c_str());
  }

  Metrics::get().battles_gauge = [&directory] {
    int n = 0;
    for (auto& b : directory.list()) n += b->running();
    return n;
  };
  Metrics::get().peers_gauge = [&directory] {
    int n = 0;
    for (auto& b : directory.list()) n += static_cast<int>(b->peer_count());
    return n;
  };

  app.loop = g_main_loop_new(nullptr, FALSE);
  app.listener = std::make_unique<Listener>(&app.ctx);
  Listener* listener = app.listener.get();
  Metrics::get().clients_gauge = [listener] { return static_cast<int>(listener->client_count()); };
  std::string error;
  if (!app.listener->start(&error)) {
    g_printerr("%s\n", error.c_str());
    return 1;
  }
  g_unix_signal_add(SIGINT, on_signal, &app);
  g_unix_signal_add(SIGTERM, on_signal, &app);
  g_main_loop_run(app.loop);

  app.listener.reset();
  for (auto& b : directory.list()) directory.remove(b->id());
  g_main_loop_unref(app.loop);
  g_print("stopped\n");
  return 0;
}

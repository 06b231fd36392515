// OutputManager: each output is an "attempt" (one DjuOutputBin in the battle's pipeline) at a
// time. The bin's head (queue ! … ! appsink) hangs off the master tee; its body (appsrc ! encoders
// ! sink) talks to the far end. A failing body is torn down whole and rebuilt after a backoff.
//
// Threads: every method and every scheduled callback runs on the main context captured in
// create(). Streaming threads (the bin's message hook, pad probes) only touch atomics and post
// work to that context.
#include "output_manager.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "output_bin.h"
#include "output_pipelines.h"
#include "output_spec.h"

GST_DEBUG_CATEGORY_STATIC(dju_outputs_debug);
#define GST_CAT_DEFAULT dju_outputs_debug

namespace dju {
namespace {

constexpr gint64 kUs = G_USEC_PER_SEC;
constexpr gint64 kLiveAfterUs = 1 * kUs;        // flowing this long without error = live
constexpr gint64 kProgressUs = kUs / 2;       // "still flowing" = a buffer within this
constexpr gint64 kStallUs = 10 * kUs;           // a live sink that takes nothing this long has failed
constexpr gint64 kStableUs = 10 * kUs;          // live this long: the next failure starts backoff anew
constexpr gint64 kDrainTimeoutUs = 3 * kUs;     // EOS must reach the sink within this at removal
constexpr int kBackoffMaxS = 30;                // 1, 2, 4, 8, 16, 30, 30 … seconds
constexpr guint kTickMs = 250;

// Everything about one built bin. Shared with streaming-thread callbacks (by weak or strong ref).
struct Attempt {
  std::string output_id;
  GstElement* bin = nullptr;     // DjuOutputBin (our ref)
  GstElement* body = nullptr;    // borrowed from bin
  GstElement* appsrc = nullptr;  // borrowed from body
  GstPad* tee_pad = nullptr;     // requested from the master tee (our ref)
  std::vector<GstElement*> overlays;  // title, scores (borrowed)
  std::atomic<guint64> sink_buffers{0};
  std::atomic<bool> failed{false};
  std::atomic<bool> error_claimed{false};
  std::atomic<bool> unlinked{false};
  std::atomic<bool> drained{false};
  // Main context only:
  bool tearing_down = false;
  bool finalized = false;
  gint64 started_us = 0;
  gint64 first_flow_us = 0;
  guint64 last_buffers = 0;
  gint64 last_progress_us = 0;
  gulong probe_id = 0;
  std::function<void()> on_finalized;
  // First error text, written once by a streaming thread before `failed` is set.
  std::string error_text;
  std::string first_error() const { return failed.load() ? error_text : std::string(); }

  ~Attempt() {
    if (tee_pad) gst_object_unref(tee_pad);
    if (bin) gst_object_unref(bin);
  }
};

struct Output {
  std::string id;
  OutputSpec spec;
  std::string status = "starting";
  std::string error;
  std::string hls_dir;
  int attempts = 0;
  int failures = 0;
  std::shared_ptr<Attempt> current;
  guint retry_source = 0;
  gint64 retry_at_us = 0;
  gint64 live_since_us = 0;
};

struct Token;
using Job = std::function<void()>;

// Runs fn on ctx later, never inline (g_main_context_invoke could run it on a streaming thread
// that happens to acquire the context).
void post_to(GMainContext* ctx, Job fn) {
  GSource* src = g_idle_source_new();
  g_source_set_priority(src, G_PRIORITY_DEFAULT);
  auto* heap = new Job(std::move(fn));
  g_source_set_callback(
      src,
      [](gpointer data) -> gboolean {
        (*static_cast<Job*>(data))();
        return G_SOURCE_REMOVE;
      },
      heap, [](gpointer data) { delete static_cast<Job*>(data); });
  g_source_attach(src, ctx);
  g_source_unref(src);
}

guint timeout_on(GMainContext* ctx, guint ms, std::function<gboolean()> fn) {
  GSource* src = g_timeout_source_new(ms);
  auto* heap = new std::function<gboolean()>(std::move(fn));
  g_source_set_callback(
      src, [](gpointer data) -> gboolean { return (*static_cast<std::function<gboolean()>*>(data))(); },
      heap, [](gpointer data) { delete static_cast<std::function<gboolean()>*>(data); });
  guint id = g_source_attach(src, ctx);
  g_source_unref(src);
  return id;
}

void remove_source(GMainContext* ctx, guint* id) {
  if (*id) {
    GSource* s = g_main_context_find_source_by_id(ctx, *id);
    if (s) g_source_destroy(s);
    *id = 0;
  }
}

// Can a UDP socket be bound on this address/port right now? libsrt binds with SO_REUSEADDR, so
// without this check a second listener elsewhere on the box would silently share the port.
bool udp_port_free(const std::string& bind, int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return true;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, bind.c_str(), &a.sin_addr);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

void remove_tree(const std::string& dir) {
  GDir* d = g_dir_open(dir.c_str(), 0, nullptr);
  if (!d) return;
  while (const gchar* name = g_dir_read_name(d)) {
    std::string path = dir + "/" + name;
    g_unlink(path.c_str());
  }
  g_dir_close(d);
  g_rmdir(dir.c_str());
}

std::string markup_escape(const std::string& s) {
  gchar* e = g_markup_escape_text(s.c_str(), -1);
  std::string out = e;
  g_free(e);
  return out;
}

std::string format_clock(double seconds) {
  int s = static_cast<int>(std::ceil(std::max(0.0, seconds)));
  gchar* t = g_strdup_printf("%d:%02d", s / 60, s % 60);
  std::string out = t;
  g_free(t);
  return out;
}

std::string format_score(double score) {
  gchar* t = g_strdup_printf("%.0f", score);
  std::string out = t;
  g_free(t);
  return out;
}

class OutputManagerImpl;

struct Token {
  OutputManagerImpl* impl;
};

// Data handed to the streaming-thread hook of one bin.
struct HookState {
  std::weak_ptr<Attempt> attempt;
  std::weak_ptr<Token> token;
  GMainContext* ctx;
  GstElement* body;  // borrowed: the hook only compares pointers
  ~HookState() { g_main_context_unref(ctx); }
};

class OutputManagerImpl final : public OutputManager {
 public:
  OutputManagerImpl(GstPipeline* pipeline, GstElement* tee, const std::string& hls_root)
      : pipeline_(GST_PIPELINE(gst_object_ref(pipeline))),
        tee_(GST_ELEMENT(gst_object_ref(tee))),
        hls_root_(hls_root),
        ctx_(g_main_context_ref_thread_default()),
        token_(std::make_shared<Token>(Token{this})) {
    std::weak_ptr<Token> weak = token_;
    tick_source_ = timeout_on(ctx_, kTickMs, [weak]() -> gboolean {
      auto t = weak.lock();
      if (!t) return G_SOURCE_REMOVE;
      t->impl->tick();
      return G_SOURCE_CONTINUE;
    });
  }

  ~OutputManagerImpl() override {
    remove_source(ctx_, &tick_source_);
    for (auto& o : outputs_) {
      remove_source(ctx_, &o->retry_source);
      if (o->current) force_finalize(o->current);
    }
    auto retiring = retiring_;
    for (auto& a : retiring) force_finalize(a);
    token_.reset();  // pending posted jobs become no-ops
    gst_object_unref(tee_);
    gst_object_unref(pipeline_);
    g_main_context_unref(ctx_);
  }

  std::string add(JsonObject* body, std::string* error, int* http_status) override {
    OutputSpec spec;
    std::string err;
    int status = 400;
    if (!parse_output_spec(body, &spec, &err)) return fail(error, http_status, 400, err);
    for (auto& o : outputs_) {
      if (spec.kind == OutputKind::Srt && o->spec.kind == OutputKind::Srt && o->spec.port == spec.port)
        return fail(error, http_status, 409,
                    "port " + std::to_string(spec.port) + " is already used by output " + o->id);
      if (spec.kind == OutputKind::Rtmp && o->spec.kind == OutputKind::Rtmp && o->spec.url == spec.url)
        return fail(error, http_status, 409, "output " + o->id + " already pushes to this URL");
      if (spec.kind == OutputKind::Icecast && o->spec.kind == OutputKind::Icecast &&
          o->spec.host == spec.host && o->spec.icecast_port == spec.icecast_port && o->spec.mount == spec.mount)
        return fail(error, http_status, 409, "output " + o->id + " already feeds this mount");
    }
    if (spec.kind == OutputKind::Srt && !udp_port_free(spec.bind, spec.port))
      return fail(error, http_status, 409, "UDP port " + std::to_string(spec.port) + " is in use on this server");

    auto out = std::make_unique<Output>();
    out->id = std::string(output_kind_name(spec.kind)) + "-" + std::to_string(++next_number_);
    out->spec = spec;
    if (spec.kind == OutputKind::Hls) {
      out->hls_dir = hls_root_ + "/" + out->id;
      if (g_mkdir_with_parents(out->hls_dir.c_str(), 0755) != 0)
        return fail(error, http_status, 500, "cannot create the HLS folder " + out->id + ": " + g_strerror(errno));
    }
    Start started = start_attempt(out.get(), &err, &status);
    if (started == Start::BuildError || (started == Start::StartError && spec.kind == OutputKind::Srt)) {
      if (!out->hls_dir.empty()) remove_tree(out->hls_dir);
      --next_number_;
      return fail(error, http_status, status, err);
    }
    // A far end that is down right now is not the broadcaster's mistake: keep trying.
    if (started == Start::StartError) schedule_retry(out.get(), err);
    GST_INFO("added output %s (%s)", out->id.c_str(), output_kind_name(spec.kind));
    std::string id = out->id;
    outputs_.push_back(std::move(out));
    return id;
  }

  bool remove(const std::string& id) override {
    auto it = std::find_if(outputs_.begin(), outputs_.end(), [&](auto& o) { return o->id == id; });
    if (it == outputs_.end()) return false;
    std::unique_ptr<Output> out = std::move(*it);
    outputs_.erase(it);
    remove_source(ctx_, &out->retry_source);
    std::string dir = out->hls_dir;
    if (out->current) {
      out->current->on_finalized = [dir]() {
        if (!dir.empty()) remove_tree(dir);
      };
      teardown(out->current, true);
    } else if (!dir.empty()) {
      remove_tree(dir);
    }
    GST_INFO("removed output %s", id.c_str());
    return true;
  }

  JsonNode* list() const override {
    JsonBuilder* b = json_builder_new();
    json_builder_begin_array(b);
    gint64 now = g_get_monotonic_time();
    for (auto& o : outputs_) {
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "id");
      json_builder_add_string_value(b, o->id.c_str());
      json_builder_set_member_name(b, "kind");
      json_builder_add_string_value(b, output_kind_name(o->spec.kind));
      json_builder_set_member_name(b, "status");
      json_builder_add_string_value(b, o->status.c_str());
      if (!o->error.empty()) {
        json_builder_set_member_name(b, "error");
        json_builder_add_string_value(b, o->error.c_str());
      }
      json_builder_set_member_name(b, "attempts");
      json_builder_add_int_value(b, o->attempts);
      if (o->status == "retrying" && o->retry_at_us) {
        json_builder_set_member_name(b, "retry_in_s");
        json_builder_add_int_value(b, (std::max<gint64>(0, o->retry_at_us - now) + kUs - 1) / kUs);
      }
      if (o->status == "live") {
        json_builder_set_member_name(b, "live_s");
        json_builder_add_int_value(b, (now - o->live_since_us) / kUs);
      }
      switch (o->spec.kind) {
        case OutputKind::Rtmp:
          json_builder_set_member_name(b, "url");
          json_builder_add_string_value(b, masked_url(o->spec).c_str());
          json_builder_set_member_name(b, "video");
          json_builder_add_boolean_value(b, o->spec.video);
          break;
        case OutputKind::Srt:
          json_builder_set_member_name(b, "port");
          json_builder_add_int_value(b, o->spec.port);
          json_builder_set_member_name(b, "url");
          json_builder_add_string_value(b, masked_url(o->spec).c_str());
          json_builder_set_member_name(b, "video");
          json_builder_add_boolean_value(b, o->spec.video);
          json_builder_set_member_name(b, "encrypted");
          json_builder_add_boolean_value(b, !o->spec.passphrase.empty());
          break;
        case OutputKind::Hls:
          // Relative to the battle's HLS folder (hls_root), which the server serves.
          json_builder_set_member_name(b, "playlist");
          json_builder_add_string_value(b, (o->id + "/playlist.m3u8").c_str());
          break;
        case OutputKind::Icecast:
          json_builder_set_member_name(b, "url");
          json_builder_add_string_value(b, masked_url(o->spec).c_str());
          json_builder_set_member_name(b, "format");
          json_builder_add_string_value(b, o->spec.format.c_str());
          break;
      }
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    JsonNode* node = json_builder_get_root(b);
    g_object_unref(b);
    return node;
  }

  bool handle_bus_message(GstMessage* message) override {
    GstObject* bin = owning_output_bin(GST_MESSAGE_SRC(message));
    if (!bin) return false;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
      // Normally swallowed inside the bin already; handled here too should one get through.
      GError* err = nullptr;
      gst_message_parse_error(message, &err, nullptr);
      std::string text = err ? err->message : "error";
      if (err) g_error_free(err);
      for (auto& o : outputs_)
        if (o->current && GST_OBJECT(o->current->bin) == bin) on_failure(o->current, text);
    }
    gst_object_unref(bin);
    return true;
  }

  void update_overlay(const OverlayInfo& info) override {
    overlay_ = info;
    overlay_at_us_ = g_get_monotonic_time();
    refresh_overlays(true);
  }

  void stop_all() override {
    std::vector<std::shared_ptr<Attempt>> draining;
    for (auto& o : outputs_) {
      remove_source(ctx_, &o->retry_source);
      o->status = "stopped";
      if (o->current) {
        draining.push_back(o->current);
        teardown(o->current, true);
        o->current.reset();
      }
    }
    // Wait (bounded) for the EOS to run through every body: HLS writes its ENDLIST, FLV and TS
    // sinks send their last packets. Unlinking happens on streaming threads; EOS is sent here.
    gint64 deadline = g_get_monotonic_time() + kDrainTimeoutUs;
    std::vector<bool> eos_sent(draining.size(), false);
    while (g_get_monotonic_time() < deadline) {
      bool all = true;
      for (size_t i = 0; i < draining.size(); ++i) {
        auto& a = draining[i];
        if (!eos_sent[i] && a->unlinked.load()) {
          send_eos(a);
          eos_sent[i] = true;
        }
        if (!a->failed.load() && !a->drained.load()) all = false;
      }
      if (all) break;
      g_usleep(10000);
    }
    for (auto& a : draining) force_finalize(a);
  }

  // --- called from the main context by scheduled jobs ---

  void tick() {
    gint64 now = g_get_monotonic_time();
    // A battle that is not playing (lobby, paused) sends nothing: no output can stall then.
    GstState state = GST_STATE_NULL;
    gst_element_get_state(GST_ELEMENT(pipeline_), &state, nullptr, 0);
    bool playing = state == GST_STATE_PLAYING;
    for (auto& o : outputs_) {
      auto a = o->current;
      if (!a || a->tearing_down) continue;
      if (!playing) {
        a->started_us = now;
        a->last_progress_us = now;
        continue;
      }
      guint64 n = a->sink_buffers.load();
      if (n != a->last_buffers) {
        a->last_buffers = n;
        a->last_progress_us = now;
        if (!a->first_flow_us) a->first_flow_us = now;
      }
      // Live = data has been reaching the sink for a while and still is (a sink that blocks on a
      // far end that accepted the connection but never answers takes one buffer, then nothing).
      if (o->status == "starting" && a->first_flow_us && now - a->first_flow_us >= kLiveAfterUs &&
          now - a->last_progress_us < kProgressUs) {
        o->status = "live";
        o->error.clear();
        o->live_since_us = now;
        GST_INFO("output %s is live", o->id.c_str());
      } else if (o->status == "live" && now - a->last_progress_us > kStallUs) {
        on_failure(a, "the far end stopped taking data");
      } else if (o->status == "starting" && !a->first_flow_us && now - a->started_us > kStallUs) {
        on_failure(a, "no data reached the far end within " + std::to_string(kStallUs / kUs) + " s");
      }
    }
    refresh_overlays(false);
  }

  void on_failure(const std::shared_ptr<Attempt>& a, const std::string& reason) {
    Output* o = find_output(a);
    if (!o || a->tearing_down) return;
    o->current.reset();
    teardown(a, false);
    schedule_retry(o, reason);
  }

  void schedule_retry(Output* o, const std::string& reason) {
    gint64 now = g_get_monotonic_time();
    if (o->status == "live" && now - o->live_since_us >= kStableUs) o->failures = 0;
    o->failures++;
    o->error = reason;
    o->status = "retrying";
    int delay_s = std::min(kBackoffMaxS, 1 << std::min(o->failures - 1, 5));
    o->retry_at_us = now + delay_s * kUs;
    GST_WARNING("output %s failed (%s); retrying in %d s", o->id.c_str(), reason.c_str(), delay_s);
    std::weak_ptr<Token> weak = token_;
    std::string id = o->id;
    remove_source(ctx_, &o->retry_source);
    o->retry_source = timeout_on(ctx_, static_cast<guint>(delay_s * 1000), [weak, id]() -> gboolean {
      auto t = weak.lock();
      if (t) t->impl->retry(id);
      return G_SOURCE_REMOVE;
    });
  }

  void retry(const std::string& id) {
    auto it = std::find_if(outputs_.begin(), outputs_.end(), [&](auto& o) { return o->id == id; });
    if (it == outputs_.end()) return;
    Output* o = it->get();
    o->retry_source = 0;
    std::string err;
    int status = 0;
    // Could not even start (e.g. the SRT port was taken meanwhile): the next try comes later.
    if (start_attempt(o, &err, &status) != Start::Ok) schedule_retry(o, err);
  }

  void on_unlinked(const std::shared_ptr<Attempt>& a, bool graceful) {
    if (a->finalized) return;
    if (graceful && !a->failed.load()) {
      send_eos(a);
      std::weak_ptr<Token> weak = token_;
      std::weak_ptr<Attempt> wa = a;
      timeout_on(ctx_, kDrainTimeoutUs / 1000, [weak, wa]() -> gboolean {
        auto t = weak.lock();
        auto att = wa.lock();
        if (t && att) t->impl->force_finalize(att);
        return G_SOURCE_REMOVE;
      });
    } else {
      force_finalize(a);
    }
  }

  void force_finalize(const std::shared_ptr<Attempt>& a) {
    if (a->finalized) return;
    a->finalized = true;
    if (a->probe_id && a->tee_pad && !a->unlinked.load()) {
      gst_pad_remove_probe(a->tee_pad, a->probe_id);
    }
    a->probe_id = 0;
    if (a->tee_pad) {
      GstPad* peer = gst_pad_get_peer(a->tee_pad);
      if (peer) {
        gst_pad_unlink(a->tee_pad, peer);
        gst_object_unref(peer);
      }
    }
    if (a->bin) {
      gst_element_set_state(a->bin, GST_STATE_NULL);
      gst_bin_remove(GST_BIN(pipeline_), a->bin);
    }
    if (a->tee_pad) gst_element_release_request_pad(tee_, a->tee_pad);
    retiring_.erase(std::remove(retiring_.begin(), retiring_.end(), a), retiring_.end());
    if (a->on_finalized) a->on_finalized();
    a->on_finalized = nullptr;
  }

 private:
  static std::string fail(std::string* error, int* http_status, int code, const std::string& why) {
    if (error) *error = why;
    if (http_status) *http_status = code;
    return "";
  }

  Output* find_output(const std::shared_ptr<Attempt>& a) {
    for (auto& o : outputs_)
      if (o->current == a) return o.get();
    return nullptr;
  }

  // The DjuOutputBin that obj is (or lies inside), with a ref; null if none.
  static GstObject* owning_output_bin(GstObject* obj) {
    GstObject* cur = obj ? GST_OBJECT(gst_object_ref(obj)) : nullptr;
    while (cur) {
      if (DJU_IS_OUTPUT_BIN(cur)) return cur;
      GstObject* parent = gst_object_get_parent(cur);
      gst_object_unref(cur);
      cur = parent;
    }
    return nullptr;
  }

  static gboolean hook(GstMessage* m, gpointer data) {
    auto* hs = static_cast<HookState*>(data);
    switch (GST_MESSAGE_TYPE(m)) {
      case GST_MESSAGE_ERROR: {
        auto a = hs->attempt.lock();
        if (!a) return TRUE;
        GError* err = nullptr;
        gchar* dbg = nullptr;
        gst_message_parse_error(m, &err, &dbg);
        std::string text = err ? err->message : "error";
        GST_WARNING("output %s: %s (%s)", a->output_id.c_str(), text.c_str(), dbg ? dbg : "");
        if (err) g_error_free(err);
        g_free(dbg);
        if (!a->error_claimed.exchange(true)) {
          a->error_text = text;  // only the first error writes; readers wait for `failed`
          a->failed.store(true);
        }
        std::weak_ptr<Token> weak = hs->token;
        post_to(hs->ctx, [weak, a, text]() {
          if (auto t = weak.lock()) t->impl->on_failure(a, text);
        });
        return TRUE;  // never reaches the battle's bus as an ERROR
      }
      case GST_MESSAGE_EOS:
        if (GST_MESSAGE_SRC(m) == GST_OBJECT(hs->body)) {
          auto a = hs->attempt.lock();
          if (!a) return TRUE;
          a->drained.store(true);
          std::weak_ptr<Token> weak = hs->token;
          post_to(hs->ctx, [weak, a]() {
            if (auto t = weak.lock()) t->impl->force_finalize(a);
          });
          return TRUE;
        }
        return FALSE;
      default:
        return FALSE;
    }
  }

  static GstFlowReturn on_tap_sample(GstAppSink* sink, gpointer data) {
    GstAppSrc* src = GST_APP_SRC(data);
    GstSample* sample = gst_app_sink_pull_sample(sink);
    if (!sample) return GST_FLOW_OK;
    GstBuffer* buf = gst_sample_get_buffer(sample);
    const GstSegment* seg = gst_sample_get_segment(sample);
    if (buf && seg && GST_BUFFER_PTS_IS_VALID(buf)) {
      // The body runs on the battle's clock: stamp with the battle's running time so the muxers'
      // live timeouts line up with the clock.
      guint64 rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
      if (GST_CLOCK_TIME_IS_VALID(rt)) {
        GstBuffer* out = gst_buffer_copy(buf);  // shares the memory
        GST_BUFFER_PTS(out) = rt;
        GST_BUFFER_DTS(out) = GST_CLOCK_TIME_NONE;
        // Never blocks (block=false, leaky); a failed body answers FLUSHING/ERROR, which is ignored.
        gst_app_src_push_buffer(src, out);
      }
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  }

  static GstPadProbeReturn count_buffers(GstPad*, GstPadProbeInfo*, gpointer data) {
    static_cast<Attempt*>(data)->sink_buffers.fetch_add(1, std::memory_order_relaxed);
    return GST_PAD_PROBE_OK;
  }

  void configure_body(Output* o, GstElement* body, Attempt* a) {
    const OutputSpec& s = o->spec;
    GstElement* sink = gst_bin_get_by_name(GST_BIN(body), "sink");
    switch (s.kind) {
      case OutputKind::Rtmp:
        g_object_set(sink, "location", s.url.c_str(), nullptr);
        break;
      case OutputKind::Srt: {
        std::string uri = "srt://" + s.bind + ":" + std::to_string(s.port) + "?mode=listener";
        g_object_set(sink, "uri", uri.c_str(), "latency", s.latency_ms, nullptr);
        if (!s.passphrase.empty()) g_object_set(sink, "passphrase", s.passphrase.c_str(), nullptr);
        break;
      }
      case OutputKind::Hls: {
        std::string seg = o->hls_dir + "/segment%05d.ts";
        std::string pl = o->hls_dir + "/playlist.m3u8";
        g_object_set(sink, "location", seg.c_str(), "playlist-location", pl.c_str(), nullptr);
        break;
      }
      case OutputKind::Icecast:
        g_object_set(sink, "ip", s.host.c_str(), "port", s.icecast_port, "mount", s.mount.c_str(),
                     "username", s.user.c_str(), "password", s.password.c_str(), "streamname",
                     overlay_.battle_name.empty() ? "DJ Universe battle" : overlay_.battle_name.c_str(),
                     "description", "Live DJ battle on DJ Universe", "genre", "DJ battle", nullptr);
        break;
    }
    // Count what reaches the far-end sink: the status says "live" only once data flows there.
    GstIterator* it = gst_element_iterate_sink_pads(sink);
    GValue v = G_VALUE_INIT;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
      GstPad* pad = GST_PAD(g_value_get_object(&v));
      gst_pad_add_probe(pad, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                        count_buffers, a, nullptr);
      g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    gst_object_unref(sink);
    for (const char* name : {"title", "scores"}) {
      GstElement* ov = gst_bin_get_by_name(GST_BIN(body), name);
      if (ov) {
        a->overlays.push_back(ov);
        gst_object_unref(ov);  // the body keeps it alive as long as the attempt's bin
      }
    }
  }

  enum class Start { Ok, BuildError, StartError };

  Start start_attempt(Output* o, std::string* err, int* status) {
    auto a = std::make_shared<Attempt>();
    a->output_id = o->id;
    o->attempts++;
    std::string name = "output-" + o->id + "-" + std::to_string(o->attempts);

    GError* gerr = nullptr;
    GstElement* head = gst_parse_bin_from_description(output_head_description().c_str(), TRUE, &gerr);
    if (!head) {
      *err = std::string("cannot build the output: ") + (gerr ? gerr->message : "?");
      *status = 500;
      g_clear_error(&gerr);
      return Start::BuildError;
    }
    GstElement* body = gst_parse_bin_from_description(output_body_description(o->spec).c_str(), FALSE, &gerr);
    if (!body) {
      *err = std::string("cannot build the output (missing GStreamer plugin?): ") + (gerr ? gerr->message : "?");
      *status = 500;
      g_clear_error(&gerr);
      gst_object_unref(gst_object_ref_sink(head));
      return Start::BuildError;
    }
    gst_object_set_name(GST_OBJECT(body), "body");
    a->bin = GST_ELEMENT(gst_object_ref_sink(dju_output_bin_new(name.c_str())));
    a->body = body;
    gst_bin_add_many(GST_BIN(a->bin), head, body, nullptr);
    GstPad* head_sink = gst_element_get_static_pad(head, "sink");
    gst_element_add_pad(a->bin, gst_ghost_pad_new("sink", head_sink));
    gst_object_unref(head_sink);

    GstElement* tap = gst_bin_get_by_name(GST_BIN(head), "tap");
    a->appsrc = gst_bin_get_by_name(GST_BIN(body), "src");
    GstAppSinkCallbacks cbs{};
    cbs.new_sample = on_tap_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(tap), &cbs, gst_object_ref(a->appsrc), gst_object_unref);
    gst_object_unref(tap);
    gst_object_unref(a->appsrc);  // borrowed from here on

    configure_body(o, body, a.get());
    auto* hs = new HookState{a, token_, g_main_context_ref(ctx_), body};
    dju_output_bin_set_hook(DJU_OUTPUT_BIN(a->bin), hook, hs,
                            [](gpointer d) { delete static_cast<HookState*>(d); });

    // Bring the bin to the pipeline's state before linking it to the tee (linked first, the tee
    // would meet a flushing pad and pause the whole master).
    gst_bin_add(GST_BIN(pipeline_), a->bin);
    a->started_us = g_get_monotonic_time();
    if (!gst_element_sync_state_with_parent(a->bin) || a->failed.load()) {
      std::string why = a->first_error();
      *err = o->spec.kind == OutputKind::Srt
                 ? "cannot listen on UDP port " + std::to_string(o->spec.port) + (why.empty() ? "" : ": " + why)
                 : (why.empty() ? std::string("the output did not start") : why);
      *status = o->spec.kind == OutputKind::Srt ? 409 : 500;
      a->finalized = true;
      gst_element_set_state(a->bin, GST_STATE_NULL);
      gst_bin_remove(GST_BIN(pipeline_), a->bin);
      return Start::StartError;
    }
    a->tee_pad = gst_element_request_pad_simple(tee_, "src_%u");
    GstPad* bin_sink = gst_element_get_static_pad(a->bin, "sink");
    GstPadLinkReturn lr = gst_pad_link(a->tee_pad, bin_sink);
    gst_object_unref(bin_sink);
    if (lr != GST_PAD_LINK_OK) {
      *err = std::string("cannot link the output to the master: ") + gst_pad_link_get_name(lr);
      *status = 500;
      a->finalized = false;
      force_finalize(a);
      return Start::BuildError;
    }
    o->current = a;
    o->status = "starting";
    refresh_overlays(true);
    return Start::Ok;
  }

  void send_eos(const std::shared_ptr<Attempt>& a) {
    if (a->appsrc && !a->failed.load()) gst_app_src_end_of_stream(GST_APP_SRC(a->appsrc));
  }

  // Unlinks the attempt from the tee once the tee pad is idle, then (graceful) sends EOS and
  // waits for it to drain, or (not graceful) drops the bin at once.
  void teardown(const std::shared_ptr<Attempt>& a, bool graceful) {
    if (a->tearing_down || a->finalized) return;
    a->tearing_down = true;
    retiring_.push_back(a);
    if (!a->tee_pad) {
      force_finalize(a);
      return;
    }
    struct ProbeData {
      std::shared_ptr<Attempt> attempt;
      std::weak_ptr<Token> token;
      GMainContext* ctx;
      bool graceful;
    };
    auto* pd = new ProbeData{a, token_, ctx_, graceful};
    a->probe_id = gst_pad_add_probe(
        a->tee_pad, GST_PAD_PROBE_TYPE_IDLE,
        [](GstPad* pad, GstPadProbeInfo*, gpointer data) -> GstPadProbeReturn {
          auto* p = static_cast<ProbeData*>(data);
          if (p->attempt->unlinked.exchange(true)) return GST_PAD_PROBE_REMOVE;
          GstPad* peer = gst_pad_get_peer(pad);
          if (peer) {
            gst_pad_unlink(pad, peer);
            gst_object_unref(peer);
          }
          auto a2 = p->attempt;
          std::weak_ptr<Token> weak = p->token;
          bool graceful2 = p->graceful;
          post_to(p->ctx, [weak, a2, graceful2]() {
            if (auto t = weak.lock()) t->impl->on_unlinked(a2, graceful2);
          });
          return GST_PAD_PROBE_REMOVE;
        },
        pd, [](gpointer data) { delete static_cast<ProbeData*>(data); });
  }

  std::string title_text() const {
    std::string name = overlay_.battle_name.empty() ? "DJ Universe" : overlay_.battle_name;
    std::string line;
    if (overlay_.state == "live") {
      double left = overlay_.remaining_s - (g_get_monotonic_time() - overlay_at_us_) / 1e6;
      line = "LIVE  " + format_clock(left);
    } else if (overlay_.state == "countdown") {
      line = "Starting soon";
    } else if (overlay_.state == "ended") {
      line = "Final result";
    } else {
      line = "Waiting for the DJs";
    }
    return markup_escape(name) + "\n" + line;
  }

  std::string scores_text() const {
    if (overlay_.dj_a.empty() && overlay_.dj_b.empty()) return "";
    return markup_escape(overlay_.dj_a.empty() ? "DJ A" : overlay_.dj_a) + "   " +
           format_score(overlay_.score_a) + " : " + format_score(overlay_.score_b) + "   " +
           markup_escape(overlay_.dj_b.empty() ? "DJ B" : overlay_.dj_b);
  }

  void refresh_overlays(bool force) {
    std::string title = title_text();
    std::string scores = scores_text();
    if (!force && title == last_title_ && scores == last_scores_) return;
    last_title_ = title;
    last_scores_ = scores;
    for (auto& o : outputs_) {
      if (!o->current) continue;
      auto& ov = o->current->overlays;
      if (ov.size() == 2) {
        g_object_set(ov[0], "text", title.c_str(), nullptr);
        g_object_set(ov[1], "text", scores.c_str(), nullptr);
      }
    }
  }

  GstPipeline* pipeline_;
  GstElement* tee_;
  std::string hls_root_;
  GMainContext* ctx_;
  std::shared_ptr<Token> token_;
  std::vector<std::unique_ptr<Output>> outputs_;
  std::vector<std::shared_ptr<Attempt>> retiring_;
  int next_number_ = 0;
  guint tick_source_ = 0;
  OverlayInfo overlay_;
  gint64 overlay_at_us_ = 0;
  std::string last_title_, last_scores_;
};

}  // namespace

std::unique_ptr<OutputManager> OutputManager::create(GstPipeline* pipeline, GstElement* master_tee,
                                                     const std::string& hls_root) {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(dju_outputs_debug, "djoutputs", 0, "DJ Universe broadcast outputs");
    g_once_init_leave(&once, 1);
  }
  g_return_val_if_fail(GST_IS_PIPELINE(pipeline), nullptr);
  g_return_val_if_fail(GST_IS_ELEMENT(master_tee), nullptr);
  return std::make_unique<OutputManagerImpl>(pipeline, master_tee, hls_root);
}

}  // namespace dju

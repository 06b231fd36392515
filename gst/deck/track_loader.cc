#include "deck/track_loader.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <atomic>
#include <chrono>

namespace dju {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// An error message from the decoder, put in words a DJ understands.
std::string describe_error(GstMessage* msg) {
  GError* err = nullptr;
  gchar* dbg = nullptr;
  gst_message_parse_error(msg, &err, &dbg);
  std::string reason = err ? err->message : "decoding failed";
  if (err && err->domain == GST_STREAM_ERROR &&
      (err->code == GST_STREAM_ERROR_TYPE_NOT_FOUND || err->code == GST_STREAM_ERROR_WRONG_TYPE))
    reason = std::string("not an audio file GStreamer can decode (") + err->message + ")";
  else if (err && err->domain == GST_CORE_ERROR && err->code == GST_CORE_ERROR_MISSING_PLUGIN)
    reason = std::string("no decoder for this format (") + err->message + ")";
  else if (dbg && g_strrstr(dbg, "not-linked"))
    reason = "no audio stream in the file";
  g_clear_error(&err);
  g_free(dbg);
  return reason;
}

std::string bus_error(GstBus* bus, const char* fallback) {
  GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (!msg) return fallback;
  std::string r = describe_error(msg);
  gst_message_unref(msg);
  return r;
}

// The decoder's output, appended to the track on the decoder's own streaming thread: pulling
// each buffer over to the loader thread instead cost a thread wake-up per buffer.
struct DecodeTarget {
  Track* track = nullptr;
  std::atomic<int64_t> last_progress_us{0};
};

GstFlowReturn on_decoded(GstAppSink* sink, gpointer user_data) {
  auto* target = static_cast<DecodeTarget*>(user_data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample);
  GstMapInfo map;
  if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
    target->track->append(reinterpret_cast<const int16_t*>(map.data), map.size / 4);
    gst_buffer_unmap(buf, &map);
  }
  gst_sample_unref(sample);
  target->last_progress_us = g_get_monotonic_time();
  return GST_FLOW_OK;
}

}  // namespace

std::string location_to_uri(const std::string& location) {
  if (location.empty()) return "";
  if (gst_uri_is_valid(location.c_str())) return location;
  GError* err = nullptr;
  gchar* uri = gst_filename_to_uri(location.c_str(), &err);
  g_clear_error(&err);
  std::string s = uri ? uri : "";
  g_free(uri);
  return s;
}

bool load_track(const std::string& location, LoadedTrack& out, std::string& error,
                const std::atomic<bool>* cancel, const AnalysisOptions& opts) {
  out = LoadedTrack{};
  out.location = location;
  if (location.empty()) {
    error = "empty location";
    return false;
  }
  out.uri = location_to_uri(location);
  if (out.uri.empty()) {
    error = "not a file path or URI";
    return false;
  }
  if (g_str_has_prefix(out.uri.c_str(), "file:")) {
    gchar* path = g_filename_from_uri(out.uri.c_str(), nullptr, nullptr);
    const bool exists = path && g_file_test(path, G_FILE_TEST_EXISTS);
    const bool regular = path && g_file_test(path, G_FILE_TEST_IS_REGULAR);
    g_free(path);
    if (!exists) {
      error = "no such file";
      return false;
    }
    if (!regular) {
      error = "not a regular file";
      return false;
    }
  }

  const auto t0 = Clock::now();
  GError* perr = nullptr;
  GstElement* pipe = gst_parse_launch(
      "uridecodebin name=dec ! audioconvert dithering=tpdf ! audioresample ! "
      "audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved ! "
      "appsink name=sink sync=false max-buffers=64 drop=false",
      &perr);
  if (!pipe) {
    error = std::string("cannot build the decoder: ") + (perr ? perr->message : "?");
    g_clear_error(&perr);
    return false;
  }
  g_clear_error(&perr);
  GstElement* dec = gst_bin_get_by_name(GST_BIN(pipe), "dec");
  g_object_set(dec, "uri", out.uri.c_str(), nullptr);
  gst_object_unref(dec);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  GstBus* bus = gst_element_get_bus(pipe);

  auto track = std::make_shared<Track>();
  DecodeTarget target;
  target.track = track.get();
  target.last_progress_us = g_get_monotonic_time();
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_decoded;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, &target, nullptr);
  bool ok = true;
  if (gst_element_set_state(pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    error = bus_error(bus, "the decoder refused to start");
    ok = false;
  }
  // The decoder's thread fills the track; this one waits for the end, an error, a cancel or a
  // stall (checked every 100 ms).
  while (ok) {
    if (cancel && cancel->load()) {
      error = "cancelled";
      ok = false;
      break;
    }
    GstMessage* m = gst_bus_timed_pop_filtered(bus, 100 * GST_MSECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (m) {
      const bool eos = GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
      if (!eos) {
        error = describe_error(m);
        ok = false;
      }
      gst_message_unref(m);
      break;
    }
    if (g_get_monotonic_time() - target.last_progress_us.load() > 20 * G_USEC_PER_SEC) {
      error = "decoder stalled (no audio for 20 s)";
      ok = false;
    }
  }
  // Stops the decoder's thread: after this nothing touches the track from there.
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  out.decode_s = seconds_since(t0);
  if (!ok) return false;
  if (track->frames() < 4800) {
    error = track->frames() == 0 ? "no audio in the file" : "shorter than 0.1 s";
    return false;
  }
  const auto t1 = Clock::now();
  AnalysisOptions aopts = opts;
  if (!aopts.cancel) aopts.cancel = cancel;
  out.analysis = analyse_track(*track, aopts);
  out.analyse_s = seconds_since(t1);
  if (cancel && cancel->load()) {
    error = "cancelled";
    return false;
  }
  out.track = std::move(track);
  return true;
}

// ---------------------------------------------------------------- TrackLoader

TrackLoader::TrackLoader(Callback cb) : cb_(std::move(cb)) { thread_ = std::thread([this] { run(); }); }

TrackLoader::~TrackLoader() {
  {
    std::lock_guard<std::mutex> lk(mutex_);
    quit_ = true;
    has_pending_ = false;
    cancel_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t TrackLoader::request(const std::string& location) {
  std::lock_guard<std::mutex> lk(mutex_);
  pending_ = location;
  has_pending_ = true;
  if (working_) cancel_ = true;
  cv_.notify_all();
  return ++ticket_;
}

void TrackLoader::cancel() {
  std::lock_guard<std::mutex> lk(mutex_);
  has_pending_ = false;
  if (working_) cancel_ = true;
  ++ticket_;
}

void TrackLoader::cancel_and_wait() {
  std::unique_lock<std::mutex> lk(mutex_);
  has_pending_ = false;
  if (working_) cancel_ = true;
  ++ticket_;
  if (std::this_thread::get_id() == thread_.get_id()) return;
  idle_cv_.wait(lk, [this] { return !working_ && !in_callback_; });
}

bool TrackLoader::busy() const {
  std::lock_guard<std::mutex> lk(mutex_);
  return working_ || has_pending_;
}

void TrackLoader::run() {
  std::unique_lock<std::mutex> lk(mutex_);
  for (;;) {
    cv_.wait(lk, [this] { return quit_ || has_pending_; });
    if (quit_) return;
    const std::string location = pending_;
    const uint64_t ticket = ticket_;
    has_pending_ = false;
    working_ = true;
    cancel_ = false;
    lk.unlock();
    LoadedTrack result;
    std::string error;
    AnalysisOptions opts;
    opts.cancel = &cancel_;
    const bool ok = load_track(location, result, error, &cancel_, opts);
    lk.lock();
    const bool current = ticket == ticket_ && !quit_;
    working_ = false;
    if (!current) {
      idle_cv_.notify_all();
      lk.unlock();
      result = LoadedTrack{};  // a superseded track can be big: free it off the lock
      lk.lock();
      continue;
    }
    in_callback_ = true;
    lk.unlock();
    cb_(ok, result, error, ticket);
    result = LoadedTrack{};  // the engine holds its own reference; free ours off the lock
    lk.lock();
    in_callback_ = false;
    idle_cv_.notify_all();
  }
}

}  // namespace dju

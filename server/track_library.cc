#include "track_library.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include "json_util.h"
#ifdef HAVE_TRACK_LOADER
#include "deck/track_loader.h"
#endif

namespace dju {

static const std::set<std::string> kAudioExtensions = {"flac", "wav", "mp3", "ogg", "opus", "m4a", "aac", "aiff", "aif"};
static constexpr size_t kWaveformSlices = 512;

std::string sanitize_id(const std::string& name) {
  std::string out;
  bool dash = false;
  for (char c : name) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) {
      out += l;
      dash = false;
    } else if (!out.empty() && !dash) {
      out += '-';
      dash = true;
    }
    if (out.size() >= 64) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

static std::string extension_of(const std::string& name) {
  auto dot = name.find_last_of('.');
  if (dot == std::string::npos) return "";
  std::string ext = name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

static std::string stem_of(const std::string& name) {
  auto slash = name.find_last_of('/');
  std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  auto dot = base.find_last_of('.');
  return dot == std::string::npos ? base : base.substr(0, dot);
}

JsonObject* TrackInfo::to_json(bool with_waveform) const {
  JsonObject* o = json_object_new();
  json_object_set_string_member(o, "id", id.c_str());
  json_object_set_string_member(o, "title", title.c_str());
  json_object_set_string_member(o, "artist", artist.c_str());
  json_object_set_string_member(o, "genre", genre.c_str());
  if (bpm) json_object_set_double_member(o, "bpm", *bpm); else json_object_set_null_member(o, "bpm");
  if (first_beat_s) json_object_set_double_member(o, "first_beat_s", *first_beat_s);
  if (!key.empty()) json_object_set_string_member(o, "key", key.c_str()); else json_object_set_null_member(o, "key");
  if (!camelot.empty()) json_object_set_string_member(o, "camelot", camelot.c_str());
  json_object_set_double_member(o, "duration_s", duration_s);
  if (with_waveform) {
    JsonArray* a = json_array_new();
    for (float w : waveform) json_array_add_double_element(a, std::round(w * 1000.0) / 1000.0);
    json_object_set_array_member(o, "waveform", a);
  }
  return o;
}

#ifdef HAVE_TRACK_LOADER
// The deck's own loader: the library shows exactly the BPM, key and grid the deck will use.
DecodeResult decode_and_analyse(const std::string& path) {
  DecodeResult r;
  LoadedTrack lt;
  std::string error;
  if (!load_track(path, lt, error)) {
    r.error = error.empty() ? "decoding failed" : error;
    return r;
  }
  if (lt.analysis.duration_s < 0.1) {
    r.error = "no audio decoded";
    return r;
  }
  r.ok = true;
  r.duration_s = lt.analysis.duration_s;
  if (lt.analysis.grid.valid()) {
    r.bpm = lt.analysis.grid.bpm;
    r.first_beat_s = lt.analysis.grid.first_beat / 48000.0;
  }
  r.key = lt.analysis.key.name;
  r.camelot = lt.analysis.key.camelot;
  const auto& points = lt.analysis.waveform;
  size_t slices = std::min(kWaveformSlices, points.size());
  r.waveform.assign(slices, 0.0f);
  for (size_t i = 0; i < points.size(); i++) {
    size_t j = i * slices / points.size();
    float v = std::max({points[i].low, points[i].mid, points[i].high}) / 255.0f;
    r.waveform[j] = std::max(r.waveform[j], v);
  }
  return r;
}
#else
DecodeResult decode_and_analyse(const std::string& path) {
  DecodeResult r;
  GError* err = nullptr;
  gchar* desc = g_strdup_printf(
      "filesrc name=src ! decodebin ! audioconvert ! audioresample ! "
      "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved ! appsink name=sink sync=false");
  GstElement* pipe = gst_parse_launch(desc, &err);
  g_free(desc);
  if (!pipe) {
    r.error = err ? err->message : "cannot build a decoder";
    if (err) g_error_free(err);
    return r;
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  g_object_set(src, "location", path.c_str(), nullptr);
  gst_object_unref(src);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  GstBus* bus = gst_element_get_bus(pipe);
  gst_element_set_state(pipe, GST_STATE_PLAYING);

  std::vector<float> peaks;  // per 0.1 s, reduced to kWaveformSlices at the end
  float slice_peak = 0.0f;
  uint64_t frames = 0, slice_frames = 0;
  bool done = false;
  while (!done) {
    GstMessage* m = gst_bus_pop_filtered(bus, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
    if (m) {
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        GError* e = nullptr;
        gst_message_parse_error(m, &e, nullptr);
        r.error = e ? e->message : "decoding failed";
        if (e) g_error_free(e);
        gst_message_unref(m);
        break;
      }
      gst_message_unref(m);
    }
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 100 * GST_MSECOND);
    if (!s) {
      if (gst_app_sink_is_eos(GST_APP_SINK(sink))) done = true;
      continue;
    }
    GstBuffer* b = gst_sample_get_buffer(s);
    GstMapInfo map;
    if (gst_buffer_map(b, &map, GST_MAP_READ)) {
      const float* f = reinterpret_cast<const float*>(map.data);
      size_t n = map.size / (2 * sizeof(float));
      for (size_t i = 0; i < n; i++) {
        float p = std::max(std::fabs(f[2 * i]), std::fabs(f[2 * i + 1]));
        slice_peak = std::max(slice_peak, p);
        if (++slice_frames == 4800) {
          peaks.push_back(slice_peak);
          slice_peak = 0.0f;
          slice_frames = 0;
        }
      }
      frames += n;
      gst_buffer_unmap(b, &map);
    }
    gst_sample_unref(s);
  }
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  if (!r.error.empty()) return r;
  if (frames < 4800) {  // less than 0.1 s of audio is not a track
    r.error = "no audio decoded";
    return r;
  }
  if (slice_frames) peaks.push_back(slice_peak);
  r.ok = true;
  r.duration_s = static_cast<double>(frames) / 48000.0;
  size_t slices = std::min(kWaveformSlices, peaks.size());
  r.waveform.assign(slices, 0.0f);
  for (size_t i = 0; i < peaks.size(); i++) {
    size_t j = i * slices / peaks.size();
    r.waveform[j] = std::max(r.waveform[j], std::min(1.0f, peaks[i]));
  }
  return r;
}
#endif

TrackLibrary::TrackLibrary(std::string tracks_dir, std::string data_dir, size_t max_upload_bytes)
    : tracks_dir_(std::move(tracks_dir)), data_dir_(std::move(data_dir)), max_upload_bytes_(max_upload_bytes) {
  cache_path_ = data_dir_ + "/track-analysis.json";
}

static std::string cache_key(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "";
  auto slash = path.find_last_of('/');
  return path.substr(slash + 1) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtime);
}

void TrackLibrary::load_cache() {
  gchar* text = nullptr;
  gsize len = 0;
  if (!g_file_get_contents(cache_path_.c_str(), &text, &len, nullptr)) return;
  std::string err;
  JsonNode* root = json_parse(text, static_cast<gssize>(len), &err);
  g_free(text);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    if (root) json_node_unref(root);
    return;
  }
  JsonObject* o = json_node_get_object(root);
  GList* members = json_object_get_members(o);
  for (GList* l = members; l; l = l->next) {
    const char* key = static_cast<const char*>(l->data);
    JsonObject* t = json_object_get_object_member(o, key);
    if (!t) continue;
    TrackInfo info;
    double d = 0;
    if (json_get_number(t, "duration_s", &d)) info.duration_s = d;
    if (json_get_number(t, "bpm", &d)) info.bpm = d;
    if (json_get_number(t, "first_beat_s", &d)) info.first_beat_s = d;
    json_get_string(t, "key", &info.key);
    json_get_string(t, "camelot", &info.camelot);
    if (json_object_has_member(t, "waveform")) {
      JsonArray* a = json_object_get_array_member(t, "waveform");
      for (guint i = 0; a && i < json_array_get_length(a); i++)
        info.waveform.push_back(static_cast<float>(json_array_get_double_element(a, i)));
    }
    cache_[key] = info;
  }
  g_list_free(members);
  json_node_unref(root);
}

void TrackLibrary::save_cache() const {
  JsonObject* o = json_object_new();
  for (const auto& [key, info] : cache_) json_object_set_object_member(o, key.c_str(), info.to_json(true));
  std::string text = json_object_to_string(o);
  json_object_unref(o);
  g_file_set_contents(cache_path_.c_str(), text.c_str(), static_cast<gssize>(text.size()), nullptr);
}

void TrackLibrary::scan() {
  tracks_.clear();
  load_cache();
  std::set<std::string> described;
  std::vector<Pending> to_analyse;
  // The demo manifest carries ground truth; trust it for the files it names.
  std::string manifest = tracks_dir_ + "/manifest.json";
  gchar* text = nullptr;
  gsize len = 0;
  if (g_file_get_contents(manifest.c_str(), &text, &len, nullptr)) {
    std::string err;
    JsonNode* root = json_parse(text, static_cast<gssize>(len), &err);
    g_free(text);
    if (root && JSON_NODE_HOLDS_OBJECT(root) && json_object_has_member(json_node_get_object(root), "tracks")) {
      JsonArray* arr = json_object_get_array_member(json_node_get_object(root), "tracks");
      for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
        JsonObject* t = json_array_get_object_element(arr, i);
        TrackInfo info;
        std::string file;
        if (!t || !json_get_string(t, "id", &info.id) || !json_get_string(t, "file", &file)) continue;
        if (sanitize_id(info.id) != info.id || file.find('/') != std::string::npos) continue;
        info.path = tracks_dir_ + "/" + file;
        if (!g_file_test(info.path.c_str(), G_FILE_TEST_IS_REGULAR)) continue;
        json_get_string(t, "title", &info.title);
        json_get_string(t, "artist", &info.artist);
        json_get_string(t, "genre", &info.genre);
        json_get_string(t, "key", &info.key);
        json_get_string(t, "camelot", &info.camelot);
        double d = 0;
        if (json_get_number(t, "bpm", &d)) info.bpm = d;
        if (json_get_number(t, "first_beat_s", &d)) info.first_beat_s = d;
        if (json_get_number(t, "duration_s", &d)) info.duration_s = d;
        // The manifest has no overview; take it from the cache or compute it in the background.
        auto c = cache_.find(cache_key(info.path));
        if (c != cache_.end()) info.waveform = c->second.waveform;
        else to_analyse.push_back({info.id, info.path, true});
        described.insert(file);
        tracks_[info.id] = info;
      }
    }
    if (root) json_node_unref(root);
  }
  GDir* dir = g_dir_open(tracks_dir_.c_str(), 0, nullptr);
  if (dir) {
    while (const char* name = g_dir_read_name(dir)) {
      std::string file = name;
      if (described.count(file) || !kAudioExtensions.count(extension_of(file))) continue;
      std::string path = tracks_dir_ + "/" + file;
      std::string id = sanitize_id(stem_of(file));
      if (id.empty() || tracks_.count(id)) continue;
      auto c = cache_.find(cache_key(path));
      if (c == cache_.end()) {
        to_analyse.push_back({id, path, false});
        continue;
      }
      TrackInfo info = c->second;
      info.id = id;
      info.path = path;
      info.title = stem_of(file);
      tracks_[id] = info;
    }
    g_dir_close(dir);
  }
  g_print("library: %zu tracks in %s, %zu to analyse\n", tracks_.size(), tracks_dir_.c_str(), to_analyse.size());
  if (!to_analyse.empty()) analyse_in_background(std::move(to_analyse));
}

namespace {
struct AnalysisJob {
  TrackLibrary* library;
  std::vector<TrackLibrary::Pending> items;
};
struct AnalysisDone {
  TrackLibrary* library;
  TrackLibrary::Pending item;
  DecodeResult result;
};
}  // namespace

void TrackLibrary::analyse_in_background(std::vector<Pending> items) {
  analysing_ += items.size();
  auto* job = new AnalysisJob{this, std::move(items)};
  GTask* task = g_task_new(nullptr, nullptr, nullptr, nullptr);
  g_task_set_task_data(task, job, [](gpointer p) { delete static_cast<AnalysisJob*>(p); });
  g_task_run_in_thread(task, [](GTask*, gpointer, gpointer data, GCancellable*) {
    auto* j = static_cast<AnalysisJob*>(data);
    for (const auto& item : j->items) {
      auto* d = new AnalysisDone{j->library, item, decode_and_analyse(item.path)};
      g_main_context_invoke_full(nullptr, G_PRIORITY_DEFAULT_IDLE, [](gpointer p) -> gboolean {
        auto* done = static_cast<AnalysisDone*>(p);
        done->library->analysed(done->item, done->result);
        return G_SOURCE_REMOVE;
      }, d, [](gpointer p) { delete static_cast<AnalysisDone*>(p); });
    }
  });
  g_object_unref(task);
}

void TrackLibrary::analysed(const Pending& item, const DecodeResult& r) {
  analysing_--;
  if (!r.ok) {
    g_printerr("library: skipping %s: %s\n", item.path.c_str(), r.error.c_str());
    return;
  }
  TrackInfo cached;
  cached.duration_s = r.duration_s;
  cached.waveform = r.waveform;
  cached.bpm = r.bpm;
  cached.first_beat_s = r.first_beat_s;
  cached.key = r.key;
  cached.camelot = r.camelot;
  cache_[cache_key(item.path)] = cached;
  if (item.from_manifest) {
    auto it = tracks_.find(item.id);
    if (it != tracks_.end()) it->second.waveform = r.waveform;
  } else if (!tracks_.count(item.id)) {
    TrackInfo info = cached;
    info.id = item.id;
    info.path = item.path;
    info.title = stem_of(item.path);
    tracks_[item.id] = info;
  }
  if (analysing_ == 0) {
    save_cache();
    g_print("library: analysis done, %zu tracks\n", tracks_.size());
  }
}

const TrackInfo* TrackLibrary::find(const std::string& id) const {
  auto it = tracks_.find(id);
  return it == tracks_.end() ? nullptr : &it->second;
}

JsonNode* TrackLibrary::list_json() const {
  JsonArray* a = json_array_new();
  for (const auto& [id, info] : tracks_) json_array_add_object_element(a, info.to_json(true));
  JsonNode* n = json_node_new(JSON_NODE_ARRAY);
  json_node_take_array(n, a);
  return n;
}

std::string TrackLibrary::unique_id(const std::string& hint) const {
  std::string base = sanitize_id(hint);
  if (base.empty()) base = "upload";
  std::string id = base;
  for (int i = 2; tracks_.count(id) || std::count(pending_ids_.begin(), pending_ids_.end(), id); i++)
    id = base + "-" + std::to_string(i);
  return id;
}

namespace {
struct UploadJob {
  TrackLibrary* library;
  std::string id, temp_path, final_path, title;
  std::function<void(int, JsonObject*)> done;
  DecodeResult result;
};
}  // namespace

void TrackLibrary::upload(const std::string& name_hint, std::string bytes,
                          std::function<void(int, JsonObject*)> done) {
  auto error = [&](int status, const char* code, const std::string& message) {
    JsonObject* o = json_object_new();
    json_object_set_string_member(o, "error", code);
    json_object_set_string_member(o, "message", message.c_str());
    done(status, o);
  };
  if (bytes.empty()) return error(400, "bad-request", "the request body is empty; send the audio file as the body");
  if (bytes.size() > max_upload_bytes_)
    return error(413, "too-large", "uploads are limited to " + std::to_string(max_upload_bytes_ / (1024 * 1024)) + " MiB");
  std::string ext = extension_of(name_hint);
  if (!kAudioExtensions.count(ext)) ext = "audio";
  std::string id = unique_id(stem_of(name_hint));
  std::string uploads = data_dir_ + "/uploads";
  g_mkdir_with_parents(uploads.c_str(), 0755);
  auto* job = new UploadJob{this, id, uploads + "/" + id + ".part", tracks_dir_ + "/" + id + "." + ext,
                            stem_of(name_hint).empty() ? id : stem_of(name_hint), std::move(done), {}};
  if (!g_file_set_contents(job->temp_path.c_str(), bytes.data(), static_cast<gssize>(bytes.size()), nullptr)) {
    auto d = std::move(job->done);
    delete job;
    done = d;
    return error(500, "internal", "cannot store the upload");
  }
  pending_ids_.push_back(id);
  GTask* task = g_task_new(nullptr, nullptr, [](GObject*, GAsyncResult* res, gpointer) {
    auto* j = static_cast<UploadJob*>(g_task_get_task_data(G_TASK(res)));
    TrackLibrary* lib = j->library;
    lib->pending_ids_.erase(std::remove(lib->pending_ids_.begin(), lib->pending_ids_.end(), j->id), lib->pending_ids_.end());
    JsonObject* o = json_object_new();
    if (!j->result.ok) {
      g_unlink(j->temp_path.c_str());
      json_object_set_string_member(o, "error", "not-audio");
      std::string msg = "the file does not decode as audio: " + j->result.error;
      json_object_set_string_member(o, "message", msg.c_str());
      g_print("library: refused upload %s: %s\n", j->id.c_str(), j->result.error.c_str());
      j->done(415, o);
      return;
    }
    if (g_rename(j->temp_path.c_str(), j->final_path.c_str()) != 0) {
      g_unlink(j->temp_path.c_str());
      json_object_set_string_member(o, "error", "internal");
      json_object_set_string_member(o, "message", "cannot move the upload into the library");
      j->done(500, o);
      return;
    }
    TrackInfo info;
    info.id = j->id;
    info.path = j->final_path;
    info.title = j->title;
    info.duration_s = j->result.duration_s;
    info.waveform = j->result.waveform;
    info.bpm = j->result.bpm;
    info.first_beat_s = j->result.first_beat_s;
    info.key = j->result.key;
    info.camelot = j->result.camelot;
    TrackInfo cached = info;
    lib->cache_[cache_key(info.path)] = cached;
    lib->save_cache();
    lib->tracks_[info.id] = info;
    g_print("library: added upload %s (%.1f s)\n", info.id.c_str(), info.duration_s);
    json_object_unref(o);
    j->done(201, info.to_json(true));
  }, nullptr);
  g_task_set_task_data(task, job, [](gpointer p) { delete static_cast<UploadJob*>(p); });
  g_task_run_in_thread(task, [](GTask*, gpointer, gpointer data, GCancellable*) {
    auto* j = static_cast<UploadJob*>(data);
    j->result = decode_and_analyse(j->temp_path);
  });
  g_object_unref(task);
}

}  // namespace dju

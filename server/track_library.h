// The track library: every audio file in the tracks folder with its analysis (BPM, key, duration,
// waveform overview). The demo library's manifest gives ground-truth analysis; other files are
// decoded once and the result is cached in the data folder. Uploads are written aside, decoded
// in full off the main context, and only enter the library if they decode as audio.
#pragma once

#include <json-glib/json-glib.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dju {

struct TrackInfo {
  std::string id;
  std::string path;  // absolute
  std::string title, artist, genre, key, camelot;
  std::optional<double> bpm, first_beat_s;
  double duration_s = 0.0;
  std::vector<float> waveform;  // peak per slice, 0..1

  JsonObject* to_json(bool with_waveform) const;
};

// Result of decoding a file completely: duration and a waveform overview, or why it failed.
struct DecodeResult {
  bool ok = false;
  std::string error;
  double duration_s = 0.0;
  std::vector<float> waveform;
  std::optional<double> bpm, first_beat_s;
  std::string key, camelot;
};
// Blocking; call from a worker thread.
DecodeResult decode_and_analyse(const std::string& path);

class TrackLibrary {
 public:
  TrackLibrary(std::string tracks_dir, std::string data_dir, size_t max_upload_bytes);

  // Reads the folder (manifest first, then other audio files, analysing uncached ones).
  void scan();

  const TrackInfo* find(const std::string& id) const;
  JsonNode* list_json() const;
  size_t max_upload_bytes() const { return max_upload_bytes_; }
  const std::string& dir() const { return tracks_dir_; }

  struct Pending {
    std::string id, path;
    bool from_manifest;
  };
  void analysed(const Pending& item, const DecodeResult& result);
  bool analysing() const { return analysing_ > 0; }

  // Validates and adds an upload. done(http_status, body) is called on the main context.
  void upload(const std::string& name_hint, std::string bytes,
              std::function<void(int status, JsonObject* body)> done);

 private:
  void analyse_in_background(std::vector<Pending> items);
  void load_cache();
  void save_cache() const;
  std::string unique_id(const std::string& hint) const;

  std::string tracks_dir_, data_dir_, cache_path_;
  size_t max_upload_bytes_;
  std::map<std::string, TrackInfo> tracks_;
  std::map<std::string, TrackInfo> cache_;  // by file name, with size+mtime in the key
  std::vector<std::string> pending_ids_;     // uploads being validated
  size_t analysing_ = 0;
};

// Lowercase letters, digits and '-' only, at most 64 characters; "" if nothing is left.
std::string sanitize_id(const std::string& name);

}  // namespace dju

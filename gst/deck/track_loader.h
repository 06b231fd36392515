// Loading a track for a deck (or the server's track library): decode any file GStreamer reads to
// 48 kHz stereo, keep it in memory (dju::Track) and analyse it (dju::TrackAnalysis).
//
// load_track() blocks; call it from a worker thread. TrackLoader owns such a worker: request()
// returns at once and the callback runs on the worker when the load (or its failure) is done.
// A newer request supersedes an older one still waiting; one being decoded is cancelled.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "deck/analysis.h"
#include "deck/track.h"

namespace dju {

struct LoadedTrack {
  std::string location;  // as asked for
  std::string uri;       // as decoded
  TrackPtr track;
  TrackAnalysis analysis;
  double decode_s = 0.0;    // wall time spent decoding
  double analyse_s = 0.0;   // wall time spent analysing
};

// A file path (relative or absolute) or a URI → a URI GStreamer can open. Empty on failure.
std::string location_to_uri(const std::string& location);

// Decodes and analyses. Returns false and a readable reason ("no such file", "not an audio file:
// …", the decoder's own message …) on failure. `cancel` may abort it early.
bool load_track(const std::string& location, LoadedTrack& out, std::string& error,
                const std::atomic<bool>* cancel = nullptr, const AnalysisOptions& opts = {});

class TrackLoader {
 public:
  // ok = false: `error` says why; `result` holds the location only.
  using Callback = std::function<void(bool ok, LoadedTrack& result, const std::string& error, uint64_t ticket)>;

  explicit TrackLoader(Callback cb);
  ~TrackLoader();  // cancels and joins
  TrackLoader(const TrackLoader&) = delete;
  TrackLoader& operator=(const TrackLoader&) = delete;

  // Queues a load; returns its ticket (increasing). Supersedes any earlier request.
  uint64_t request(const std::string& location);
  // Drops a waiting request and cancels one in progress (its callback does not run).
  void cancel();
  // cancel(), then waits until no callback is running: once it returns the callback will not
  // run again until the next request(). For an owner going away (dispose, shutdown). Called
  // from within the callback itself it does not wait (that would deadlock).
  void cancel_and_wait();
  bool busy() const;

 private:
  void run();
  Callback cb_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;  // signalled when a load or its callback ends
  std::string pending_;
  bool has_pending_ = false;
  bool working_ = false;
  bool in_callback_ = false;
  bool quit_ = false;
  uint64_t ticket_ = 0;
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

}  // namespace dju

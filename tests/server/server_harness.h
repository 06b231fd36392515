// Test harness for the server suite: the real djuniverse-server process on a free port, HTTP and
// WebSocket clients (libsoup), and a real WebRTC receiver (webrtcbin) that decodes what it hears.
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dju_test {

double wall_ms();
// Runs the default main context until pred() or timeout; returns pred().
bool wait_until(const std::function<bool()>& pred, double timeout_s);
void spin(double seconds);

// A folder under the build's tests/artifacts, emptied first.
std::string fresh_dir(const std::string& name);

// Writes a 48 kHz stereo 16-bit WAV: a tone at `freq` whose level pulses on every beat at `bpm`
// (a decaying envelope, so beat trackers see beats and spectra see one clear peak).
void write_tone_track(const std::string& path, double freq, double bpm, double seconds);

class ServerProcess {
 public:
  ServerProcess(std::string data_dir, std::string tracks_dir, std::vector<std::string> extra_args = {});
  ~ServerProcess();
  bool start(double timeout_s = 20);
  // Sends a signal and waits for the exit; returns the exit status (or -signal).
  int stop(int signal_number = SIGTERM, double timeout_s = 15);
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  std::string log() const;

 private:
  std::string data_, tracks_, log_path_;
  std::vector<std::string> extra_;
  GSubprocess* proc_ = nullptr;
  int port_ = 0;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  JsonNode* json() const;  // parsed body (caller unrefs) or nullptr
};
HttpResponse http(const std::string& method, const std::string& url, const std::string& body = "",
                  const std::vector<std::pair<std::string, std::string>>& headers = {});

// JSON helpers for tests.
JsonObject* parse_object(const std::string& text);  // caller unrefs; nullptr if not an object
std::string str_member(JsonObject* o, const char* name);
std::string to_json(JsonObject* o);  // does not consume

class WsClient {
 public:
  explicit WsClient(const std::string& url);
  ~WsClient();
  bool connected() const { return conn_ != nullptr; }
  bool open() const;
  void send(const std::string& text);
  void send_obj(JsonObject* o);  // consumes
  void close();
  // Waits for the next message (in arrival order, from the first not yet taken) of that type.
  JsonObject* wait_for(const std::string& type, double timeout_s = 5);  // caller unrefs
  // Waits for an error reply; returns its code or "" on timeout.
  std::string wait_error(double timeout_s = 3);
  // Every message seen (not consumed by wait_for), for assertions on counts.
  size_t count(const std::string& type);
  std::function<void(JsonObject*)> on_message;  // called for each message (not consumed)
  bool closed_by_server() const { return closed_; }

 private:
  SoupSession* session_ = nullptr;
  SoupWebsocketConnection* conn_ = nullptr;
  std::deque<JsonObject*> inbox_;
  std::vector<std::string> all_types_;
  bool closed_ = false;
};

// A WebRTC receiver: answers the server's offer, decodes every audio track to F32 48 kHz stereo.
class Receiver {
 public:
  // loopback_only: ICE on 127.0.0.1 only (to meet a server started with --ice-loopback).
  explicit Receiver(WsClient* ws, bool loopback_only = false);
  ~Receiver();
  // Track 0 = the first m-line (master), 1 = the second (cue).
  size_t frames(int track);
  double first_audio_ms(int track);  // wall time of the first decoded buffer (0 if none)
  // Over the last window: RMS in dBFS, and the magnitude (dB) at one frequency (Goertzel).
  double rms_db(int track, double window_s = 0.5);
  double tone_db(int track, double freq, double window_s = 0.5);
  // The quietest block (RMS dB) over the last window: a dropout or glitch shows as a dip.
  double min_block_db(int track, double window_s, double block_s = 0.01);
  // The median of the blocks' RMS (dB) over the last window: what most of it sounds like.
  double median_block_db(int track, double window_s, double block_s);
  // For failure messages: the loudest sample of the window, how long ago it was, and the RMS of each 50 ms block.
  std::string describe(int track, double window_s);
  // Blocks over the last window quieter than threshold_db: how many, and the longest run of them.
  struct Dropouts {
    int blocks = 0, quiet = 0, longest_quiet = 0;
  };
  Dropouts dropouts(int track, double window_s, double threshold_db, double block_s = 0.01);
  bool connected() const { return connected_; }
  int tracks() const;

 private:
  struct Track {
    std::mutex m;
    std::vector<float> mono;  // last ~4 s
    size_t total = 0;
    double first_ms = 0;
  };
  void on_offer(const std::string& sdp);
  void on_pad(GstPad* pad);
  std::vector<float> last(int track, double window_s);

  WsClient* ws_;
  GstElement* pipe_ = nullptr;
  GstElement* webrtc_ = nullptr;
  Track tracks_[2];
  bool connected_ = false;
};

}  // namespace dju_test

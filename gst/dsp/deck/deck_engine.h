// The deck's playback engine: a CDJ-like transport over a track held in memory.
//
// Pure C++ (no GLib). One control side (any thread: properties, actions) and one audio side
// (render(), the streaming thread). Both take one mutex, but the audio side holds it only for one
// block of a few hundred frames and the control side only for a few assignments, so neither waits
// long; nothing allocates on the audio side (SoundTouch instances and scratch buffers are created
// up front). SoundTouch is not thread-safe: only render() touches it, under the mutex.
//
// Positions are in track frames (48 kHz), as doubles: the playhead moves by `rate` frames per
// output frame, so position, loops and cue points are exact to the sample whatever the tempo.
//
// Keylock (and key shift) runs the audio through SoundTouch. Its output lags its input; the engine
// compensates: the reported position is the position of the frame being *heard* (what comes out of
// SoundTouch now), not the one being fed, and a jump restarts a SoundTouch instance primed at the
// target so the first frame out is the target. Mixxx reports the fed position instead (its issue
// #11125), which puts cue points and beat phase off by the stretcher's delay.
//
// Every discontinuity (jump, loop seam, play/pause, switching keylock) is a crossfade of a few ms
// between the old voice (which keeps playing past the seam) and the new one, so nothing clicks.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "deck/beat_grid.h"
#include "deck/track.h"

namespace soundtouch {
class SoundTouch;
}

namespace dju {

constexpr int kHotcues = 8;

// What a UI (and a syncing deck) needs to know; copied out under the lock.
struct DeckSnapshot {
  bool loaded = false;
  bool playing = false;
  double position = 0.0;   // frames, the frame being heard
  double frames = 0.0;     // track length
  double rate = 1.0;       // momentary playback rate (tempo + nudge/jog, or scratch velocity)
  double tempo = 1.0;      // the tempo setting
  bool keylock = false;
  double key_shift = 0.0;
  bool scratching = false;
  BeatGrid grid;
  double cue = 0.0;
  std::array<double, kHotcues> hotcues{};  // < 0 = unset
  bool loop_active = false;
  bool loop_defined = false;
  double loop_start = 0.0;
  double loop_end = 0.0;
  bool quantize = false;
  bool sync_engaged = false;  // following a leader (tempo and beat phase)
  // Output timeline: `position` holds at output frame `time` (frames of running time).
  int64_t time = 0;
};

class DeckEngine {
 public:
  static constexpr size_t kMaxBlock = 1024;     // render() splits larger requests
  static constexpr int kCrossfadeFrames = 240;  // 5 ms seams
  static constexpr int kRampFrames = 480;       // 10 ms rate/pitch ramps

  DeckEngine();
  ~DeckEngine();
  DeckEngine(const DeckEngine&) = delete;
  DeckEngine& operator=(const DeckEngine&) = delete;

  // ---- control side (any thread) ----
  // Installs a track (stops the deck, resets cue/hotcues/loop). Returns the previous track so the
  // caller frees it outside the lock.
  TrackPtr set_track(TrackPtr track, const BeatGrid& grid);
  TrackPtr unload() { return set_track(nullptr, BeatGrid{}); }
  void set_playing(bool playing);
  void set_tempo(double tempo);
  void set_keylock(bool on);
  void set_key_shift(double semitones);
  void set_quantize(bool on);
  void seek(double frames);
  void set_grid(const BeatGrid& grid);

  // The contract's actions (see gstdjdeck.cc). Return false (and change nothing) for a bad index,
  // an unusable value or an action that needs something missing (e.g. a loop without a track).
  bool cue(bool pressed);
  bool hotcue(int index);  // jump, or set if empty
  bool hotcue_set(int index);
  bool hotcue_clear(int index);
  bool loop_in();
  bool loop_out();
  bool loop_exit();
  bool reloop();
  bool beatloop(double beats);
  bool loop_halve();
  bool loop_double();
  bool beatjump(double beats);
  bool nudge(double rate_offset);
  bool jog(double velocity);
  bool scratch(bool on);
  // Match tempo and beat phase to a leader's snapshot; applied at the start of the next block,
  // extrapolating the leader to that block's time. Engages sync: from then on follow() keeps this
  // deck on the leader (its later tempo changes, its beat phase) until sync_off(), a tempo change
  // on this deck (set_tempo) or a new track.
  bool sync_to(const DeckSnapshot& leader);
  // The leader's latest snapshot, while sync is engaged (call before each render()): this deck
  // takes the leader's tempo (× the half/double-time factor chosen at sync) and holds the beat
  // phase with a small rate correction (a phase-locked loop, ≤ 2 % of rate, τ ≈ 50 ms); a
  // phase error beyond a tenth of a beat (the leader jumped) is corrected by a jump. Paused
  // (either deck), nudged, jogged or scratched: only the tempo follows. Known limit: with keylock,
  // right after a leader's tempo change the heard beat is off by up to ~3 ms for a few seconds
  // (the stretcher's delay compensation lags the change); varispeed stays within 1.5 ms.
  void follow(const DeckSnapshot& leader);
  void sync_off();
  bool sync_engaged() const;

  DeckSnapshot snapshot() const;

  // ---- audio side ----
  // Renders n interleaved stereo frames; `time` is the output frame (running time) of the first.
  void render(float* out, size_t n, int64_t time);

 private:
  enum class VoiceKind { Silent, Vari, Stretch };
  struct Voice {
    VoiceKind kind = VoiceKind::Silent;
    double pos = 0.0;   // heard position
    int st = -1;        // SoundTouch instance (Stretch)
    double feed = 0.0;  // next frame to feed SoundTouch (Stretch)
    double base = 0.0;  // Stretch: feed origin + frames consumed at the tempo so far
    double st_tempo = 0.0, st_pitch = 0.0;
    bool aa = false;    // Stretch: SoundTouch's anti-alias filter on (a key shift resamples)
  };

  // All below: mutex held.
  void render_block(float* out, size_t n);
  void render_voice(Voice& v, float* out, size_t n, const double* rates, double block_rate);
  void render_stretch(Voice& v, float* out, size_t n, double tempo);
  Voice make_voice(double pos, bool sounding);
  void jump(double pos);               // crossfaded
  void start_voice(bool sounding);     // play/pause/mode switch: crossfade to a fresh voice
  void release_voice(Voice& v);
  bool want_stretch() const;
  bool want_aa_filter() const;
  double rate_target() const;
  double quantized(double pos) const;
  double phase_kept(double target) const;  // quantize: keep the beat phase through a jump
  void apply_sync(int64_t time);
  void update_rate_ramp();
  void stop_at(double pos);
  bool valid_hotcue(int index) const { return index >= 1 && index <= kHotcues; }

  mutable std::mutex mutex_;
  TrackPtr track_;
  BeatGrid grid_;
  bool playing_ = false;
  double tempo_ = 1.0;
  bool keylock_ = false;
  double key_shift_ = 0.0;
  bool quantize_ = false;
  double nudge_ = 0.0;
  double jog_ = 0.0;
  bool scratching_ = false;
  bool cue_preview_ = false;
  double cue_ = 0.0;
  std::array<double, kHotcues> hotcues_{};
  bool loop_active_ = false;
  bool loop_defined_ = false;
  double loop_start_ = 0.0, loop_end_ = 0.0;
  bool loop_in_set_ = false;

  // Momentary rate: a linear ramp towards rate_target().
  double rate_ = 1.0;
  double rate_aim_ = 1.0;
  double rate_step_ = 0.0;
  int rate_left_ = 0;
  double pitch_ = 1.0;  // key shift ratio, ramped per block

  Voice cur_, old_;
  int xfade_left_ = 0;

  bool sync_pending_ = false;
  DeckSnapshot sync_leader_;
  bool sync_engaged_ = false;
  bool follow_pending_ = false;
  double sync_mult_ = 1.0;    // leader beats per follower beat (0.5, 1, 2)
  double sync_adjust_ = 0.0;  // phase-lock rate correction
  void follow_leader(int64_t time);

  int64_t time_ = 0;  // output frame after the last rendered one

  std::unique_ptr<soundtouch::SoundTouch> st_[2];
  std::vector<float> scratch_a_, scratch_b_, feed_buf_;
  std::vector<double> rates_;
};

}  // namespace dju

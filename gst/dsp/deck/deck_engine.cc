#include "deck/deck_engine.h"

#include <soundtouch/SoundTouch.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dju {

namespace {

constexpr size_t kFeedChunk = 256;

// 4-point cubic Hermite: smooth enough for varispeed and scratching, cheap enough per sample.
inline float hermite(float ym1, float y0, float y1, float y2, float t) {
  const float c1 = 0.5f * (y1 - ym1);
  const float c2 = ym1 - 2.5f * y0 + 2.0f * y1 - 0.5f * y2;
  const float c3 = 0.5f * (y2 - ym1) + 1.5f * (y0 - y1);
  return ((c3 * t + c2) * t + c1) * t + y0;
}

inline void read_interp(const Track& t, double pos, float& l, float& r) {
  const double fl = std::floor(pos);
  const ptrdiff_t i = static_cast<ptrdiff_t>(fl);
  const float f = static_cast<float>(pos - fl);
  if (f == 0.0f) {
    t.frame(i, l, r);
    return;
  }
  float a[4][2];
  for (int k = 0; k < 4; ++k) t.frame(i - 1 + k, a[k][0], a[k][1]);
  l = hermite(a[0][0], a[1][0], a[2][0], a[3][0], f);
  r = hermite(a[0][1], a[1][1], a[2][1], a[3][1], f);
}

// Where SoundTouch's output sits in its input, on average: output frame j plays input frame
// j·tempo + stretch_offset(tau), tau being the time-stretch factor (tempo / pitch ratio).
// WSOLA copies each 40 ms sequence at rate 1 and skips ahead between sequences, so a frame's
// place inside its sequence shifts it by up to ±(tau−1)·20 ms around this mean. Measured with the
// settings below on click tracks (tests/deck: KeylockPositionIsWhatIsHeard); 0 at tau = 1.
inline double stretch_offset(double tau) { return (-1332.0 + 139.0 * tau) * (tau - 1.0); }

}  // namespace

DeckEngine::DeckEngine() {
  hotcues_.fill(-1.0);
  for (auto& st : st_) {
    st = std::make_unique<soundtouch::SoundTouch>();
    st->setSampleRate(48000);
    st->setChannels(2);
    // Shorter seek window than the default: less wander of the beat phase (WSOLA picks each
    // sequence's offset within this window), at a slight cost in smoothness on dense material.
    st->setSetting(SETTING_SEEKWINDOW_MS, 12);
    st->setSetting(SETTING_SEQUENCE_MS, 40);
    st->setSetting(SETTING_OVERLAP_MS, 8);
    // The overlap search on a coarse grid first (SoundTouch's "quick seek"): about a third of the
    // stretcher's CPU for a difference heard only on sustained, dense pads.
    st->setSetting(SETTING_USE_QUICKSEEK, 1);
  }
  scratch_a_.assign(kMaxBlock * 2, 0.0f);
  scratch_b_.assign(kMaxBlock * 2, 0.0f);
  feed_buf_.assign(kFeedChunk * 2, 0.0f);
  rates_.assign(kMaxBlock, 1.0);
}

DeckEngine::~DeckEngine() = default;

// ---------------------------------------------------------------- control side

TrackPtr DeckEngine::set_track(TrackPtr track, const BeatGrid& grid) {
  std::lock_guard<std::mutex> lk(mutex_);
  TrackPtr old = std::move(track_);
  track_ = std::move(track);
  grid_ = grid;
  playing_ = false;
  cue_preview_ = false;
  scratching_ = false;
  nudge_ = jog_ = 0.0;
  cue_ = grid_.valid() ? std::max(0.0, grid_.first_beat) : 0.0;
  hotcues_.fill(-1.0);
  loop_active_ = loop_defined_ = loop_in_set_ = false;
  loop_start_ = loop_end_ = 0.0;
  release_voice(old_);
  release_voice(cur_);
  xfade_left_ = 0;
  cur_ = Voice{};
  cur_.pos = cue_;
  old_ = Voice{};
  sync_pending_ = false;
  sync_engaged_ = follow_pending_ = false;
  sync_adjust_ = 0.0;
  return old;
}

void DeckEngine::set_grid(const BeatGrid& grid) {
  std::lock_guard<std::mutex> lk(mutex_);
  grid_ = grid;
}

void DeckEngine::set_playing(bool playing) {
  std::lock_guard<std::mutex> lk(mutex_);
  cue_preview_ = false;
  if (!track_ || playing == playing_) return;
  playing_ = playing;
  if (!scratching_) start_voice(playing);
}

void DeckEngine::set_tempo(double tempo) {
  std::lock_guard<std::mutex> lk(mutex_);
  tempo_ = std::clamp(tempo, 0.5, 2.0);
  sync_engaged_ = follow_pending_ = sync_pending_ = false;  // the DJ took the tempo back
  sync_adjust_ = 0.0;
  update_rate_ramp();
}

void DeckEngine::set_keylock(bool on) {
  std::lock_guard<std::mutex> lk(mutex_);
  keylock_ = on;  // render() switches voices at the next block
}

void DeckEngine::set_key_shift(double semitones) {
  std::lock_guard<std::mutex> lk(mutex_);
  key_shift_ = std::clamp(semitones, -12.0, 12.0);
}

void DeckEngine::set_quantize(bool on) {
  std::lock_guard<std::mutex> lk(mutex_);
  quantize_ = on;
}

void DeckEngine::seek(double frames) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!track_) return;
  jump(std::clamp(frames, 0.0, static_cast<double>(track_->frames())));
}

bool DeckEngine::cue(bool pressed) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!track_) return false;
  if (pressed) {
    if (playing_ && !cue_preview_) {
      // CDJ: playing → back to the cue point and stop.
      playing_ = false;
      release_voice(old_);
      old_ = cur_;
      cur_ = make_voice(cue_, false);
      xfade_left_ = old_.kind == VoiceKind::Silent ? 0 : kCrossfadeFrames;
    } else if (!playing_) {
      // CDJ: paused → the playhead becomes the cue point; holding previews from it.
      if (std::fabs(cur_.pos - cue_) > 0.5) cue_ = quantized(cur_.pos);
      cur_.pos = cue_;
      playing_ = true;
      cue_preview_ = true;
      start_voice(true);
    }
    return true;
  }
  if (cue_preview_) {
    cue_preview_ = false;
    playing_ = false;
    release_voice(old_);
    old_ = cur_;
    cur_ = make_voice(cue_, false);
    xfade_left_ = old_.kind == VoiceKind::Silent ? 0 : kCrossfadeFrames;
  }
  return true;
}

bool DeckEngine::hotcue(int index) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!valid_hotcue(index) || !track_) return false;
  double& h = hotcues_[index - 1];
  if (h < 0.0) {
    h = quantized(cur_.pos);
    return true;
  }
  jump(phase_kept(h));
  return true;
}

bool DeckEngine::hotcue_set(int index) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!valid_hotcue(index) || !track_) return false;
  hotcues_[index - 1] = quantized(cur_.pos);
  return true;
}

bool DeckEngine::hotcue_clear(int index) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!valid_hotcue(index)) return false;
  hotcues_[index - 1] = -1.0;
  return true;
}

bool DeckEngine::loop_in() {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!track_) return false;
  loop_start_ = quantized(cur_.pos);
  loop_in_set_ = true;
  if (loop_end_ <= loop_start_) {
    loop_active_ = false;
    loop_defined_ = false;
  }
  return true;
}

bool DeckEngine::loop_out() {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!track_ || !(loop_in_set_ || loop_defined_)) return false;
  const double end = quantized(cur_.pos);
  if (end <= loop_start_ + 64.0) return false;  // shorter than ~1.3 ms: not a loop
  loop_end_ = end;
  loop_defined_ = loop_active_ = true;
  if (cur_.pos >= loop_end_) jump(loop_start_ + std::fmod(cur_.pos - loop_start_, loop_end_ - loop_start_));
  return true;
}

bool DeckEngine::loop_exit() {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!loop_defined_) return false;
  loop_active_ = false;
  return true;
}

bool DeckEngine::reloop() {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!track_ || !loop_defined_) return false;
  loop_active_ = true;
  jump(loop_start_);
  return true;
}

bool DeckEngine::beatloop(double beats) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!track_ || !grid_.valid() || !(beats >= 1.0 / 32.0 && beats <= 64.0)) return false;
  const double len = beats * grid_.period();
  // With quantize the loop starts on the nearest beat; without, exactly here.
  const double start = quantized(cur_.pos);
  loop_start_ = start;
  loop_end_ = start + len;
  loop_in_set_ = loop_defined_ = loop_active_ = true;
  if (cur_.pos >= loop_end_) jump(loop_start_ + std::fmod(cur_.pos - loop_start_, len));
  return true;
}

bool DeckEngine::loop_halve() {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!loop_defined_) return false;
  const double len = (loop_end_ - loop_start_) / 2.0;
  if (len < 64.0) return false;
  loop_end_ = loop_start_ + len;
  if (loop_active_ && cur_.pos >= loop_end_ && cur_.pos < loop_start_ + 2 * len)
    jump(loop_start_ + std::fmod(cur_.pos - loop_start_, len));
  return true;
}

bool DeckEngine::loop_double() {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!loop_defined_ || !track_) return false;
  const double len = (loop_end_ - loop_start_) * 2.0;
  if (len > 64.0 * 48000.0) return false;
  loop_end_ = loop_start_ + len;
  return true;
}

bool DeckEngine::beatjump(double beats) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!track_ || !grid_.valid() || beats == 0.0 || !(std::fabs(beats) <= 512.0)) return false;
  const double delta = beats * grid_.period();
  if (loop_active_) {  // the loop travels with the playhead, as in Mixxx and Rekordbox
    loop_start_ += delta;
    loop_end_ += delta;
  }
  jump(std::clamp(cur_.pos + delta, 0.0, static_cast<double>(track_->frames())));
  return true;
}

bool DeckEngine::nudge(double rate_offset) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!(std::fabs(rate_offset) <= 1.0)) return false;
  nudge_ = rate_offset;
  update_rate_ramp();
  return true;
}

bool DeckEngine::jog(double velocity) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!(std::fabs(velocity) <= 16.0)) return false;
  jog_ = velocity;
  update_rate_ramp();
  return true;
}

bool DeckEngine::scratch(bool on) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!track_) return false;
  if (on == scratching_) return true;
  scratching_ = on;
  jog_ = 0.0;  // hand on: the platter stops until it is moved; hand off: back to the tempo
  update_rate_ramp();
  if (!playing_) start_voice(on);  // a paused deck sounds while scratched, like vinyl
  return true;
}

bool DeckEngine::sync_to(const DeckSnapshot& leader) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!track_ || !grid_.valid() || !leader.grid.valid()) return false;
  sync_leader_ = leader;
  sync_pending_ = true;
  sync_engaged_ = true;
  follow_pending_ = false;
  return true;
}

void DeckEngine::follow(const DeckSnapshot& leader) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (!sync_engaged_ || sync_pending_ || !leader.loaded || !leader.grid.valid()) return;
  sync_leader_ = leader;
  follow_pending_ = true;
}

void DeckEngine::sync_off() {
  std::lock_guard<std::mutex> lk(mutex_);
  sync_engaged_ = follow_pending_ = sync_pending_ = false;
  sync_adjust_ = 0.0;
  update_rate_ramp();
}

bool DeckEngine::sync_engaged() const {
  std::lock_guard<std::mutex> lk(mutex_);
  return sync_engaged_;
}

DeckSnapshot DeckEngine::snapshot() const {
  std::lock_guard<std::mutex> lk(mutex_);
  DeckSnapshot s;
  s.loaded = track_ != nullptr;
  s.playing = playing_;
  s.position = cur_.pos;
  s.frames = track_ ? static_cast<double>(track_->frames()) : 0.0;
  s.rate = rate_;
  s.tempo = tempo_;
  s.keylock = keylock_;
  s.key_shift = key_shift_;
  s.scratching = scratching_;
  s.grid = grid_;
  s.cue = cue_;
  s.hotcues = hotcues_;
  s.loop_active = loop_active_;
  s.loop_defined = loop_defined_;
  s.loop_start = loop_start_;
  s.loop_end = loop_end_;
  s.quantize = quantize_;
  s.sync_engaged = sync_engaged_;
  s.time = time_;
  return s;
}

// ---------------------------------------------------------------- helpers (lock held)

double DeckEngine::rate_target() const {
  return scratching_ ? jog_ : tempo_ + nudge_ + jog_ + sync_adjust_;
}

void DeckEngine::update_rate_ramp() {
  rate_aim_ = rate_target();
  if (cur_.kind == VoiceKind::Silent && old_.kind == VoiceKind::Silent) {  // nothing sounds: no ramp
    rate_ = rate_aim_;
    rate_left_ = 0;
    return;
  }
  rate_left_ = kRampFrames;
  rate_step_ = (rate_aim_ - rate_) / kRampFrames;
}

double DeckEngine::quantized(double pos) const {
  return quantize_ && grid_.valid() ? std::max(0.0, grid_.nearest_beat(pos)) : pos;
}

double DeckEngine::phase_kept(double target) const {
  if (!quantize_ || !grid_.valid() || !playing_) return target;
  return target + (cur_.pos - grid_.nearest_beat(cur_.pos));
}

bool DeckEngine::want_aa_filter() const {
  // Keylock alone keeps SoundTouch's rate at exactly 1; a key shift (or keylock off with a key
  // shift: pitch follows the rate) resamples.
  return key_shift_ != 0.0;
}

bool DeckEngine::want_stretch() const {
  return (keylock_ || key_shift_ != 0.0) && !scratching_ && rate_ >= 0.25 && rate_ <= 4.0;
}

void DeckEngine::release_voice(Voice& v) {
  v.st = -1;
  v.kind = VoiceKind::Silent;
}

DeckEngine::Voice DeckEngine::make_voice(double pos, bool sounding) {
  Voice v;
  v.pos = pos;
  if (!sounding) return v;
  if (!want_stretch()) {
    v.kind = VoiceKind::Vari;
    return v;
  }
  v.kind = VoiceKind::Stretch;
  v.st = old_.kind == VoiceKind::Stretch && old_.st == 0 ? 1 : 0;
  st_[v.st]->clear();
  // SoundTouch always runs its rate transposer, even at rate 1 (keylock without key shift, the
  // usual case), and its 64-tap anti-alias FIR is then pure cost: nothing is resampled, so nothing
  // can alias. It is on only while a key shift resamples. Switching it changes the transposer's
  // delay, so it is chosen per voice and a change of need crossfades to a fresh voice
  // (render_block).
  v.aa = want_aa_filter();
  st_[v.st]->setSetting(SETTING_USE_AA_FILTER, v.aa ? 1 : 0);
  const double pitch = (keylock_ ? 1.0 : rate_) * std::exp2(key_shift_ / 12.0);
  // SoundTouch is fed whole track frames, copied rather than interpolated: WSOLA moves each
  // sequence by up to ±(tau−1)·20 ms anyway, so half a frame (10 µs) of rounding is nothing, and
  // a cubic interpolation per fed frame cost more than the stretcher itself. `base` starts from the
  // rounded feed, so the reported position stays the one heard.
  v.feed = std::round(pos - stretch_offset(rate_ / pitch));
  v.base = v.feed;
  return v;
}

void DeckEngine::jump(double pos) {
  const bool sounding = cur_.kind != VoiceKind::Silent;
  release_voice(old_);
  old_ = cur_;
  cur_ = make_voice(pos, sounding);
  xfade_left_ = sounding ? kCrossfadeFrames : 0;
  if (!sounding) old_ = Voice{};
}

void DeckEngine::start_voice(bool sounding) {
  release_voice(old_);
  old_ = cur_;
  cur_ = make_voice(old_.pos, sounding);
  xfade_left_ = old_.kind == VoiceKind::Silent ? (sounding ? kCrossfadeFrames : 0) : kCrossfadeFrames;
}

void DeckEngine::stop_at(double pos) {
  playing_ = false;
  cue_preview_ = false;
  cur_.pos = pos;
  start_voice(false);
}

void DeckEngine::apply_sync(int64_t time) {
  sync_pending_ = false;
  const DeckSnapshot& L = sync_leader_;
  const double lpos = L.position + (L.playing ? static_cast<double>(time - L.time) * L.rate : 0.0);
  const double ratio = L.grid.bpm / grid_.bpm;
  // Half or double time when that is closer to where this deck already is (87 vs 174 BPM).
  double best_m = 1.0;
  for (double m : {0.5, 1.0, 2.0})
    if (std::fabs(L.tempo * ratio * m - tempo_) < std::fabs(L.tempo * ratio * best_m - tempo_) &&
        L.tempo * ratio * m >= 0.5 && L.tempo * ratio * m <= 2.0)
      best_m = m;
  sync_mult_ = best_m;
  sync_adjust_ = 0.0;
  tempo_ = std::clamp(L.tempo * ratio * best_m, 0.5, 2.0);
  nudge_ = 0.0;
  if (!scratching_) jog_ = 0.0;
  rate_ = rate_aim_ = rate_target();
  rate_left_ = 0;
  const double lbeats = L.grid.beat_at(lpos) * best_m;
  const double phase = lbeats - std::floor(lbeats);
  const double fbeats = grid_.beat_at(cur_.pos);
  const double target = std::round(fbeats - phase) + phase;
  const double pos = grid_.position_of_beat(target);
  if (std::fabs(pos - cur_.pos) < 0.25) return;
  if (cur_.kind == VoiceKind::Silent)
    cur_.pos = pos;
  else
    jump(pos);
}

void DeckEngine::follow_leader(int64_t time) {
  follow_pending_ = false;
  const DeckSnapshot& L = sync_leader_;
  if (!track_ || !grid_.valid()) return;
  const double tempo = std::clamp(L.tempo * L.grid.bpm / grid_.bpm * sync_mult_, 0.5, 2.0);
  double adjust = 0.0;
  const bool locking = L.playing && playing_ && !scratching_ && nudge_ == 0.0 && jog_ == 0.0 &&
                       cur_.kind != VoiceKind::Silent && !cue_preview_;
  if (locking) {
    // Where the leader is now (its snapshot moved on at its rate), in beats of this deck.
    const double lpos = L.position + static_cast<double>(time - L.time) * L.rate;
    const double lbeats = L.grid.beat_at(lpos) * sync_mult_;
    double err = (lbeats - std::floor(lbeats)) - (grid_.beat_at(cur_.pos) - std::floor(grid_.beat_at(cur_.pos)));
    if (err > 0.5) err -= 1.0;
    if (err < -0.5) err += 1.0;
    const double err_frames = err * grid_.period();
    if (std::fabs(err) > 0.1) {  // the leader jumped (hotcue, loop, beatjump): jump along
      apply_sync(time);
      return;
    }
    // A proportional phase lock: close the error over ~50 ms of output (rate is track frames
    // per output frame, relative to the tempo).
    adjust = std::clamp(err_frames / 2400.0, -0.02 * tempo, 0.02 * tempo);
  }
  if (tempo == tempo_ && adjust == sync_adjust_) return;
  tempo_ = tempo;
  sync_adjust_ = adjust;
  update_rate_ramp();
}

// ---------------------------------------------------------------- audio side

void DeckEngine::render(float* out, size_t n, int64_t time) {
  std::lock_guard<std::mutex> lk(mutex_);
  time_ = time;
  size_t done = 0;
  while (done < n) {
    const size_t k = std::min(kMaxBlock, n - done);
    render_block(out + 2 * done, k);
    done += k;
  }
}

void DeckEngine::render_stretch(Voice& v, float* out, size_t n, double tempo) {
  soundtouch::SoundTouch& st = *st_[v.st];
  if (!(tempo >= 0.1)) {  // never asked (want_stretch() bounds the rate); SoundTouch would starve
    std::memset(out, 0, n * 2 * sizeof(float));
    return;
  }
  const double pitch = (keylock_ ? 1.0 : tempo) * std::exp2(key_shift_ / 12.0);
  if (tempo != v.st_tempo) {
    st.setTempo(tempo / pitch);
    v.st_tempo = tempo;
    v.st_pitch = 0.0;
  }
  if (pitch != v.st_pitch) {
    st.setTempo(tempo / pitch);
    st.setRate(pitch);
    v.st_pitch = pitch;
  }
  const Track& t = *track_;
  while (st.numSamples() < n) {
    t.read(static_cast<ptrdiff_t>(v.feed), feed_buf_.data(), kFeedChunk);  // feed is whole (make_voice)
    st.putSamples(feed_buf_.data(), kFeedChunk);
    v.feed += kFeedChunk;
  }
  st.receiveSamples(out, static_cast<uint>(n));
  v.base += tempo * static_cast<double>(n);
  v.pos = v.base + stretch_offset(tempo / pitch);
}

void DeckEngine::render_voice(Voice& v, float* out, size_t n, const double* rates, double block_rate) {
  switch (v.kind) {
    case VoiceKind::Silent:
      std::memset(out, 0, n * 2 * sizeof(float));
      return;
    case VoiceKind::Vari: {
      const Track& t = *track_;
      double pos = v.pos;
      for (size_t j = 0; j < n; ++j) {
        read_interp(t, pos, out[2 * j], out[2 * j + 1]);
        pos += rates[j];
      }
      v.pos = pos;
      return;
    }
    case VoiceKind::Stretch:
      render_stretch(v, out, n, block_rate);
      return;
  }
}

void DeckEngine::render_block(float* out, size_t n) {
  if (sync_pending_)
    apply_sync(time_);
  else if (follow_pending_)
    follow_leader(time_);
  if (!track_) {
    std::memset(out, 0, n * 2 * sizeof(float));
    time_ += static_cast<int64_t>(n);
    return;
  }
  // Rates of this block (a linear ramp towards the target), and the largest of them.
  double max_rate = std::fabs(rate_);
  if (rate_left_ > 0) {
    for (size_t j = 0; j < n; ++j) {
      if (rate_left_ > 0) {
        rate_ += rate_step_;
        if (--rate_left_ == 0) rate_ = rate_aim_;
      }
      rates_[j] = rate_;
      max_rate = std::max(max_rate, std::fabs(rate_));
    }
  } else {
    std::fill(rates_.begin(), rates_.begin() + static_cast<ptrdiff_t>(n), rate_);
  }
  const bool sounding = cur_.kind != VoiceKind::Silent;
  if (sounding && (want_stretch() != (cur_.kind == VoiceKind::Stretch) ||
                   (cur_.kind == VoiceKind::Stretch && cur_.aa != want_aa_filter())))
    start_voice(true);

  const double frames = static_cast<double>(track_->frames());
  size_t done = 0;
  while (done < n) {
    const size_t m = n - done;
    const double* rates = rates_.data() + done;
    const bool stretch = cur_.kind == VoiceKind::Stretch;
    const double block_rate = rates[0];
    enum { kNone, kLoop, kLoopBack, kEnd } event = kNone;
    size_t k = m;
    double p = cur_.pos;
    // Whether this stretch of the block can reach a loop end or the track's end at all: most
    // blocks cannot, and then the per-frame search below is skipped (one frame of margin covers
    // the rounding of the running sum).
    const double reach = (stretch ? std::fabs(block_rate) : max_rate) * static_cast<double>(m) + 1.0;
    const bool clear_of_end = p + reach < frames;
    const bool clear_of_loop = !loop_active_ || (p + reach < loop_end_ && p - reach >= loop_start_) ||
                               p - reach >= loop_end_ || p + reach < loop_start_;
    if (cur_.kind != VoiceKind::Silent && !(clear_of_end && clear_of_loop)) {
      for (size_t j = 0; j < m; ++j) {
        const double r = stretch ? block_rate : rates[j];
        const double prev = p;
        p += r;
        if (loop_active_ && r > 0 && prev < loop_end_ && p >= loop_end_ && prev >= loop_start_) {
          event = kLoop;
        } else if (loop_active_ && r < 0 && prev >= loop_start_ && p < loop_start_ && prev < loop_end_) {
          event = kLoopBack;
        } else if (r > 0 && p >= frames && prev < frames) {
          event = kEnd;
        }
        if (event != kNone) {
          k = j + 1;
          break;
        }
      }
    }
    float* dst = out + 2 * done;
    render_voice(cur_, dst, k, rates, block_rate);
    if (xfade_left_ > 0) {
      float* o = scratch_b_.data();
      const size_t kx = std::min<size_t>(k, static_cast<size_t>(xfade_left_));
      render_voice(old_, o, kx, rates,
                   old_.kind == VoiceKind::Stretch && old_.st_tempo > 0.0 ? old_.st_tempo : block_rate);
      for (size_t j = 0; j < kx; ++j) {
        const float g_old = static_cast<float>(xfade_left_ - static_cast<int>(j)) / kCrossfadeFrames;
        dst[2 * j] = dst[2 * j] * (1.0f - g_old) + o[2 * j] * g_old;
        dst[2 * j + 1] = dst[2 * j + 1] * (1.0f - g_old) + o[2 * j + 1] * g_old;
      }
      xfade_left_ -= static_cast<int>(kx);
      if (xfade_left_ == 0) old_ = Voice{};
    }
    done += k;
    time_ += static_cast<int64_t>(k);
    switch (event) {
      case kLoop:
        jump(loop_start_ + (p - loop_end_));
        break;
      case kLoopBack:
        jump(loop_end_ - (loop_start_ - p));
        break;
      case kEnd:
        stop_at(frames);
        break;
      case kNone:
        break;
    }
  }
}

}  // namespace dju

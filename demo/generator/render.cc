#include "render.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "dsp.h"
#include "theory.h"

namespace demo {
namespace {

// Attack (linear) → decay towards a sustain level → release after the gate, by recurrences
// (no exp() per sample).
class Adsr {
 public:
  Adsr(double attack_s, double decay_tau_s, double sustain, double release_tau_s, size_t gate)
      : attack_(std::max(1.0, attack_s * kRate)), dcoef_(decay_coef(decay_tau_s)), sustain_(sustain),
        rcoef_(decay_coef(release_tau_s)), gate_(gate) {}
  double next() {
    double v;
    if (n_ < attack_) {
      v = n_ / attack_;
    } else {
      v = sustain_ + (1.0 - sustain_) * d_;
      d_ *= dcoef_;
    }
    if (n_ >= gate_) {
      r_ *= rcoef_;
      v *= r_;
    }
    ++n_;
    return v;
  }

 private:
  double attack_, dcoef_, sustain_, rcoef_;
  size_t gate_;
  size_t n_ = 0;
  double d_ = 1.0, r_ = 1.0;
};

// Total samples a note needs: its gate plus a release that has decayed by ~60 dB.
inline size_t note_span(size_t gate, double release_tau_s) { return gate + size_t(7.0 * release_tau_s * kRate); }

inline double semis(double s) { return std::pow(2.0, s / 12.0); }

class Renderer {
 public:
  explicit Renderer(const TrackSpec& spec)
      : s_(spec), g_(spec.groove), rng_(spec.seed), beat_s_(60.0 / spec.bpm), step_s_(beat_s_ / 4.0) {
    for (const auto& sec : s_.sections) total_bars_ += sec.bars;
    double end_s = s_.first_beat_s + total_bars_ * 4 * beat_s_ + 1.5;  // a tail for the last decays
    frames_ = size_t(std::ceil(end_s * 1000.0)) * (kRate / 1000);
    drums_ = Bus(frames_);
    music_ = Bus(frames_);
    lead_ = Bus(frames_);
    verb_ = Bus(frames_);
    echo_ = Bus(frames_);
    bass_.assign(frames_, 0.0f);
    duck_.assign(frames_, 1.0f);
    kickbus_.assign(frames_, 0.0f);
  }

  RenderedTrack run();

 private:
  // ---- timing --------------------------------------------------------------------------------
  double step_time(int bar, int step) const { return s_.first_beat_s + (bar * 16 + step) * step_s_; }
  size_t at(double t) const { return size_t(std::llround(t * kRate)); }
  size_t swung(int bar, int step) const {
    double t = step_time(bar, step);
    if (step % 4 == 2) t += g_.swing * step_s_;
    return at(t);
  }
  size_t steps_len(int n) const { return size_t(n * step_s_ * kRate); }

  // ---- one-shot drums --------------------------------------------------------------------------
  void make_drums();
  void stamp(const std::vector<float>& shot, size_t pos, float gain, float pan, float verb = 0.0f) {
    for (size_t i = 0; i < shot.size() && pos + i < frames_; ++i) {
      float v = shot[i] * gain;
      drums_.add(pos + i, v, pan);
      if (verb > 0.0f) {
        verb_.l[pos + i] += v * verb;
        verb_.r[pos + i] += v * verb;
      }
    }
  }

  // The kick is one voice, like a drum machine's: a new hit chokes the tail of the previous one
  // (a 2 ms fade just before the new onset), so overlapping tails never blur the attack.
  void stamp_kick(size_t pos, float gain) {
    size_t fade = size_t(0.002 * kRate);
    if (pos >= fade) {
      for (size_t i = 0; i < fade; ++i) kickbus_[pos - fade + i] *= float(fade - i) / fade;
    }
    for (size_t i = pos; i < std::min(frames_, pos + kick_.size()); ++i) kickbus_[i] = 0.0f;
    for (size_t i = 0; i < kick_.size() && pos + i < frames_; ++i) kickbus_[pos + i] += kick_[i] * gain;
  }

  // ---- pitched voices --------------------------------------------------------------------------
  void bass_note(size_t pos, size_t gate, int midi, float vel);
  void chord_note(size_t pos, size_t gate, int midi, float vel, float pan);
  void pad_note(size_t pos, size_t gate, int midi);
  void lead_note(size_t pos, size_t gate, int midi, float vel);
  void riser(size_t pos, size_t len);

  // ---- arrangement -----------------------------------------------------------------------------
  bool layer_on(const SectionSpec& sec, int bar_in_sec, char layer) const;
  Chord chord_at(int bar_in_sec) const {
    return s_.progression[(bar_in_sec / s_.bars_per_chord) % s_.progression.size()];
  }
  int chord_tone(const Chord& c, int tone, int lowest) const;
  void make_motif();
  void play_bar(const SectionSpec& sec, int bar, int bar_in_sec, bool last_bar_before_drums);
  void duck_at(size_t pos);

  const TrackSpec& s_;
  const Groove& g_;
  Rng rng_;
  double beat_s_, step_s_;
  int total_bars_ = 0;
  size_t frames_ = 0;
  Bus drums_, music_, lead_, verb_, echo_;
  std::vector<float> bass_, duck_, kickbus_;
  std::vector<float> kick_, snare_, clap_, hats_[4], open_hat_, perc_, crash_;
  std::vector<size_t> kick_pos_;
  struct MotifNote {
    int step, len, degree;
  };
  std::vector<MotifNote> motif_a_, motif_b_;
};

// --------------------------------------------------------------------------------------------------
// Drum one-shots, rendered once per track.

void Renderer::make_drums() {
  Rng r(s_.seed * 31 + 7);
  // Kick: a clean sine swept down from `kick_sweep_hz` to the key's tonic (E1..D#2), with a short
  // noise click. No saturation: its overtones would colour the key (the 5th harmonic is a major
  // third). It starts at full phase (cosine) after a 0.5 ms ramp: a sharp, well-defined onset.
  {
    int tonic = 28 + ((s_.key.root - 28) % 12 + 12) % 12;  // E1..D#2
    double f_end = midi_hz(tonic);
    size_t n = size_t((g_.kick_decay_s * 5.0 + 0.02) * kRate);
    kick_.assign(n, 0.0f);
    double phase = 0.25, amp = 1.0, acoef = decay_coef(g_.kick_decay_s), sweep = 1.0, scoef = decay_coef(0.03);
    double click = 1.0, ccoef = decay_coef(0.0012);
    Svf hp;
    hp.set(1500.0, 0.7);
    size_t hold = size_t(0.025 * kRate);
    for (size_t i = 0; i < n; ++i) {
      double f = f_end + (g_.kick_sweep_hz - f_end) * sweep;
      sweep *= scoef;
      double ramp = std::min(1.0, i / (0.0005 * kRate));
      double body = sin01(phase) * amp * ramp;
      phase += f / kRate;
      if (i > hold) amp *= acoef;
      hp.run(r.bipolar());
      double v = body + hp.high * click * g_.kick_click * ramp;
      click *= ccoef;
      kick_[i] = float(v);
    }
  }
  // Snare: a body tuned to the tonic (F3..E4) plus high-passed noise.
  {
    const double snare_hz = midi_hz(53 + ((s_.key.root - 53) % 12 + 12) % 12);
    size_t n = size_t(0.5 * kRate);
    snare_.assign(n, 0.0f);
    Sine body;
    Svf hp;
    hp.set(1800.0, 0.8);
    double a_body = 1.0, a_noise = 1.0, cb = decay_coef(0.06), cn = decay_coef(0.11);
    for (size_t i = 0; i < n; ++i) {
      double t = double(i) / kRate;
      body.set_hz(snare_hz * (1.0 + 0.25 * std::exp(-t / 0.01)));
      hp.run(r.bipolar());
      double ramp = std::min(1.0, i / (0.0008 * kRate));
      snare_[i] = float(ramp * (0.55 * body.next() * a_body + 0.6 * hp.high * a_noise));
      a_body *= cb;
      a_noise *= cn;
    }
  }
  // Clap: band-passed noise in four quick bursts and a tail, like hands not quite together.
  {
    size_t n = size_t(0.6 * kRate);
    clap_.assign(n, 0.0f);
    Svf bp;
    bp.set(1200.0, 1.6);
    for (size_t i = 0; i < n; ++i) {
      double t = double(i) / kRate;
      double env = 0.0;
      for (int b = 0; b < 4; ++b) {
        double tb = t - b * 0.009;
        if (tb >= 0.0) env = std::max(env, std::exp(-tb / 0.0045));
      }
      if (t > 0.027) env = std::max(env, 0.55 * std::exp(-(t - 0.027) / 0.13));
      bp.run(r.bipolar());
      clap_[i] = float(1.6 * bp.band * env);
    }
  }
  // Hats and cymbals: high-passed noise. (The classic cluster of six square waves is left out:
  // its fixed pitches would add the same notes to every track and blur each track's key.)
  auto metal = [&](std::vector<float>& out, double seconds, double tau, double hp_hz) {
    size_t n = size_t(seconds * kRate);
    out.assign(n, 0.0f);
    Svf hp, hp2;
    hp.set(hp_hz, 0.9);
    hp2.set(hp_hz * 0.9, 0.7);
    double amp = 1.0, c = decay_coef(tau);
    for (size_t i = 0; i < n; ++i) {
      hp.run(0.8 * r.bipolar());
      hp2.run(hp.high);
      double ramp = std::min(1.0, i / (0.0004 * kRate));
      out[i] = float(hp2.high * amp * ramp);
      amp *= c;
    }
  };
  for (int k = 0; k < 4; ++k) metal(hats_[k], 0.2, 0.028 + 0.004 * k, 7000.0);
  metal(open_hat_, 0.9, 0.2, 6500.0);
  metal(crash_, 3.0, 0.9, 4200.0);
  // Percussion: a tuned hand drum on the key's fifth.
  {
    size_t n = size_t(0.5 * kRate);
    perc_.assign(n, 0.0f);
    int note = 60 + ((s_.key.root + 7 - 60) % 12 + 12) % 12;
    double f0 = midi_hz(note - 12);
    Sine o;
    double amp = 1.0, c = decay_coef(0.09);
    for (size_t i = 0; i < n; ++i) {
      double t = double(i) / kRate;
      o.set_hz(f0 * (1.0 + 0.3 * std::exp(-t / 0.008)));
      double ramp = std::min(1.0, i / (0.0008 * kRate));
      perc_[i] = float(o.next() * amp * ramp);
      amp *= c;
    }
  }
}

// --------------------------------------------------------------------------------------------------
// Pitched voices.

void Renderer::bass_note(size_t pos, size_t gate, int midi, float vel) {
  double f = midi_hz(midi);
  switch (g_.bass_voice) {
    case BassVoice::Sub: {
      Adsr env(0.006, 1.0, 0.8, 0.05, gate);
      Sine a, b;
      a.set_hz(f);
      b.set_hz(2 * f);
      size_t n = note_span(gate, 0.05);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        double v = (a.next() + 0.3 * b.next()) * env.next();
        bass_[pos + i] += float(0.5 * vel * v);
      }
      break;
    }
    case BassVoice::SawPluck: {
      Adsr env(0.003, 0.2, 0.6, 0.03, gate);
      Saw saw;
      Sine sub;
      saw.set_hz(f);
      sub.set_hz(f);
      Svf lp;
      double fenv = 1.0, fc = decay_coef(0.09);
      size_t n = note_span(gate, 0.03);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        if (i % 32 == 0) lp.set(140.0 + 1100.0 * fenv, 1.2);
        fenv *= fc;
        lp.run(saw.next());
        double v = (0.7 * lp.low + 0.55 * sub.next()) * env.next();
        bass_[pos + i] += float(0.5 * vel * v);
      }
      break;
    }
    case BassVoice::Reese: {
      Adsr env(0.015, 1.0, 0.9, 0.08, gate);
      Saw s1, s2;
      Sine sub;
      s1.set_hz(f * semis(-0.12));
      s2.set_hz(f * semis(0.12));
      s2.phase = 0.37;
      sub.set_hz(f);
      Svf lp;
      size_t n = note_span(gate, 0.08);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        if (i % 64 == 0) lp.set(520.0 + 260.0 * sin01(double(pos + i) / kRate * 0.35), 1.1);
        lp.run(0.5 * (s1.next() + s2.next()));
        double v = (0.8 * lp.low + 0.6 * sub.next()) * env.next();
        bass_[pos + i] += float(0.45 * vel * v);
      }
      break;
    }
    case BassVoice::FmRoll: {
      Adsr env(0.002, 0.11, 0.0, 0.02, gate);
      double cph = 0.0, mph = 0.0, idx = 1.0, ic = decay_coef(0.05);
      size_t n = note_span(gate, 0.02);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        double m = sin01(mph) * (2.6 * idx + 0.35);
        double v = sin01(cph + m / kTwoPi) * env.next();
        cph += f / kRate;
        mph += f / kRate;
        idx *= ic;
        bass_[pos + i] += float(0.55 * vel * v);
      }
      break;
    }
    case BassVoice::Eight08: {
      Adsr env(0.003, 1.4, 0.0, 0.08, gate);
      double ph = 0.0;
      size_t n = note_span(gate, 0.08);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        double t = double(i) / kRate;
        ph += f * (1.0 + 0.12 * std::exp(-t / 0.025)) / kRate;
        // Octave and fifth overtones only (no saturation): they keep the key clear.
        double v = (sin01(ph) + 0.25 * sin01(2.0 * ph) + 0.1 * sin01(3.0 * ph)) * env.next();
        bass_[pos + i] += float(0.5 * vel * v);
      }
      break;
    }
  }
}

void Renderer::chord_note(size_t pos, size_t gate, int midi, float vel, float pan) {
  double f = midi_hz(midi);
  switch (g_.chord_voice) {
    case ChordVoice::Stab:
    case ChordVoice::DubStab: {
      bool dub = g_.chord_voice == ChordVoice::DubStab;
      Adsr env(0.002, dub ? 0.14 : 0.22, dub ? 0.0 : 0.3, 0.07, gate);
      Saw a, b;
      a.set_hz(f * semis(-0.09));
      b.set_hz(f * semis(0.09));
      b.phase = 0.5;
      Svf la, lb;
      double fenv = 1.0, fc = decay_coef(dub ? 0.08 : 0.12);
      size_t n = note_span(gate, 0.07);
      float send_echo = float(g_.delay_send * (dub ? 1.6 : 0.6));
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        if (i % 32 == 0) {
          double cut = (dub ? 900.0 : 700.0) + (dub ? 2200.0 : 3300.0) * fenv;
          la.set(cut, dub ? 2.2 : 0.9);
          lb.set(cut, dub ? 2.2 : 0.9);
        }
        fenv *= fc;
        double e = env.next() * vel * 0.10;
        la.run(a.next());
        lb.run(b.next());
        float l = float(la.low * e), r = float(lb.low * e);
        size_t k = pos + i;
        music_.l[k] += l * float(1.0 - 0.3 * pan);
        music_.r[k] += r * float(1.0 + 0.3 * pan);
        verb_.l[k] += l * 0.15f;
        verb_.r[k] += r * 0.15f;
        echo_.l[k] += l * send_echo;
        echo_.r[k] += r * send_echo;
      }
      break;
    }
    case ChordVoice::Keys: {
      // Two-operator FM electric piano: the modulation index falls as the note rings, so the
      // attack is bright and the tail mellow; a slow autopan moves it across the stereo field.
      Adsr env(0.002, 1.3, 0.0, 0.25, gate);
      double cph = 0.0, mph = 0.0, idx = 1.0, ic = decay_coef(0.35);
      size_t n = note_span(gate, 0.25);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        double m = sin01(mph) * (1.5 * idx + 0.2);
        double v = sin01(cph + m / kTwoPi) * env.next() * vel * 0.14;
        cph += f / kRate;
        mph += f / kRate;
        idx *= ic;
        size_t k = pos + i;
        double p = pan + 0.4 * sin01(double(k) / kRate * 0.25);
        float l = float(v * (1.0 - 0.5 * p)), r = float(v * (1.0 + 0.5 * p));
        music_.l[k] += l;
        music_.r[k] += r;
        verb_.l[k] += l * 0.2f;
        verb_.r[k] += r * 0.2f;
      }
      break;
    }
    case ChordVoice::Pluck: {
      Adsr env(0.001, 0.18, 0.0, 0.05, gate);
      Saw a;
      a.set_hz(f);
      Svf lp;
      double fenv = 1.0, fc = decay_coef(0.07);
      size_t n = note_span(gate, 0.05) + size_t(0.3 * kRate);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        if (i % 32 == 0) lp.set(350.0 + 4200.0 * fenv, 1.2);
        fenv *= fc;
        lp.run(a.next());
        double v = lp.low * env.next() * vel * 0.16;
        size_t k = pos + i;
        float l = float(v * (1.0 - 0.6 * pan)), r = float(v * (1.0 + 0.6 * pan));
        music_.l[k] += l;
        music_.r[k] += r;
        verb_.l[k] += l * 0.12f;
        verb_.r[k] += r * 0.12f;
        echo_.l[k] += l * float(g_.delay_send);
        echo_.r[k] += r * float(g_.delay_send);
      }
      break;
    }
    case ChordVoice::Pad:
      pad_note(pos, gate, midi);
      break;
  }
}

void Renderer::pad_note(size_t pos, size_t gate, int midi) {
  // Three detuned saws spread left, centre and right, through a gentle low-pass.
  double f = midi_hz(midi);
  Adsr env(0.7, 1.0, 1.0, 0.6, gate);
  Saw o[3];
  Svf lp[2];
  const double det[3] = {-0.11, 0.0, 0.11};
  for (int k = 0; k < 3; ++k) {
    o[k].set_hz(f * semis(det[k]));
    o[k].phase = 0.31 * k;
  }
  size_t n = note_span(gate, 0.6);
  for (size_t i = 0; i < n && pos + i < frames_; ++i) {
    size_t k = pos + i;
    if (i % 64 == 0) {
      double cut = 1300.0 + 500.0 * sin01(double(k) / kRate * 0.125);
      lp[0].set(cut, 0.7);
      lp[1].set(cut, 0.7);
    }
    double a = o[0].next(), b = o[1].next(), c = o[2].next();
    lp[0].run(a + 0.5 * b);
    lp[1].run(c + 0.5 * b);
    double e = env.next() * 0.05;
    float l = float(lp[0].low * e), r = float(lp[1].low * e);
    music_.l[k] += l;
    music_.r[k] += r;
    verb_.l[k] += l * 0.35f;
    verb_.r[k] += r * 0.35f;
  }
}

void Renderer::lead_note(size_t pos, size_t gate, int midi, float vel) {
  double f = midi_hz(midi);
  size_t n = 0;
  std::vector<float>* out_l = &lead_.l;
  std::vector<float>* out_r = &lead_.r;
  auto emit = [&](size_t k, double l, double r) {
    (*out_l)[k] += float(l);
    (*out_r)[k] += float(r);
    verb_.l[k] += float(l * 0.25);
    verb_.r[k] += float(r * 0.25);
    echo_.l[k] += float(l * g_.delay_send);
    echo_.r[k] += float(r * g_.delay_send);
  };
  switch (g_.lead_voice) {
    case LeadVoice::Bell: {
      Adsr env(0.003, 0.5, 0.0, 0.2, gate);
      double cph = 0.0, mph = 0.0, idx = 1.0, ic = decay_coef(0.25);
      n = note_span(gate, 0.2);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        double m = sin01(mph) * (2.2 * idx + 0.3);
        double v = sin01(cph + m / kTwoPi) * env.next() * vel * 0.16;
        cph += f / kRate;
        mph += 2.0 * f / kRate;
        idx *= ic;
        emit(pos + i, v, v);
      }
      break;
    }
    case LeadVoice::SuperSaw: {
      Adsr env(0.01, 0.4, 0.8, 0.15, gate);
      Saw o[3];
      const double det[3] = {-0.14, 0.0, 0.14};
      Svf lp[2];
      lp[0].set(3200.0, 0.7);
      lp[1].set(3200.0, 0.7);
      n = note_span(gate, 0.15);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        double t = double(i) / kRate;
        if (i % 32 == 0) {
          double vib = t > 0.15 ? 0.12 * sin01(t * 5.5) : 0.0;
          for (int k = 0; k < 3; ++k) o[k].set_hz(f * semis(det[k] + vib));
        }
        double a = o[0].next(), b = o[1].next(), c = o[2].next();
        lp[0].run(a + 0.6 * b);
        lp[1].run(c + 0.6 * b);
        double e = env.next() * vel * 0.07;
        emit(pos + i, lp[0].low * e, lp[1].low * e);
      }
      break;
    }
    case LeadVoice::SquareLead: {
      Adsr env(0.003, 0.3, 0.45, 0.1, gate);
      Square sq;
      sq.set_hz(f);
      Svf lp;
      double fenv = 1.0, fc = decay_coef(0.15);
      n = note_span(gate, 0.1);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        if (i % 32 == 0) lp.set(700.0 + 2800.0 * fenv, 1.4);
        fenv *= fc;
        lp.run(sq.next());
        double v = lp.low * env.next() * vel * 0.11;
        emit(pos + i, v * 0.9, v * 1.1);
      }
      break;
    }
    case LeadVoice::Flute: {
      Adsr env(0.04, 1.0, 0.85, 0.12, gate);
      double ph = 0.0, fv = f;
      Rng noise(s_.seed + pos);
      Svf breath;
      breath.set(2500.0, 1.0);
      n = note_span(gate, 0.12);
      for (size_t i = 0; i < n && pos + i < frames_; ++i) {
        double t = double(i) / kRate;
        if (i % 32 == 0) fv = f * semis(t > 0.2 ? 0.15 * sin01(t * 5.2) : 0.0);
        ph += fv / kRate;
        breath.run(noise.bipolar());
        double v = (sin01(ph) + 0.15 * sin01(2.0 * ph) + 0.04 * breath.band) * env.next() * vel * 0.15;
        emit(pos + i, v, v);
      }
      break;
    }
  }
}

void Renderer::riser(size_t pos, size_t len) {
  // Noise through a band-pass whose centre climbs four octaves and more, getting louder.
  Svf bl, br;
  Rng r(s_.seed ^ pos);
  for (size_t i = 0; i < len && pos + i < frames_; ++i) {
    double x = double(i) / len;
    if (i % 32 == 0) {
      double hz = 300.0 * std::pow(30.0, x);
      bl.set(hz, 1.5);
      br.set(hz * 1.03, 1.5);
    }
    bl.run(r.bipolar());
    br.run(r.bipolar());
    // Swells, then gets out of the way in the last 3 % so the drop's downbeat lands clean.
    double a = 0.22 * x * x * std::min(1.0, (1.0 - x) / 0.03);
    size_t k = pos + i;
    music_.l[k] += float(bl.band * a);
    music_.r[k] += float(br.band * a);
    verb_.l[k] += float(bl.band * a * 0.4);
    verb_.r[k] += float(br.band * a * 0.4);
  }
}

// --------------------------------------------------------------------------------------------------
// Arrangement.

bool Renderer::layer_on(const SectionSpec& sec, int bar_in_sec, char layer) const {
  if (sec.layers.find(layer) == std::string::npos) return false;
  // Intros build up and outros strip down: backbeat, open hats and percussion play only in the
  // second half of an intro and the first half of an outro. The kick never changes.
  bool extra = layer == 'S' || layer == 'O' || layer == 'P';
  if (extra && sec.name == "intro" && bar_in_sec < sec.bars / 2) return false;
  if (extra && sec.name == "outro" && bar_in_sec >= sec.bars / 2) return false;
  return true;
}

// Tone 3 is the third an octave up: doubling the third (the note that tells minor from major)
// keeps every chord's quality, and so the key, unambiguous.
int Renderer::chord_tone(const Chord& c, int tone /* 0 root, 1 third, 2 fifth, 3 upper third */, int lowest) const {
  int root = degree_note(s_.key, c.degree, c.leading_tone, 0);
  root = lowest + ((root - lowest) % 12 + 12) % 12;
  static const int offs[4] = {0, 2, 4, 9};
  return root + degree_semitones(s_.key, c.degree + offs[tone], c.leading_tone) -
         degree_semitones(s_.key, c.degree, c.leading_tone);
}

void Renderer::make_motif() {
  // A two-bar rhythm built beat by beat, pitched as scale steps above the current chord's root
  // so the melody follows the harmony; strong beats land on chord tones. Motif B keeps the first
  // bar and answers with a new second bar.
  static const char* cells[] = {"x---", "x-x-", "x--x", "..x-", "x-xx", "x-.x", "x.x."};
  std::string rhythm;
  for (int beat = 0; beat < 8; ++beat) {
    if (beat == 7) {
      rhythm += rng_.chance(0.5) ? "x---" : "....";
    } else {
      rhythm += cells[rng_.below(7)];
    }
  }
  auto pitch = [&](std::vector<MotifNote>& out, int from_step, int prev) {
    for (int st = from_step; st < 32; ++st) {
      if (rhythm[st] != 'x') continue;
      int len = 1;
      while (st + len < 32 && rhythm[st + len] == '-') ++len;
      int d;
      if (st % 4 == 0) {
        static const int tones[5] = {0, 2, 2, 4, 7};  // the third twice: it carries the mode
        int best = tones[rng_.below(5)];
        for (int t : tones)
          if (std::abs(t - prev) < std::abs(best - prev) && rng_.chance(0.6)) best = t;
        d = best;
      } else {
        static const int steps[4] = {-2, -1, 1, 2};
        d = std::clamp(prev + steps[rng_.below(4)], -3, 9);
      }
      out.push_back({st, len, d});
      prev = d;
    }
  };
  pitch(motif_a_, 0, 2);
  for (const auto& n : motif_a_)
    if (n.step < 16) motif_b_.push_back(n);
  pitch(motif_b_, 16, motif_b_.empty() ? 0 : motif_b_.back().degree);
}

void Renderer::duck_at(size_t pos) {
  // Sidechain: bass and chords dip under every kick and swell back, as producers do with a
  // compressor keyed by the kick.
  size_t att = size_t(0.002 * kRate), n = size_t(0.35 * kRate);
  double depth = g_.duck;
  for (size_t j = 0; j < n && pos + j < frames_; ++j) {
    double g = j < att ? 1.0 - depth * double(j) / att : 1.0 - depth * std::exp(-double(j - att) / (0.075 * kRate));
    duck_[pos + j] = std::min(duck_[pos + j], float(g));
  }
}

void Renderer::play_bar(const SectionSpec& sec, int bar, int bar_in_sec, bool fill) {
  auto pat = [](const std::string& p, int bar_no, int step) -> char {
    if (p.empty()) return '.';
    return p[(size_t(bar_no % int(p.size() / 16)) * 16 + step) % p.size()];
  };
  auto vel = [](char c) { return float(c - '0') / 9.0f; };

  // Drums.
  for (int st = 0; st < 16; ++st) {
    if (layer_on(sec, bar_in_sec, 'K') && pat(g_.kick, bar, st) != '.') {
      size_t p = at(step_time(bar, st));
      stamp_kick(p, vel(pat(g_.kick, bar, st)));
      kick_pos_.push_back(p);
      duck_at(p);
    }
    if (layer_on(sec, bar_in_sec, 'S') && pat(g_.snare, bar, st) != '.') {
      float v = vel(pat(g_.snare, bar, st));
      size_t p = swung(bar, st);
      if (g_.clap) {
        stamp(clap_, p, 0.5f * v, 0.05f, 0.12f);
        if (g_.snare_too) stamp(snare_, p, 0.25f * v, 0.0f, 0.1f);
      } else {
        stamp(snare_, p, 0.6f * v, 0.0f, 0.12f);
      }
    }
    if (layer_on(sec, bar_in_sec, 'H') && pat(g_.hats, bar, st) != '.') {
      float v = vel(pat(g_.hats, bar, st)) * (0.85f + 0.15f * float(rng_.uniform()));
      stamp(hats_[rng_.below(4)], swung(bar, st), 0.22f * v, 0.25f);
    }
    if (layer_on(sec, bar_in_sec, 'O') && pat(g_.open_hats, bar, st) != '.')
      stamp(open_hat_, swung(bar, st), 0.16f * vel(pat(g_.open_hats, bar, st)), -0.2f);
    if (layer_on(sec, bar_in_sec, 'P') && pat(g_.perc, bar, st) != '.')
      stamp(perc_, swung(bar, st), 0.3f * vel(pat(g_.perc, bar, st)), -0.45f, 0.08f);
  }
  if (fill) {
    // A snare roll into the next phrase.
    for (int st = 12; st < 16; ++st) stamp(snare_, at(step_time(bar, st)), 0.2f + 0.08f * (st - 12), 0.0f, 0.1f);
  }
  if (bar_in_sec == 0 && layer_on(sec, bar_in_sec, 'X')) stamp(crash_, at(step_time(bar, 0)), 0.22f, 0.3f, 0.1f);

  Chord chord = chord_at(bar_in_sec);
  const int bar_steps = 16;

  // Bass.
  if (layer_on(sec, bar_in_sec, 'B')) {
    const std::string& p = (bar % 2 == 1 && !g_.bass_alt.empty()) ? g_.bass_alt : g_.bass;
    // Sub-style basses sit in the lowest octave (E1..D#2); the plucked and rolling ones an octave
    // up, where their harmonics carry the line and leave the sub range to the kick.
    bool sub = g_.bass_voice == BassVoice::Sub || g_.bass_voice == BassVoice::Eight08 || g_.bass_voice == BassVoice::Reese;
    int lowest = sub ? 28 : 36;
    int root = chord_tone(chord, 0, lowest);
    for (int st = 0; st < bar_steps; ++st) {
      char c = p[st];
      if (c != 'r' && c != 'o' && c != 'f' && c != 't') continue;
      int len = 1;
      while (st + len < bar_steps && p[st + len] == '-') ++len;
      int note = root;
      if (c == 'o') note = root + 12;
      if (c == 'f') note = chord_tone(chord, 2, lowest);
      if (c == 't') note = chord_tone(chord, 1, lowest);
      float v = st % 4 == 0 ? 1.0f : 0.85f;
      bass_note(at(step_time(bar, st)), size_t(steps_len(len) * 0.9), note, v);
    }
  }

  // Chords: stabs, keys or a plucked arpeggio.
  if (layer_on(sec, bar_in_sec, 'C')) {
    int tones[4];
    for (int t = 0; t < 4; ++t) tones[t] = chord_tone(chord, t, 55);
    int hit = 0;
    for (int st = 0; st < bar_steps; ++st) {
      if (g_.chords[st] != 'x') continue;
      int len = 1;
      while (st + len < bar_steps && g_.chords[st + len] == '-') ++len;
      size_t p = at(step_time(bar, st));
      size_t gate = size_t(steps_len(len) * 0.85);
      if (g_.chord_voice == ChordVoice::Pluck) {
        static const int order[6] = {0, 1, 2, 3, 2, 1};
        int t = order[hit % 6];
        chord_note(p, gate, tones[t] + (hit % 12 >= 6 ? 12 : 0), 0.9f, (hit % 2) ? 0.5f : -0.5f);
      } else if (g_.chord_voice == ChordVoice::Pad) {
        if (bar_in_sec % s_.bars_per_chord == 0) {
          int bars = std::min(s_.bars_per_chord, sec.bars - bar_in_sec);
          for (int t = 0; t < 3; ++t) pad_note(p, size_t(steps_len(16 * bars) * 0.97), tones[t]);
        }
      } else {
        for (int t = 0; t < 4; ++t) chord_note(p, gate, tones[t], t == 3 ? 0.6f : 1.0f, -0.6f + 0.4f * t);
      }
      ++hit;
    }
  }

  // Pad: one long chord per change of harmony.
  if (layer_on(sec, bar_in_sec, 'D') && bar_in_sec % s_.bars_per_chord == 0) {
    int bars = std::min(s_.bars_per_chord, sec.bars - bar_in_sec);
    size_t p = at(step_time(bar, 0));
    size_t gate = size_t(steps_len(16 * bars) * 0.97);
    for (int t = 0; t < 4; ++t) pad_note(p, gate, chord_tone(chord, t, 55));
    pad_note(p, gate, chord_tone(chord, 0, 43));  // the root an octave down
  }

  // Lead: motif A, answered by motif B every fourth pair of bars.
  if (layer_on(sec, bar_in_sec, 'L')) {
    const auto& motif = (bar_in_sec % 8 >= 6) ? motif_b_ : motif_a_;
    int half = bar_in_sec % 2;
    int tonic = 62 + ((s_.key.root - 62) % 12 + 12) % 12;  // D4..C#5
    for (const auto& n : motif) {
      if (n.step / 16 != half) continue;
      int st = n.step % 16;
      int note = tonic + degree_semitones(s_.key, chord.degree + n.degree, chord.leading_tone);
      lead_note(at(step_time(bar, st)), size_t(steps_len(n.len) * 0.9), note, st % 4 == 0 ? 1.0f : 0.8f);
    }
  }

  if (layer_on(sec, bar_in_sec, 'R') && bar_in_sec == sec.bars - 4) {
    size_t p = at(step_time(bar, 0));
    riser(p, at(step_time(bar + 4, 0)) - p);
  }
}

RenderedTrack Renderer::run() {
  make_drums();
  make_motif();
  RenderedTrack out;
  int bar = 0;
  for (size_t si = 0; si < s_.sections.size(); ++si) {
    const auto& sec = s_.sections[si];
    bool next_has_drums = si + 1 < s_.sections.size() && s_.sections[si + 1].layers.find('K') != std::string::npos;
    for (int b = 0; b < sec.bars; ++b) {
      bool fill = b == sec.bars - 1 && next_has_drums && layer_on(sec, b, 'S');
      play_bar(sec, bar + b, b, fill);
    }
    out.sections.push_back({sec.name, bar, sec.bars, step_time(bar, 0), step_time(bar + sec.bars, 0), sec.layers});
    bar += sec.bars;
  }

  // Effects and mix.
  Bus mix(frames_);
  for (size_t i = 0; i < frames_; ++i) {
    float d = duck_[i];
    float dl = 1.0f - (1.0f - d) * 0.5f;  // the lead ducks half as much
    float b = bass_[i] * d + kickbus_[i];
    mix.l[i] = drums_.l[i] + b + music_.l[i] * d + lead_.l[i] * dl;
    mix.r[i] = drums_.r[i] + b + music_.r[i] * d + lead_.r[i] * dl;
  }
  Reverb room;
  room.process(verb_, mix, 0.5f);
  ping_pong_delay(echo_, mix, size_t(0.75 * beat_s_ * kRate), 0.38f, 0.5f);

  // Level: aim at a club-ready RMS, never let a sample reach full scale.
  double sum = 0.0, peak = 0.0;
  for (size_t i = 0; i < frames_; ++i) {
    sum += double(mix.l[i]) * mix.l[i] + double(mix.r[i]) * mix.r[i];
    peak = std::max({peak, double(std::fabs(mix.l[i])), double(std::fabs(mix.r[i]))});
  }
  double rms = std::sqrt(sum / (2.0 * frames_));
  double gain = std::min(0.18 / std::max(rms, 1e-9), 0.94 / std::max(peak, 1e-9));
  out.pcm.resize(frames_ * 2);
  for (size_t i = 0; i < frames_; ++i) {
    out.pcm[2 * i] = int16_t(std::clamp<long>(std::lround(mix.l[i] * gain * 32767.0), -32768, 32767));
    out.pcm[2 * i + 1] = int16_t(std::clamp<long>(std::lround(mix.r[i] * gain * 32767.0), -32768, 32767));
  }
  out.frames = frames_;
  out.duration_s = double(frames_) / kRate;
  out.total_bars = total_bars_;
  for (int st = 0; st < 16; ++st)
    if (g_.kick[st] != '.') out.kick_beats.push_back(st / 4.0);
  out.kicks = kick_pos_.size();
  out.peak = peak * gain;
  out.rms_db = 20.0 * std::log10(rms * gain);
  return out;
}

}  // namespace

RenderedTrack render_track(const TrackSpec& spec) { return Renderer(spec).run(); }

}  // namespace demo

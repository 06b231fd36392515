// Audio output of a page: the master to the main output, the DJ's headphone cue to a chosen
// output device (setSinkId) or, for a DJ with one output, split cue: master in the left ear and
// cue in the right. Analysers on the master feed the spectrum and VU meters.

export class AudioOut {
  constructor() {
    this.ctx = new AudioContext({ latencyHint: 'interactive' });
    this.master = null; this.cue = null;
    this.masterGain = this.ctx.createGain();
    this.masterGain.connect(this.ctx.destination);
    // Meters: one analyser for the spectrum, one per channel for the VU.
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 2048;
    this.analyser.smoothingTimeConstant = 0.6;
    this.splitter = this.ctx.createChannelSplitter(2);
    this.vu = [this.ctx.createAnalyser(), this.ctx.createAnalyser()];
    this.vu.forEach((a, i) => { a.fftSize = 1024; this.splitter.connect(a, i); });
    this.mode = 'off'; // off | device | split
    this.cueEnabled = true; // headphones hear the cue mix (true) or the master (false)
    this.cueDevice = '';
    this.holders = [];
  }

  /** Chromium only pulls audio of a remote WebRTC stream into WebAudio while a media element
   * plays it: keep one muted element per stream. */
  hold(stream) {
    const el = new Audio();
    el.muted = true; el.srcObject = stream; el.play().catch(() => {});
    this.holders.push(el);
    return el;
  }

  setStreams(streams) {
    const [master, cue] = streams;
    if (master && master !== this.masterStream) {
      this.masterStream = master;
      this.hold(master);
      this.master?.disconnect();
      this.master = this.ctx.createMediaStreamSource(master);
      this.master.connect(this.masterGain);
      this.master.connect(this.analyser);
      this.master.connect(this.splitter);
    }
    if (cue && cue !== this.cueStream) {
      this.cueStream = cue;
      this.hold(cue);
      this.cue?.disconnect();
      this.cue = this.ctx.createMediaStreamSource(cue);
      this.route();
    }
  }

  async resume() { if (this.ctx.state !== 'running') await this.ctx.resume().catch(() => {}); return this.ctx.state; }

  /** Headphone routing: 'off', 'split' (one output: master left, cue right) or 'device' with an
   * output device id (the cue stream played by its own element on that device). */
  async setCueOutput(mode, deviceId = '') {
    this.mode = mode; this.cueDevice = deviceId;
    await this.route();
  }

  async route() {
    this.cueEl?.pause();
    this.splitNodes?.forEach((n) => n.disconnect());
    if (this.splitNodes) this.cue?.disconnect();
    this.splitNodes = null;
    this.masterGain.disconnect();
    const hpSource = this.cueEnabled && this.cue ? this.cue : this.master;
    const hpStream = this.cueEnabled && this.cueStream ? this.cueStream : this.masterStream;
    if (this.mode === 'split' && hpSource && this.master) {
      // Sum each stream to mono, master → left, cue → right.
      const merger = this.ctx.createChannelMerger(2);
      const mMono = this.ctx.createGain(); mMono.channelCount = 1; mMono.channelCountMode = 'explicit';
      const cMono = this.ctx.createGain(); cMono.channelCount = 1; cMono.channelCountMode = 'explicit';
      this.masterGain.connect(mMono); hpSource.connect(cMono);
      mMono.connect(merger, 0, 0); cMono.connect(merger, 0, 1);
      merger.connect(this.ctx.destination);
      this.splitNodes = [merger, mMono, cMono];
      return;
    }
    this.masterGain.connect(this.ctx.destination);
    if (this.mode === 'device' && hpStream) {
      if (!this.cueEl) this.cueEl = new Audio();
      if (this.cueEl.srcObject !== hpStream) this.cueEl.srcObject = hpStream;
      if (this.cueEl.setSinkId) await this.cueEl.setSinkId(this.cueDevice).catch((e) => console.warn('setSinkId', e));
      this.cueEl.play().catch(() => {});
    }
  }

  /** Output devices the page may use (labels appear once the user allowed media access). */
  static async outputDevices() {
    if (!navigator.mediaDevices?.enumerateDevices) return [];
    const all = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    return all.filter((d) => d.kind === 'audiooutput');
  }

  /** RMS and peak (dBFS) of the master per channel, for the VU meters. */
  levels() {
    const out = [];
    if (!this.buf) this.buf = new Float32Array(1024);
    for (const a of this.vu) {
      a.getFloatTimeDomainData(this.buf);
      let sum = 0, peak = 0;
      for (let i = 0; i < this.buf.length; i++) { const v = this.buf[i]; sum += v * v; const m = Math.abs(v); if (m > peak) peak = m; }
      const rms = Math.sqrt(sum / this.buf.length);
      out.push({ rmsDb: 20 * Math.log10(rms + 1e-9), peakDb: 20 * Math.log10(peak + 1e-9) });
    }
    return out;
  }
}

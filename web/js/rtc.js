// The receiving WebRTC peer. The server's webrtcbin makes the offer; we answer and trade ICE over
// the WebSocket. A DJ receives two audio tracks (master, then their headphone cue mix),
// a spectator one (master).

export class Receiver {
  constructor(conn, { onTracks = () => {} } = {}) {
    this.conn = conn;
    this.onTracks = onTracks;
    this.pc = null;
    this.streams = []; // in m-line order: [master, cue]
    // jitterBufferMs: the average since the start; jitterBufferNowMs: over the last sample's interval
    // (the browser holds far more audio in the first seconds, then drains to its target).
    this.stats = { rttMs: NaN, jitterMs: NaN, lossPct: NaN, bytes: 0, kbps: NaN, jitterBufferMs: NaN, jitterBufferNowMs: NaN, state: 'new' };
    this.prevStats = null;
    conn.on('offer', (m) => this.handleOffer(m).catch((e) => console.error('offer', e)));
    conn.on('ice', (m) => this.handleIce(m));
    this.pendingIce = [];
  }

  newPeer() {
    this.pc?.close();
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    this.streams = [];
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        this.conn.send({ type: 'ice', candidate: e.candidate.candidate, sdpMLineIndex: e.candidate.sdpMLineIndex ?? 0 });
      }
    };
    pc.ontrack = (e) => {
      const idx = pc.getTransceivers().indexOf(e.transceiver);
      // One stream per track: the server may put master and cue in one MediaStream, and WebAudio
      // would then read the same (first) track for both.
      const stream = new MediaStream([e.track]);
      this.streams[idx < 0 ? this.streams.length : idx] = stream;
      this.onTracks(this.streams.filter(Boolean));
    };
    pc.onconnectionstatechange = () => { this.stats.state = pc.connectionState; };
    return pc;
  }

  async handleOffer(m) {
    // A new offer on a closed/failed peer (or the first one) starts a new peer; otherwise it
    // renegotiates the current one.
    const pc = (!this.pc || ['closed', 'failed'].includes(this.pc.connectionState)) ? this.newPeer() : this.pc;
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
    for (const c of this.pendingIce.splice(0)) await pc.addIceCandidate(c).catch(() => {});
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.conn.send({ type: 'answer', sdp: pc.localDescription.sdp });
  }

  handleIce(m) {
    if (!m.candidate) return;
    const c = { candidate: m.candidate, sdpMLineIndex: m.sdpMLineIndex ?? 0 };
    if (!this.pc || !this.pc.remoteDescription) { this.pendingIce.push(c); return; }
    this.pc.addIceCandidate(c).catch(() => {});
  }

  /** Samples getStats: RTT (selected candidate pair), jitter, loss, bytes and bitrate of inbound audio. */
  async sample() {
    if (!this.pc) return this.stats;
    const report = await this.pc.getStats();
    let bytes = 0, lost = 0, received = 0, jitter = 0, jbDelay = 0, jbCount = 0, rtt = NaN, n = 0;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        bytes += s.bytesReceived ?? 0;
        lost += Math.max(0, s.packetsLost ?? 0);
        received += s.packetsReceived ?? 0;
        jitter = Math.max(jitter, s.jitter ?? 0);
        jbDelay += s.jitterBufferDelay ?? 0; jbCount += s.jitterBufferEmittedCount ?? 0;
        n++;
      } else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && Number.isFinite(s.currentRoundTripTime)) {
        rtt = s.currentRoundTripTime * 1000;
      }
    });
    const now = performance.now();
    const st = this.stats;
    if (this.prevStats) {
      const dt = (now - this.prevStats.t) / 1000;
      if (dt > 0) st.kbps = ((bytes - this.prevStats.bytes) * 8) / 1000 / dt;
      const dl = lost - this.prevStats.lost, dr = received - this.prevStats.received;
      st.lossPct = dl + dr > 0 ? (100 * dl) / (dl + dr) : 0;
      const dc = jbCount - this.prevStats.jbCount;
      if (dc > 0) st.jitterBufferNowMs = (1000 * (jbDelay - this.prevStats.jbDelay)) / dc;
    }
    this.prevStats = { t: now, bytes, lost, received, jbDelay, jbCount };
    st.bytes = bytes; st.tracks = n; st.rttMs = rtt;
    st.jitterMs = jitter * 1000;
    st.jitterBufferMs = jbCount > 0 ? (1000 * jbDelay) / jbCount : NaN;
    st.totalLossPct = lost + received > 0 ? (100 * lost) / (lost + received) : 0;
    st.state = this.pc.connectionState;
    return st;
  }
}

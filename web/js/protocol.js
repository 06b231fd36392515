// WebSocket client of docs/PROTOCOL.md: join, control with acks, ping/pong, reconnect.

export function wsUrl(path = '/ws', loc = globalThis.location) {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${loc.host}${path}`;
}

/** Median of the recent values (ack latency, RTT): steadier to read than the last one. */
export function median(values) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export class Connection {
  /** @param {{battle:string, seat:string, token?:string, url?:string}} opts */
  constructor({ battle, seat, token, url = wsUrl() }) {
    this.battle = battle; this.seat = seat; this.token = token; this.url = url;
    this.handlers = new Map();
    this.nextId = 1;
    this.sentAt = new Map();
    this.ackLatencies = [];
    this.rtts = [];
    this.clockOffsetMs = 0; // server_time − local time (ms), from pong
    this.status = 'idle';
    this.retry = 0;
    this.closed = false;
    this.sentLog = []; // last messages sent (for the page's own diagnostics and tests)
  }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  emit(type, msg) {
    for (const fn of this.handlers.get(type) ?? []) {
      try { fn(msg); } catch (e) { console.error(`handler for ${type}`, e); }
    }
    for (const fn of this.handlers.get('*') ?? []) fn(msg);
  }

  setStatus(s) { this.status = s; this.emit('status', { type: 'status', status: s }); }

  connect() {
    this.closed = false;
    this.setStatus('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.setStatus('open');
      const join = { type: 'join', battle: this.battle, seat: this.seat };
      if (this.token) join.token = this.token;
      this.send(join);
      this.ping();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.ping(), 2000);
    };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (!msg || typeof msg.type !== 'string') return;
      this.receive(msg);
    };
    ws.onclose = () => {
      clearInterval(this.pingTimer);
      if (this.ws !== ws) return;
      this.setStatus(this.closed ? 'closed' : 'reconnecting');
      if (!this.closed) {
        const delay = Math.min(5000, 250 * 2 ** this.retry++);
        setTimeout(() => { if (!this.closed) this.connect(); }, delay);
      }
    };
    ws.onerror = () => {};
  }

  close() { this.closed = true; clearInterval(this.pingTimer); this.ws?.close(); }

  receive(msg) {
    const now = performance.now();
    if (msg.type === 'ack' && msg.id !== undefined) {
      const t = this.sentAt.get(msg.id);
      if (t !== undefined) {
        this.sentAt.delete(msg.id);
        msg.latencyMs = now - t;
        this.ackLatencies.push(msg.latencyMs);
        if (this.ackLatencies.length > 30) this.ackLatencies.shift();
      }
    } else if (msg.type === 'pong' && Number.isFinite(msg.client_time)) {
      const rtt = now - msg.client_time;
      this.rtts.push(rtt);
      if (this.rtts.length > 15) this.rtts.shift();
      if (Number.isFinite(msg.server_time)) {
        // server_time may be seconds or ms since the epoch; bring it to ms.
        const st = msg.server_time < 1e11 ? msg.server_time * 1000 : msg.server_time;
        this.clockOffsetMs = st - (Date.now() - rtt / 2);
      }
    } else if (msg.type === 'error' && msg.id !== undefined) {
      this.sentAt.delete(msg.id);
    }
    this.emit(msg.type, msg);
  }

  send(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    this.sentLog.push(obj);
    if (this.sentLog.length > 50) this.sentLog.shift();
    return true;
  }

  /** Sends a control message with a fresh id; returns the id (or null when not connected). */
  control(msg) {
    const id = this.nextId++;
    const m = { ...msg, id };
    if (!this.send(m)) return null;
    this.sentAt.set(id, performance.now());
    if (this.sentAt.size > 500) this.sentAt.delete(this.sentAt.keys().next().value);
    return id;
  }

  ping() { this.send({ type: 'ping', client_time: performance.now() }); }

  /** Server time now (ms since the epoch), from the pong clock offset. */
  serverNowMs() { return Date.now() + this.clockOffsetMs; }

  ackLatencyMs() { return median(this.ackLatencies); }
  rttMs() { return median(this.rtts); }
}

/** Reads battle id, seat and token from a page address: /dj/<battle>?seat=a&token=… or
 * /watch/<battle>, with ?battle= also accepted. */
export function parseBattleLocation(loc = globalThis.location) {
  const params = new URLSearchParams(loc.search);
  const parts = loc.pathname.split('/').filter(Boolean);
  let battle = params.get('battle');
  if (!battle && parts.length >= 2 && (parts[0] === 'dj' || parts[0] === 'watch')) battle = decodeURIComponent(parts[1]);
  return {
    battle: battle || '',
    seat: params.get('seat') || 'spectator',
    token: params.get('token') || '',
    overlay: params.get('overlay') === '1',
  };
}

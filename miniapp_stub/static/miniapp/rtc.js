// The video hearing client shared by the mini-program room and the console: the signaling
// WebSocket (token in the first message, never in the URL) and one RTCPeerConnection per media
// session — "publish" (my camera to the court server), "subscribe" (one other participant's media
// from the server) and "loopback" (the equipment self-test echo). The server relays every stream,
// so joining or leaving never renegotiates anyone else's connection.

// Close codes after which reconnecting would be wrong: the judge said no, or the hearing ended.
import { h } from '/miniapp/ui.js';

const FINAL_CLOSE = new Set([4000, 4001, 4003, 4401, 4403, 4404, 4409]);
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000];

export class SignalingError extends Error {
  constructor(code, detail) {
    super(detail || code);
    this.code = code;
    // Shaped like an API problem so ui.errorBox shows it the same way.
    this.problem = { code, detail: detail || code };
  }
}

function iceConfig(servers) {
  return { iceServers: (servers || []).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })) };
}

export class HearingClient {
  // token(): a promise of a fresh access token; on(event) gets every server message, plus the
  // client's own "_remote" (a subscribed stream arrived), "_connection" (up/reconnecting/lost).
  constructor(hearingId, { token, on }) {
    this.hearingId = hearingId;
    this.token = token;
    this.on = on;
    this.ws = null;
    this.welcome = null;
    this.me = null;
    this.localStream = null;
    this.sessions = new Map(); // session id -> { pc, purpose, publisher }
    this.counter = 0;
    this.closedByUs = false;
    this.attempt = 0;
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/api/v1/hearings/video/${this.hearingId}/signaling`;
  }

  // Resolves with the welcome, or rejects with the server's error (presence_required …).
  async connect() {
    const token = await this.token();
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url());
      this.ws = ws;
      let settled = false;
      let lastError = null;
      ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
      ws.addEventListener('message', (event) => {
        const message = JSON.parse(event.data);
        if (message.type === 'error' && !message.session_id) lastError = message;
        if (!settled && message.type === 'welcome') { settled = true; this.attempt = 0; resolve(message); }
        if (!settled && message.type === 'error') { settled = true; reject(new SignalingError(message.code, message.detail)); }
        this.handle(message);
      });
      ws.addEventListener('close', (event) => {
        if (this.ws !== ws) return;
        if (!settled) {
          settled = true;
          reject(lastError ? new SignalingError(lastError.code, lastError.detail)
            : new SignalingError('signaling_closed', `连接已断开 / connection closed (${event.code})`));
          return;
        }
        this.dropped(event.code, event.reason);
      });
    });
  }

  handle(message) {
    if (message.type === 'welcome') {
      this.welcome = message;
      this.me = message.participant_id;
    }
    if (message.type === 'error' && message.session_id) {
      const session = this.sessions.get(message.session_id);
      if (session && session.reject) session.reject(new SignalingError(message.code, message.detail));
    }
    if (message.type === 'answer') {
      const session = this.sessions.get(message.session_id);
      if (session && session.resolve) session.resolve(message.sdp);
    }
    this.on(message);
  }

  // Lost the socket: media sessions die with it on the server, so start over with new ones.
  dropped(code, reason) {
    this.closeSessions(false);
    if (this.closedByUs || FINAL_CLOSE.has(code)) {
      this.on({ type: '_connection', state: 'closed', code, reason });
      return;
    }
    const delay = RECONNECT_DELAYS_MS[Math.min(this.attempt, RECONNECT_DELAYS_MS.length - 1)];
    this.attempt += 1;
    this.on({ type: '_connection', state: 'reconnecting', attempt: this.attempt });
    setTimeout(async () => {
      if (this.closedByUs) return;
      try {
        const welcome = await this.connect();
        this.on({ type: '_connection', state: 'up', resumed: welcome.resumed });
      } catch (error) {
        // The server is not back yet: try again, a bounded number of times.
        if (error.code === 'signaling_closed' && this.attempt < 8) this.dropped(1006, '');
        else this.on({ type: '_connection', state: 'failed', error });
      }
    }, delay);
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new SignalingError('not_connected', '未连接 / not connected');
    this.ws.send(JSON.stringify(message));
  }

  async negotiate(purpose, pc, publisher) {
    this.counter += 1;
    const sessionId = `${purpose}-${this.counter}-${Math.random().toString(36).slice(2, 8)}`;
    const session = { pc, purpose, publisher };
    this.sessions.set(sessionId, session);
    // Candidates found before the offer is on its way wait for it (the server makes the
    // session when it reads the offer).
    const early = [];
    let offered = false;
    pc.addEventListener('icecandidate', (event) => {
      const c = event.candidate;
      const message = {
        type: 'candidate', session_id: sessionId,
        candidate: c ? c.candidate : null, sdp_mid: c ? c.sdpMid : null, sdp_mline_index: c ? c.sdpMLineIndex : null,
      };
      if (!c || !c.candidate) return; // end of candidates: nothing to tell aiortc
      if (offered) { try { this.send(message); } catch { /* socket gone: the session is rebuilt */ } } else early.push(message);
    });
    const answer = new Promise((resolve, reject) => { session.resolve = resolve; session.reject = reject; });
    await pc.setLocalDescription(await pc.createOffer());
    const body = { type: 'offer', session_id: sessionId, purpose, sdp: pc.localDescription.sdp };
    if (publisher) body.publisher_id = publisher;
    this.send(body);
    offered = true;
    for (const message of early) this.send(message);
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: await answer });
    } catch (error) {
      this.closeSession(sessionId);
      throw error;
    }
    return sessionId;
  }

  newPeer() {
    return new RTCPeerConnection(iceConfig(this.welcome && this.welcome.ice_servers));
  }

  async publish(stream) {
    this.localStream = stream;
    for (const [id, s] of this.sessions) if (s.purpose === 'publish') this.closeSession(id);
    const pc = this.newPeer();
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    return this.negotiate('publish', pc);
  }

  async subscribe(publisher) {
    if (publisher === this.me) return null;
    for (const [id, s] of this.sessions) if (s.purpose === 'subscribe' && s.publisher === publisher) this.closeSession(id);
    const pc = this.newPeer();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const remote = new MediaStream();
    pc.addEventListener('track', (event) => {
      remote.addTrack(event.track);
      this.on({ type: '_remote', publisher, stream: remote, pc });
    });
    return this.negotiate('subscribe', pc, publisher);
  }

  // The equipment self-test: my own media echoed by the server. Resolves with the echo stream.
  async loopback(stream) {
    const pc = this.newPeer();
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    const echo = new MediaStream();
    pc.addEventListener('track', (event) => echo.addTrack(event.track));
    const sessionId = await this.negotiate('loopback', pc);
    return { sessionId, stream: echo, pc };
  }

  subscriptions() {
    return [...this.sessions.values()].filter((s) => s.purpose === 'subscribe');
  }

  closeSession(sessionId, tell = true) {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    this.sessions.delete(sessionId);
    session.pc.close();
    if (tell) { try { this.send({ type: 'close_session', session_id: sessionId }); } catch { /* already gone */ } }
  }

  closeSessions(tell = true) {
    for (const id of [...this.sessions.keys()]) this.closeSession(id, tell);
  }

  close() {
    this.closedByUs = true;
    this.closeSessions(false);
    if (this.ws) this.ws.close(1000, 'bye');
  }
}

// One video tile: the picture, a name, a muted badge and a "receiving" counter.
export function videoTile(id, label) {
  const video = h('video', { playsinline: true, autoplay: true });
  const name = h('span', { class: 'tile-name' }, label);
  const badge = h('span', { class: 'tile-muted', hidden: true }, '已静音 / muted');
  const frames = h('span', { class: 'tile-frames' }, '');
  const el = h('div', { class: 'tile', dataset: { participant: id } }, video, h('div', { class: 'tile-bar' }, name, badge, frames));
  return { el, video, name, badge, frames, pc: null };
}

// The other participants' tiles in a grid, one per publisher (the phone's room and the judge's
// console show them alike); ``labelOf(id)`` names a new tile.
export class VideoTiles {
  constructor(grid, labelOf) {
    this.grid = grid;
    this.labelOf = labelOf;
    this.tiles = new Map();
  }

  get(id) {
    let t = this.tiles.get(id);
    if (!t) {
      t = videoTile(id, this.labelOf(id));
      this.tiles.set(id, t);
      this.grid.append(t.el);
    }
    return t;
  }

  drop(id) {
    const t = this.tiles.get(id);
    if (t) { t.el.remove(); this.tiles.delete(id); }
  }

  dropAll() {
    for (const id of [...this.tiles.keys()]) this.drop(id);
  }

  setMuted(id, muted) {
    const t = this.tiles.get(id);
    if (t) t.badge.hidden = !muted;
  }

  // "Receiving" per tile, from the connection's own statistics.
  async refreshStats() {
    for (const t of this.tiles.values()) {
      if (!t.pc) continue;
      const n = await framesDecoded(t.pc);
      t.frames.textContent = n > 0 ? `▶ ${n}` : '连接中 / connecting…';
      t.el.dataset.framesDecoded = String(n);
    }
  }
}

// Frames decoded from every inbound video stream of a peer connection (for the "receiving"
// indicator and the browser test).
export async function framesDecoded(pc) {
  let total = 0;
  const stats = await pc.getStats();
  stats.forEach((report) => {
    if (report.type === 'inbound-rtp' && report.kind === 'video') total += report.framesDecoded || 0;
  });
  return total;
}

// What came back over a connection: decoded video frames and received audio packets (the
// equipment self-test shows both, so a dead microphone is noticed before the hearing).
export async function received(pc) {
  const out = { frames: 0, audioPackets: 0 };
  const stats = await pc.getStats();
  stats.forEach((report) => {
    if (report.type !== 'inbound-rtp') return;
    if (report.kind === 'video') out.frames += report.framesDecoded || 0;
    if (report.kind === 'audio') out.audioPackets += report.packetsReceived || 0;
  });
  return out;
}

export function mediaError(error) {
  const name = error && error.name;
  if (name === 'NotAllowedError') return new SignalingError('camera_denied', '未获得摄像头/麦克风权限 / camera or microphone permission refused');
  if (name === 'NotFoundError') return new SignalingError('no_camera', '未找到摄像头或麦克风 / no camera or microphone found');
  if (name === 'NotReadableError') return new SignalingError('camera_busy', '摄像头被占用 / the camera is in use by another app');
  return error;
}

export async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new SignalingError('no_media', '此浏览器无法使用摄像头 / this browser cannot use the camera');
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, facingMode: 'user' }, audio: true });
  } catch (error) {
    throw mediaError(error);
  }
}

export const PRESENCE = {
  absent: '未到 / absent',
  lobby: '候庭 / in the lobby',
  admitted: '在庭 / in the room',
  reconnecting: '重连中 / reconnecting',
};

export const NOTICE = {
  sent: '已交电子送达 / handed to e-service',
  pending: '待送达 / to be served',
  no_recipients: '无受送达人 / no recipients',
};

export const ROLES = {
  judge: '法官 Judge',
  clerk: '书记员 Clerk',
  mediator: '调解员 Mediator',
  party: '当事人 Party',
  lawyer: '律师 Lawyer',
};

export function clockOffset(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.floor(ms / 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

// The hearing console for the judge, the clerk and a mediation's mediator: join the room (own camera, everyone's video),
// the lobby with admit/deny, mute/unmute and remove, the session (open, recess with a reason,
// resume, close), the recording (pause with a reason, resume, start again), the clerk's
// timestamped notes, and after closing the recording manifest with its verification.
import { busy, clear, errorBox, field, h, progressBar, showError, when } from '/miniapp/ui.js';
import { HearingClient, NOTICE, PRESENCE, ROLES, VideoTiles, clockOffset, openCamera } from '/miniapp/rtc.js';

const BASE = '/api/v1/hearings/video';
// Court staff in the room (the server refuses to mute or remove them): hearings.video_room.
const COURT_ROLES = new Set(['judge', 'clerk', 'mediator']);
const EVENT = {
  started: '开始录像 / started',
  paused: '暂停录像 / paused',
  resumed: '恢复录像 / resumed',
  stopped: '停止录像 / stopped',
};

export async function hearingConsole(view, api, hearingId) {
  const base = `${BASE}/${hearingId}`;
  let hearing = await api.get(base);
  const me = await api.get('/api/v1/auth/me');
  // A mediator who is not on the case's bench hosts only this room: their way back is the
  // mediation, not the case's hearings (which they may not read).
  const mine = hearing.participants.find((p) => p.account_id === me.id);
  const back = mine && mine.role === 'mediator'
    ? [`#/mediation/${hearing.filing_id}`, '‹ 在线调解 / Mediation']
    : [`#/filing/${hearing.filing_id}/hearings`, '‹ 本案视频庭审 / The case\'s video hearings'];
  const slot = h('div', { id: 'console-error' });
  const header = h('div', { class: 'card', id: 'hearing-head' });
  const controls = h('div', { class: 'card', id: 'hearing-controls' });
  const lobby = h('div', { class: 'card', id: 'lobby' });
  const people = h('div', { class: 'card', id: 'participants' });
  const notes = h('div', { class: 'card', id: 'notes' });
  const record = h('div', { class: 'card', id: 'record', hidden: true });
  const stage = h('div', { class: 'card', id: 'stage' });
  const grid = h('div', { class: 'video-grid', id: 'remote-videos' });
  const reason = h('input', { name: 'reason', maxlength: '500', placeholder: '理由（休庭、暂停录像、移出时必填）/ reason (needed to recess, pause or remove)' });
  let client = null;
  let camera = null;
  let statsTimer = null;
  let waiting = [];
  let removed = false;
  const names = new Map();
  const tiles = new VideoTiles(grid, (id) => names.get(id) || id.slice(0, 8));

  function cleanup() {
    if (statsTimer) clearInterval(statsTimer);
    if (client) client.close();
    if (camera) for (const t of camera.getTracks()) t.stop();
    client = null;
  }
  window.addEventListener('hashchange', cleanup, { once: true });

  async function act(button, action) {
    return busy(button, slot, async () => {
      await action();
      hearing = await api.get(base);
      render();
    });
  }

  function button(label, id, action, cls = 'btn secondary') {
    const b = h('button', { class: cls, type: 'button', id }, label);
    b.addEventListener('click', () => act(b, action));
    return b;
  }

  function needReason() {
    const text = reason.value.trim();
    if (text.length < 2) throw new Error('请填写理由（至少2个字）/ give the reason (at least 2 characters)');
    reason.value = '';
    return text;
  }

  function renderHeader() {
    clear(header,
      h('p', {}, h('a', { href: back[0], id: 'back' }, back[1])),
      h('h2', {}, hearing.title, ' ', h('span', { class: `badge hearing-${hearing.status}`, id: 'hearing-status' }, `${hearing.status_zh} ${hearing.status_en}`),
        ' ', h('span', { class: 'badge rec', id: 'recording', hidden: !hearing.recording }, '● 录像中 / Recording')),
      h('dl', { class: 'kv' },
        h('dt', {}, '开庭 Starts'), h('dd', {}, when(hearing.starts_at)),
        h('dt', {}, '候庭 Lobby'), h('dd', {}, when(hearing.lobby_opens_at)),
        h('dt', {}, '通知 Notice'), h('dd', { id: 'notice-status', dataset: { status: hearing.notice_status } }, NOTICE[hearing.notice_status] || hearing.notice_status),
        hearing.opened_at ? [h('dt', {}, '开庭于 Opened'), h('dd', {}, when(hearing.opened_at))] : null,
        hearing.closed_at ? [h('dt', {}, '闭庭于 Closed'), h('dd', {}, when(hearing.closed_at))] : null));
  }

  function renderControls() {
    const s = hearing.status;
    const session = [];
    if (s === 'lobby_open') session.push(button('开庭（开始录像）/ Open the session', 'open-session', () => api.post(`${base}/open`), 'btn'));
    if (s === 'in_session') session.push(button('休庭 / Recess', 'recess', () => api.post(`${base}/recess`, { reason: needReason() })));
    if (s === 'recess') session.push(button('续开 / Resume the session', 'resume-session', () => api.post(`${base}/open`), 'btn'));
    if (s === 'in_session' || s === 'recess') session.push(button('闭庭 / Close the hearing', 'close-hearing', () => api.post(`${base}/close`), 'btn warn'));
    const recording = [];
    if (s === 'in_session' && hearing.recording) recording.push(button('暂停录像 / Pause recording', 'pause-recording', () => api.post(`${base}/recording/pause`, { reason: needReason() })));
    if (s === 'in_session' && !hearing.recording) {
      recording.push(button('恢复录像 / Resume recording', 'resume-recording', () => api.post(`${base}/recording/resume`)));
      recording.push(button('重新开始录像 / Start recording again', 'start-recording', () => api.post(`${base}/recording/start`, { reason: reason.value.trim() })));
    }
    clear(controls, h('h2', {}, '庭审控制 ', h('span', { class: 'en' }, 'Session and recording')),
      s === 'scheduled' ? h('p', { class: 'muted' }, `候庭室将于 ${when(hearing.lobby_opens_at)} 开放 / the lobby opens then`) : null,
      s === 'closed' ? h('p', { class: 'muted' }, '庭审已结束 / The hearing is closed') : null,
      s !== 'scheduled' && s !== 'closed' ? field('理由 Reason', reason) : null,
      h('div', { class: 'controls' }, session), h('div', { class: 'controls' }, recording));
  }

  function renderLobby() {
    clear(lobby, h('h2', {}, '候庭室 ', h('span', { class: 'en' }, 'Lobby')),
      !client ? h('p', { class: 'muted' }, '加入庭审室后显示候庭人员 / join the room to see who is waiting') : null,
      client && !waiting.length ? h('p', { class: 'muted', id: 'lobby-empty' }, '无人候庭 / nobody waiting') : null,
      waiting.length ? h('ul', { class: 'list', id: 'lobby-list' }, waiting.map((p) => h('li', { dataset: { participant: p.participant_id } },
        h('div', { class: 'title' }, `${p.display_name} · ${ROLES[p.role] || p.role}`),
        h('div', { class: 'controls' },
          button('准许进入 / Admit', `admit-${p.participant_id}`, () => api.post(`${base}/participants/${p.participant_id}/admit`), 'btn'),
          button('拒绝 / Deny', `deny-${p.participant_id}`, () => api.post(`${base}/participants/${p.participant_id}/deny`), 'btn warn'))))) : null);
  }

  function renderPeople() {
    for (const p of hearing.participants) names.set(p.id, `${p.display_name} · ${ROLES[p.role] || p.role}`);
    const live = hearing.status !== 'closed' && hearing.status !== 'scheduled';
    clear(people, h('h2', {}, '参加人 ', h('span', { class: 'en' }, 'Participants')),
      h('table', { class: 'people' }, h('tbody', {}, hearing.participants.map((p) => {
        const court = COURT_ROLES.has(p.role);
        const actions = [];
        if (live && !court && !p.removed && p.presence !== 'absent') {
          actions.push(p.muted
            ? button('取消静音 / Unmute', `unmute-${p.id}`, () => api.post(`${base}/participants/${p.id}/unmute`))
            : button('静音 / Mute', `mute-${p.id}`, () => api.post(`${base}/participants/${p.id}/mute`)));
          actions.push(button('移出 / Remove', `remove-${p.id}`, () => api.post(`${base}/participants/${p.id}/remove`, { reason: needReason() }), 'btn warn'));
        }
        return h('tr', { dataset: { participant: p.id } },
          h('td', {}, p.display_name, h('div', { class: 'muted' }, ROLES[p.role] || p.role)),
          h('td', {}, p.removed ? '已移出 / removed' : PRESENCE[p.presence] || p.presence, p.muted ? h('span', { class: 'badge muted-badge' }, ' 已静音 muted') : ''),
          h('td', {}, h('div', { class: 'controls' }, actions)));
      }))));
  }

  async function renderNotes() {
    const list = h('ol', { class: 'notes', id: 'note-list' });
    const text = h('textarea', { name: 'note', maxlength: '4000', placeholder: '笔录 / what was said or done' });
    const add = h('button', { class: 'btn secondary', type: 'button', id: 'add-note' }, '记录 / Add note');
    const noteSlot = h('div');
    add.addEventListener('click', () => busy(add, noteSlot, async () => {
      if (!text.value.trim()) throw new Error('请输入笔录内容 / write the note first');
      await api.post(`${base}/notes`, { text: text.value.trim() });
      text.value = '';
      await fill();
    }));
    async function fill() {
      const out = await api.get(`${base}/notes`);
      clear(list, out.items.length ? out.items.map((n) => h('li', {}, h('time', { title: when(n.at) }, clockOffset(n.offset_ms)), h('span', {}, n.text)))
        : h('li', { class: 'muted' }, '暂无笔录 / no notes yet'));
    }
    const running = ['lobby_open', 'in_session', 'recess'].includes(hearing.status);
    clear(notes, h('h2', {}, '庭审笔录 ', h('span', { class: 'en' }, 'Clerk\'s notes (time from the opening)')), list,
      running ? [field('笔录 Note', text), add] : null, noteSlot);
    try { await fill(); } catch (error) { clear(list, errorBox(error)); }
  }

  async function renderRecord() {
    record.hidden = false;
    const out = await api.get(`${base}/record`);
    const verifySlot = h('div', { id: 'verify-result' });
    const progress = progressBar();
    progress.hidden = true;
    const verify = h('button', { class: 'btn secondary', type: 'button', id: 'verify' }, '校验录像 / Verify the recording');
    verify.addEventListener('click', () => busy(verify, verifySlot, async () => {
      // The server re-hashes and decodes every segment: show that it is working.
      progress.hidden = false;
      progress.set(0.1);
      const result = await api.get(`${base}/record/verify`);
      progress.set(1);
      clear(verifySlot, result.ok
        ? h('div', { class: 'ok', id: 'verify-ok' }, `✓ ${result.segments} 个录像片段完整，哈希链连续 / all ${result.segments} segments present, intact and chained`)
        : h('div', { class: 'error', id: 'verify-bad' }, h('strong', {}, '✗ 校验未通过 / verification failed'), h('ul', {}, result.problems.map((p) => h('li', {}, p)))));
    }));
    clear(record, h('h2', {}, '庭审录像 ', h('span', { class: 'en' }, 'Recording manifest')),
      h('dl', { class: 'kv' },
        h('dt', {}, '清单哈希 Manifest'), h('dd', { class: 'hash', id: 'manifest-sha' }, out.manifest_sha256 || '—'),
        h('dt', {}, '片段 Segments'), h('dd', { id: 'segment-count' }, String(out.segments.length))),
      out.segments.length ? h('table', { class: 'queue', id: 'segments' },
        h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, '类型 Kind'), h('th', {}, '参加人 Who'), h('th', {}, '帧 Frames'), h('th', {}, '时段 Span'), h('th', { class: 'opt' }, 'SHA-256'))),
        h('tbody', {}, out.segments.map((s) => h('tr', {},
          h('td', {}, String(s.seq)), h('td', {}, s.kind), h('td', {}, names.get(s.participant_id) || s.participant_id.slice(0, 8)),
          h('td', {}, String(s.frames)), h('td', {}, `${when(s.started_at)} – ${when(s.ended_at).split(' ').pop()}`),
          h('td', { class: 'opt hash' }, `${s.sha256.slice(0, 16)}…`))))) : null,
      h('h3', {}, '录像日志 Recording log'),
      h('ul', {}, out.recording_events.map((e) => h('li', {}, `${when(e.at)} ${EVENT[e.kind] || e.kind}${e.reason ? `：${e.reason}` : ''}`))),
      verify, progress, verifySlot);
  }

  // ------------------------------------------------------------------ the room

  let refreshing = null;
  // Room events change presence and mute: fetch the hearing again (coalesced).
  function refreshSoon() {
    refreshing ??= setTimeout(async () => {
      refreshing = null;
      try { hearing = await api.get(base); render(); } catch (error) { showError(slot, error); }
    }, 300);
  }

  function onMessage(m) {
    switch (m.type) {
      case 'welcome':
        waiting = m.participants.filter((p) => p.state === 'lobby');
        renderLobby();
        if (m.state === 'admitted') {
          client.publish(camera)
            .then(async () => { for (const p of m.publishers) if (p !== m.participant_id) await client.subscribe(p); })
            .catch((error) => showError(slot, error));
        }
        break;
      case 'lobby':
        waiting = m.waiting;
        renderLobby();
        refreshSoon();
        break;
      case 'published':
        if (m.participant_id !== client.me) client.subscribe(m.participant_id).catch((error) => showError(slot, error));
        refreshSoon();
        break;
      case 'participant_joined':
      case 'participant_left':
      case 'participant_removed':
        if (m.type !== 'participant_joined' && m.participant.state !== 'reconnecting') {
          tiles.drop(m.participant.participant_id);
        }
        refreshSoon();
        break;
      case 'muted':
        tiles.setMuted(m.participant_id, m.muted);
        refreshSoon();
        break;
      case 'recording':
      case 'hearing_status':
        refreshSoon();
        break;
      case '_remote': {
        const t = tiles.get(m.publisher);
        t.pc = m.pc;
        if (t.video.srcObject !== m.stream) t.video.srcObject = m.stream;
        break;
      }
      case '_connection':
        if (m.state === 'reconnecting') clear(slot, h('div', { class: 'banner' }, `网络中断，正在重连 / reconnecting (${m.attempt})…`));
        if (m.state === 'up') clear(slot);
        if (m.state === 'failed') showError(slot, m.error);
        break;
      case 'removed':
        // A replaced mediator: the room let them go, and the hearing is no longer theirs.
        removed = true;
        cleanup();
        renderStage();
        break;
      case 'error':
        showError(slot, { problem: m });
        break;
      default:
        break;
    }
  }

  function renderStage() {
    if (removed) { clear(stage, h('h2', {}, '庭审室 Room'), h('p', { class: 'error', id: 'removed' }, '您已不再参加本次庭审 / you are no longer in this hearing')); return; }
    const live = ['lobby_open', 'in_session', 'recess'].includes(hearing.status);
    if (!live) { clear(stage, h('h2', {}, '庭审室 Room'), h('p', { class: 'muted' }, '庭审室未开放 / the room is not open')); return; }
    if (client) return; // joined: the stage keeps its videos
    const join = h('button', { class: 'btn', type: 'button', id: 'join-room' }, '进入庭审室 / Join the room');
    const mine = h('video', { playsinline: true, autoplay: true, muted: true });
    join.addEventListener('click', () => busy(join, slot, async () => {
      clear(stage, h('h2', {}, '庭审室 ', h('span', { class: 'en' }, 'Room')), h('p', { class: 'muted' }, '正在打开摄像头并连接… / Opening the camera and connecting…'));
      try {
        camera = await openCamera();
        mine.srcObject = camera;
        client = new HearingClient(hearingId, {
          token: async () => { await api.get('/api/v1/auth/me'); return api.accessToken(); },
          on: onMessage,
        });
        clear(stage, h('h2', {}, '庭审室 ', h('span', { class: 'en' }, 'Room')), grid,
          h('div', { class: 'self-view' }, h('div', { class: 'tile' }, mine, h('div', { class: 'tile-bar' }, h('span', { class: 'tile-name' }, '我 / Me')))));
        await client.connect();
        statsTimer = setInterval(() => tiles.refreshStats(), 1000);
      } catch (error) {
        cleanup();
        renderStage();
        throw error;
      }
    }));
    clear(stage, h('h2', {}, '庭审室 ', h('span', { class: 'en' }, 'Room')), join);
  }

  let shownStatus = hearing.status;
  let recordShown = false;
  function render() {
    if (hearing.status !== shownStatus) {
      shownStatus = hearing.status;
      renderNotes().catch((error) => showError(slot, error));
    }
    renderHeader();
    renderControls();
    renderLobby();
    renderPeople();
    renderStage();
    // Once: a later refresh (the room's own "closed" event) must not wipe a running verification.
    if (hearing.status === 'closed' && !recordShown) {
      recordShown = true;
      cleanup();
      renderRecord().catch((error) => clear(record, errorBox(error)));
    }
  }

  clear(view, slot, h('div', { class: 'cols' },
    h('div', {}, header, stage, notes, record),
    h('div', {}, controls, lobby, people)));
  render();
  await renderNotes();
}

// The video hearing room on the phone: face check (≤ 5 min), the lobby with the equipment
// self-test (the server echoes my own media back), waiting for the judge to admit me, then the
// room — my preview and every other participant's video and audio, mute state, recording state,
// and reconnection when the network drops.
import { api, go } from '/miniapp/session.js';
import { busy, clear, errorBox, h, showError, when } from '/miniapp/ui.js';
import { HearingClient, ROLES, VideoTiles, openCamera, received, videoTile } from '/miniapp/rtc.js';
import { currentPresence, faceCheckCard } from '/miniapp/pages/presence.js';

const BASE = '/api/v1/hearings/video';

// Refreshes the access token when needed (a 401 on this call renews it) and returns it.
async function freshToken() {
  await api.get('/api/v1/auth/me');
  return api.accessToken();
}

function statusBadge(hearing) {
  return h('span', { class: `badge hearing-${hearing.status}`, id: 'hearing-status' }, hearing.status_zh, h('small', {}, ` ${hearing.status_en}`));
}

// The card on a case page: its video hearings, each linking to its room.
export async function caseHearings(filingId) {
  const card = h('div', { class: 'card', id: 'video-hearings' }, h('h2', {}, '视频庭审 ', h('span', { class: 'en' }, 'Video hearings')));
  try {
    const list = await api.get(BASE, { filing_id: filingId });
    card.append(list.items.length
      ? h('ul', { class: 'list' }, list.items.map((v) => h('li', {}, h('a', { href: `#/hearing/video/${v.id}`, 'data-hearing': v.id },
        h('div', { class: 'title' }, v.title, ' ', statusBadge(v)),
        h('div', { class: 'muted' }, `开庭 / Starts ${when(v.starts_at)}`)))))
      : h('p', { class: 'muted' }, '暂无视频庭审 / No video hearing scheduled'));
  } catch (error) {
    card.append(errorBox(error));
  }
  return card;
}

export async function room(view, hearingId) {
  const hearing = await api.get(`${BASE}/${hearingId}`);
  const slot = h('div', { id: 'room-error' });
  const banner = h('div', { class: 'banner', id: 'connection', hidden: true });
  const statusLine = h('p', {}, statusBadge(hearing), ' ', h('span', { class: 'badge rec', id: 'recording', hidden: !hearing.recording }, '● 录像中 / Recording'));
  const head = h('div', { class: 'card' }, h('h2', {}, hearing.title), statusLine,
    h('p', { class: 'muted' }, `开庭 / Starts ${when(hearing.starts_at)} · 候庭室开放 / lobby opens ${when(hearing.lobby_opens_at)}`));
  const body = h('div');
  clear(view, head, banner, slot, body);

  if (hearing.status === 'scheduled') {
    const again = h('button', { class: 'btn secondary', type: 'button' }, '刷新 / Refresh');
    again.addEventListener('click', () => go(`#/hearing/video/${hearingId}`));
    clear(body, h('div', { class: 'card', id: 'not-open' },
      h('p', {}, `候庭室将于 ${when(hearing.lobby_opens_at)} 开放。`), h('p', { class: 'en' }, `The lobby opens at ${when(hearing.lobby_opens_at)}.`), again));
    return;
  }
  if (hearing.status === 'closed') {
    clear(body, h('div', { class: 'card', id: 'closed' }, h('p', {}, '庭审已结束。/ The hearing is closed.')));
    return;
  }

  let camera = null;
  let client = null;
  let leaving = false;
  const names = new Map();
  const grid = h('div', { class: 'video-grid', id: 'remote-videos' });
  const tiles = new VideoTiles(grid, (id) => names.get(id) || id.slice(0, 8));
  const mine = videoTile('me', '我 / Me');
  mine.video.muted = true;
  const myMute = h('div', { class: 'banner warn', id: 'my-mute', hidden: true }, '法官已将您静音 / The judge muted your microphone');
  let statsTimer = null;

  function cleanup() {
    leaving = true;
    if (statsTimer) clearInterval(statsTimer);
    if (client) client.close();
    if (camera) for (const t of camera.getTracks()) t.stop();
  }
  window.addEventListener('hashchange', cleanup, { once: true });

  function learn(participants) {
    for (const p of participants || []) names.set(p.participant_id, `${p.display_name || ''} · ${ROLES[p.role] || p.role}`);
  }

  function showLobby() {
    const echoVideo = h('video', { playsinline: true, autoplay: true, muted: true });
    const echoInfo = h('p', { class: 'muted', id: 'selftest-result' }, '');
    const echoSlot = h('div');
    const test = h('button', { class: 'btn secondary', type: 'button', id: 'selftest' }, '设备自检 / Test my camera and microphone');
    test.addEventListener('click', () => busy(test, echoSlot, async () => {
      clear(echoInfo, '自检中 / Testing…');
      const echo = await client.loopback(camera);
      echoVideo.srcObject = echo.stream;
      // Give the echo a few seconds, report what came back, keep showing it a little longer.
      let got = { frames: 0, audioPackets: 0 };
      for (let i = 0; i < 16 && got.frames === 0; i += 1) {
        await new Promise((resolve) => { setTimeout(resolve, 500); });
        got = await received(echo.pc);
      }
      setTimeout(() => client && client.closeSession(echo.sessionId), 8000);
      clear(echoInfo,
        got.frames > 0
          ? h('div', { class: 'ok-text' }, `✓ 摄像头正常：服务器回传 ${got.frames} 帧 / camera OK: ${got.frames} frames came back from the court server`)
          : h('div', { class: 'error-text' }, '✗ 没有收到回传画面，请检查摄像头和网络 / no video came back: check the camera and network'),
        got.audioPackets > 0
          ? h('div', { class: 'ok-text' }, `✓ 麦克风正常：回传 ${got.audioPackets} 个音频包 / microphone OK: ${got.audioPackets} audio packets came back`)
          : h('div', { class: 'error-text' }, '✗ 没有收到回传声音，请检查麦克风 / no sound came back: check the microphone'));
    }));
    clear(body,
      h('div', { class: 'card', id: 'lobby' },
        h('h2', {}, '候庭室 ', h('span', { class: 'en' }, 'Lobby')),
        h('div', { class: 'waiting' }, h('span', { class: 'spinner' }), '等待法官准许进入… / Waiting for the judge to admit you…'),
        h('div', { class: 'video-grid' }, mine.el, h('div', { class: 'tile' }, echoVideo, h('div', { class: 'tile-bar' }, h('span', { class: 'tile-name' }, '回传 / Echo')))),
        test, echoInfo, echoSlot),
      leaveButton());
  }

  function showRoom() {
    const mic = h('button', { class: 'btn secondary', type: 'button', id: 'toggle-mic' }, '关闭麦克风 / Mic off');
    mic.addEventListener('click', () => {
      const track = camera.getAudioTracks()[0];
      if (!track) return;
      track.enabled = !track.enabled;
      mic.textContent = track.enabled ? '关闭麦克风 / Mic off' : '打开麦克风 / Mic on';
    });
    const cam = h('button', { class: 'btn secondary', type: 'button', id: 'toggle-camera' }, '关闭摄像头 / Camera off');
    cam.addEventListener('click', () => {
      const track = camera.getVideoTracks()[0];
      if (!track) return;
      track.enabled = !track.enabled;
      cam.textContent = track.enabled ? '关闭摄像头 / Camera off' : '打开摄像头 / Camera on';
    });
    clear(body, myMute,
      h('div', { class: 'card room', id: 'room' },
        h('h2', {}, '庭审室 ', h('span', { class: 'en' }, 'Hearing room')),
        grid, h('div', { class: 'self-view' }, mine.el),
        h('div', { class: 'row' }, mic, cam)),
      leaveButton());
  }

  function leaveButton() {
    const leave = h('button', { class: 'btn warn', type: 'button', id: 'leave' }, '离开 / Leave');
    leave.addEventListener('click', () => { cleanup(); go(`#/case/${hearing.filing_id}`); });
    return leave;
  }

  async function admittedWelcome(welcome) {
    learn(welcome.participants);
    showRoom();
    const me = welcome.participants.find((p) => p.participant_id === welcome.participant_id);
    myMute.hidden = !(me && me.muted);
    try {
      await client.publish(camera);
      for (const publisher of welcome.publishers) if (publisher !== welcome.participant_id) await client.subscribe(publisher);
    } catch (error) {
      showError(slot, error);
    }
  }

  function final(text, id) {
    cleanup();
    clear(body, h('div', { class: 'error', id, role: 'alert' }, text), h('a', { class: 'btn secondary', href: `#/case/${hearing.filing_id}` }, '返回案件 / Back to the case'));
  }

  function onMessage(m) {
    if (leaving) return;
    switch (m.type) {
      case 'welcome':
        learn(m.participants);
        document.getElementById('recording').hidden = !m.recording;
        if (m.state === 'admitted') admittedWelcome(m);
        else if (m.state === 'lobby') showLobby();
        break;
      case 'published':
        if (client.welcome && m.participant_id !== client.me && document.getElementById('room')) {
          client.subscribe(m.participant_id).catch((error) => showError(slot, error));
        }
        break;
      case 'participant_joined':
        learn([m.participant]);
        break;
      case 'participant_left':
      case 'participant_removed':
        if (m.participant.state !== 'reconnecting') tiles.drop(m.participant.participant_id);
        break;
      case 'muted':
        if (m.participant_id === client.me) myMute.hidden = !m.muted;
        tiles.setMuted(m.participant_id, m.muted);
        break;
      case 'recording':
        document.getElementById('recording').hidden = m.state !== 'on';
        break;
      case 'hearing_status':
        if (m.status === 'closed') final('庭审已结束，感谢参加。/ The hearing is closed. Thank you.', 'closed');
        else {
          const badge = document.getElementById('hearing-status');
          badge.className = `badge hearing-${m.status}`;
          clear(badge, { in_session: '庭审中 in session', recess: '休庭 in recess', lobby_open: '候庭中 lobby open' }[m.status] || m.status);
        }
        break;
      case 'denied':
        final('法官未准许您进入本次庭审。/ The judge did not admit you to this hearing.', 'denied');
        break;
      case 'removed':
        final('您已被移出本次庭审。/ You were removed from this hearing.', 'removed');
        break;
      case '_remote': {
        const t = tiles.get(m.publisher);
        t.pc = m.pc;
        if (t.video.srcObject !== m.stream) t.video.srcObject = m.stream;
        break;
      }
      case '_connection':
        banner.hidden = m.state === 'up' || m.state === 'closed';
        if (m.state === 'closed' && m.code === 4001) final('您已在其他设备进入庭审 / You joined this hearing on another device.', 'elsewhere');
        else if (m.state === 'closed' && m.code === 4000) final('庭审已结束 / The hearing is closed.', 'closed');
        if (m.state === 'reconnecting') clear(banner, `网络中断，正在重连（第 ${m.attempt} 次）/ Connection lost, reconnecting (attempt ${m.attempt})…`);
        if (m.state === 'up') tiles.dropAll();
        if (m.state === 'failed') showError(slot, m.error);
        break;
      case 'error':
        showError(slot, { problem: m });
        break;
      default:
        break;
    }
  }

  async function enterLobby() {
    leaving = false;
    clear(body, h('p', { class: 'muted' }, '正在打开摄像头并连接… / Opening the camera and connecting…'));
    try {
      camera = await openCamera();
      mine.video.srcObject = camera;
      client = new HearingClient(hearingId, { token: freshToken, on: onMessage });
      await client.connect();
      statsTimer = setInterval(() => tiles.refreshStats(), 1000);
    } catch (error) {
      cleanup();
      if (error.code === 'presence_required') { clear(body, faceCheckCard(error, enterLobby)); return; }
      clear(body);
      showError(slot, error);
      const retry = h('button', { class: 'btn secondary', type: 'button' }, '重试 / Try again');
      retry.addEventListener('click', () => go(`#/hearing/video/${hearingId}`));
      body.append(retry);
    }
  }

  const { presence, why } = await currentPresence();
  if (presence) await enterLobby();
  else clear(body, faceCheckCard(why, enterLobby));
}

// Step-up face check before a hearing (Online Litigation Rules Art. 7): the same liveness flow as
// the real-name page — the server's random actions prompted while camera frames are taken, matched
// against the ID portrait — ending in an access token that proves presence for 5 minutes.
import { api } from '/miniapp/session.js';
import { busy, clear, field, h, progressBar, when } from '/miniapp/ui.js';

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function grabJpeg(video, canvas) {
  canvas.width = video.videoWidth || 640;
  canvas.height = video.videoHeight || 480;
  canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
}

// The presence the current token carries, or null (the 403 problem is returned as `why`).
export async function currentPresence() {
  try {
    return { presence: await api.get('/api/v1/identity/face/presence'), why: null };
  } catch (error) {
    if (error.status === 403) return { presence: null, why: error };
    throw error;
  }
}

// A card running the liveness check; calls onDone(presence) once the token carries it.
export function faceCheckCard(why, onDone) {
  const video = h('video', { playsinline: true, muted: true, autoplay: true });
  const canvas = h('canvas', { hidden: true });
  const prompt = h('div', { class: 'prompt', hidden: true });
  const portrait = h('input', { type: 'file', name: 'id_portrait', accept: 'image/jpeg,image/png', id: 'presence-portrait' });
  const actions = h('ol', { class: 'actions', id: 'presence-actions' });
  const progress = progressBar();
  progress.hidden = true;
  const slot = h('div');
  let stream = null;
  const run = h('button', { class: 'btn', type: 'button', id: 'presence-check' }, '开始人脸核验 / Start the face check');
  run.addEventListener('click', () => busy(run, slot, async () => {
    if (!portrait.files.length) throw new Error('请选择身份证人像面照片（与实名认证时相同）/ choose the ID portrait photo used for your real name');
    if (!stream) {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, facingMode: 'user' }, audio: false });
      video.srcObject = stream;
      await video.play();
    }
    const challenge = await api.post('/api/v1/identity/face/liveness/challenges');
    const steps = challenge.actions.map((a) => h('li', {}, a.prompt_zh_en));
    clear(actions, steps);
    const frames = [];
    const perAction = Math.ceil(Math.min(challenge.max_frames, Math.max(challenge.min_frames, 30)) / challenge.actions.length);
    prompt.hidden = false;
    try {
      for (const [index, action] of challenge.actions.entries()) {
        prompt.textContent = action.prompt_zh_en;
        steps.forEach((step, i) => step.classList.toggle('current', i === index));
        for (let i = 0; i < perAction; i += 1) {
          frames.push(await grabJpeg(video, canvas));
          await sleep(100);
        }
      }
      prompt.textContent = '上传中 / Uploading…';
      const form = new FormData();
      form.append('nonce', challenge.nonce);
      form.append('mirrored', 'false');
      form.append('id_portrait', portrait.files[0]);
      frames.forEach((frame, i) => form.append('frame', frame, `frame${String(i).padStart(2, '0')}.jpg`));
      progress.hidden = false;
      const out = await api.upload(`/api/v1/identity/face/liveness/${challenge.challenge_id}`, form, progress.set);
      api.setAccessToken(out.access_token);
      for (const track of stream.getTracks()) track.stop();
      stream = null;
      clear(slot, h('div', { class: 'ok' }, `已确认本人在场，有效至 / presence proven until ${when(out.presence_valid_until)}`));
      onDone(out);
    } finally {
      prompt.hidden = true;
    }
  }));
  window.addEventListener('hashchange', () => { if (stream) for (const t of stream.getTracks()) t.stop(); }, { once: true });
  return h('div', { class: 'card', id: 'presence-card' },
    h('h2', {}, '人脸核验 ', h('span', { class: 'en' }, 'Face check before the hearing')),
    why ? h('p', { class: 'muted', id: 'presence-why' }, why.problem ? why.problem.detail : String(why.message)) : null,
    h('p', { class: 'muted' }, '进入候庭室前需完成5分钟内的人脸核验；照片只用于本次比对。/ The lobby needs a face check from the last 5 minutes; photos are used for this check only.'),
    field('身份证人像面照片 / ID portrait photo', portrait),
    h('div', { class: 'camera' }, video, prompt), canvas,
    run, actions, progress, slot);
}

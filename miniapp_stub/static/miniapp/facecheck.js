// The step-up face check (liveness) other pages need before a legally significant act: signing
// for documents, entering a hearing stage, signing a transcript or an agreement. It is the same
// flow as on the real-name page: the server's random actions are prompted while camera frames
// are taken; a pass returns an access token carrying "presence" for the next few minutes.
import { api } from '/miniapp/session.js';
import { busy, clear, field, h, progressBar, when } from '/miniapp/ui.js';

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function grabJpeg(video, canvas) {
  canvas.width = video.videoWidth || 640;
  canvas.height = video.videoHeight || 480;
  canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
}

// The camera and the liveness run shared by every page that asks for a face check: `run(portrait)`
// prompts the server's random actions while frames are taken, uploads them with the ID portrait and
// stores the returned access token (it carries the presence); the caller lays out the elements.
export function faceCamera({ actionsId } = {}) {
  const video = h('video', { playsinline: true, muted: true, autoplay: true });
  const canvas = h('canvas', { hidden: true });
  const prompt = h('div', { class: 'prompt', hidden: true });
  const actions = h('ol', actionsId ? { class: 'actions', id: actionsId } : { class: 'actions' });
  const progress = progressBar();
  progress.hidden = true;
  let stream = null;
  const stop = () => {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
  };
  window.addEventListener('hashchange', stop, { once: true });
  async function start() {
    if (stream) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error('此浏览器无法使用摄像头 / this browser cannot use the camera');
    }
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, facingMode: 'user' }, audio: false });
    video.srcObject = stream;
    await video.play();
  }
  async function snapshot() {
    await start();
    return grabJpeg(video, canvas);
  }
  async function run(portraitFile) {
    await start();
    const challenge = await api.post('/api/v1/identity/face/liveness/challenges');
    const items = challenge.actions.map((a) => h('li', {}, a.prompt_zh_en));
    clear(actions, items);
    const frames = [];
    const perAction = Math.ceil(Math.min(challenge.max_frames, Math.max(challenge.min_frames, 30)) / challenge.actions.length);
    prompt.hidden = false;
    try {
      for (const [index, action] of challenge.actions.entries()) {
        prompt.textContent = action.prompt_zh_en;
        items.forEach((item, i) => item.classList.toggle('current', i === index));
        for (let i = 0; i < perAction; i += 1) {
          frames.push(await grabJpeg(video, canvas));
          await sleep(100);
        }
      }
      prompt.textContent = '上传中 / Uploading…';
      const form = new FormData();
      form.append('nonce', challenge.nonce);
      form.append('mirrored', 'false');
      form.append('id_portrait', portraitFile);
      frames.forEach((frame, i) => form.append('frame', frame, `frame${String(i).padStart(2, '0')}.jpg`));
      progress.hidden = false;
      const out = await api.upload(`/api/v1/identity/face/liveness/${challenge.challenge_id}`, form, progress.set);
      api.setAccessToken(out.access_token);
      return out;
    } finally {
      prompt.hidden = true;
    }
  }
  return { video, canvas, prompt, actions, progress, start, snapshot, run, stop };
}

// A collapsible card; `onPresent(out)` runs after a pass (out.presence_valid_until).
export function facePanel(onPresent, { label = '人脸核验 / Face check' } = {}) {
  const camera = faceCamera();
  const portrait = h('input', { type: 'file', accept: 'image/jpeg,image/png', class: 'face-portrait' });
  const slot = h('div');
  const button = h('button', { class: 'btn secondary face-check', type: 'button' }, label);
  button.addEventListener('click', () => busy(button, slot, async () => {
    if (!portrait.files.length) throw new Error('请选择身份证人像面照片 / choose your ID portrait photo');
    const out = await camera.run(portrait.files[0]);
    clear(slot, h('div', { class: 'ok face-ok' }, `已确认本人在场，有效至 / presence proven until ${when(out.presence_valid_until)}`));
    await onPresent(out);
  }));
  return h('details', { class: 'face-panel' },
    h('summary', {}, label),
    h('p', { class: 'muted' }, '按提示做动作；照片只用于本次核验。/ Follow the prompts; photos are used for this check only.'),
    field('身份证人像面照片 / ID portrait photo', portrait),
    h('div', { class: 'camera' }, camera.video, camera.prompt), camera.canvas,
    button, camera.actions, camera.progress, slot);
}

// True when the API refused for want of a recent face check (the caller then shows the panel).
export function needsPresence(error) {
  return Boolean(error && error.code === 'presence_required');
}

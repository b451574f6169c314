// Step-up face check before a hearing (Online Litigation Rules Art. 7): the same liveness flow as
// the real-name page — the server's random actions prompted while camera frames are taken, matched
// against the ID portrait — ending in an access token that proves presence for 5 minutes.
import { faceCamera } from '/miniapp/facecheck.js';
import { api } from '/miniapp/session.js';
import { busy, clear, field, h, when } from '/miniapp/ui.js';

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
  const camera = faceCamera({ actionsId: 'presence-actions' });
  const portrait = h('input', { type: 'file', name: 'id_portrait', accept: 'image/jpeg,image/png', id: 'presence-portrait' });
  const slot = h('div');
  const run = h('button', { class: 'btn', type: 'button', id: 'presence-check' }, '开始人脸核验 / Start the face check');
  run.addEventListener('click', () => busy(run, slot, async () => {
    if (!portrait.files.length) throw new Error('请选择身份证人像面照片（与实名认证时相同）/ choose the ID portrait photo used for your real name');
    const out = await camera.run(portrait.files[0]);
    camera.stop();
    clear(slot, h('div', { class: 'ok' }, `已确认本人在场，有效至 / presence proven until ${when(out.presence_valid_until)}`));
    onDone(out);
  }));
  return h('div', { class: 'card', id: 'presence-card' },
    h('h2', {}, '人脸核验 ', h('span', { class: 'en' }, 'Face check before the hearing')),
    why ? h('p', { class: 'muted', id: 'presence-why' }, why.problem ? why.problem.detail : String(why.message)) : null,
    h('p', { class: 'muted' }, '进入候庭室前需完成5分钟内的人脸核验；照片只用于本次比对。/ The lobby needs a face check from the last 5 minutes; photos are used for this check only.'),
    field('身份证人像面照片 / ID portrait photo', portrait),
    h('div', { class: 'camera' }, camera.video, camera.prompt), camera.canvas,
    run, camera.actions, camera.progress, slot);
}

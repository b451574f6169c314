// Sign-in, profile, consents and real-name verification (ID number, then a face check taken with
// the phone's camera, and the liveness prompts that prove presence).
import { api, go } from '/miniapp/session.js';
import { faceCamera } from '/miniapp/facecheck.js';
import { busy, clear, field, formValues, h, when } from '/miniapp/ui.js';
import * as wx from '/miniapp/wx.js';

export async function login(view) {
  const slot = h('div');
  const button = h('button', { class: 'btn', type: 'button', id: 'wx-login' }, '微信一键登录 / Sign in with WeChat');
  button.addEventListener('click', () => busy(button, slot, async () => {
    const { code } = await wx.login();
    const out = await api.post('/api/v1/identity/wechat/login', { code });
    api.setTokens(out);
    go(out.is_new_account ? '#/consents' : '#/cases');
  }));
  const other = h('button', { class: 'btn secondary', type: 'button' }, '换一个微信用户 / Another WeChat user');
  other.addEventListener('click', () => { wx.switchUser(); other.textContent = '已切换 / Switched — 请登录 / sign in'; });
  clear(view,
    h('div', { class: 'hero' },
      h('div', { class: 'logo' }, '⚖'),
      h('h2', {}, '移动微法院'),
      h('p', { class: 'muted' }, 'Mobile court — 网上立案、缴费、送达、开庭 / file, pay, receive documents, attend hearings')),
    h('div', { class: 'card' }, button, other, slot,
      h('p', { class: 'muted' }, '模拟 wx.login：登录码来自模拟微信平台。/ Simulated wx.login: the code comes from the fake WeChat platform.')),
    h('div', { class: 'card' }, h('a', { href: '#/tools' }, '不登录，使用诉讼费和期限计算器 → / Fee and deadline calculators without signing in')),
  );
}

export async function me(view) {
  const profile = await api.get('/api/v1/identity/me');
  const slot = h('div');
  const logout = h('button', { class: 'btn warn', type: 'button' }, '退出登录 / Sign out');
  logout.addEventListener('click', () => busy(logout, slot, async () => {
    await api.post('/api/v1/auth/logout');
    api.clearTokens();
    go('#/login');
  }));
  const real = profile.real_name;
  const active = profile.consents.filter((c) => c.active).map((c) => c.purpose);
  clear(view,
    h('div', { class: 'card' },
      h('h2', {}, profile.display_name),
      h('dl', { class: 'kv' },
        h('dt', {}, '角色 Role'), h('dd', {}, profile.roles.map((r) => r.display_name).join('、')),
        h('dt', {}, '手机 Phone'), h('dd', {}, profile.phone ? profile.phone.phone_masked : '未绑定 / not bound'),
        h('dt', {}, '实名 Real name'), h('dd', { id: 'realname-status' }, real ? `${real.name} · ${real.id_number_masked} · ${real.status_text}` : '未认证 / not registered'),
        h('dt', {}, '授权 Consents'), h('dd', {}, active.length ? active.join(', ') : '无 / none'),
      )),
    h('div', { class: 'card' },
      h('ul', { class: 'list' },
        h('li', {}, h('a', { href: '#/consents' }, '个人信息与人脸授权 → ', h('span', { class: 'en' }, 'Consents'))),
        h('li', {}, h('a', { href: '#/realname' }, '实名认证与人脸核验 → ', h('span', { class: 'en' }, 'Real name & face check'))),
      )),
    logout, slot,
  );
}

export async function consents(view) {
  const [notices, state] = await Promise.all([
    api.get('/api/v1/identity/consents/notices'),
    api.get('/api/v1/identity/consents'),
  ]);
  const activeByPurpose = Object.fromEntries(state.current.map((c) => [c.purpose, c.active]));
  const cards = notices.items.map((notice) => {
    const slot = h('div');
    const active = Boolean(activeByPurpose[notice.purpose]);
    const button = h('button', { class: active ? 'btn warn' : 'btn', type: 'button', 'data-purpose': notice.purpose },
      active ? '撤回同意 / Withdraw' : '同意 / I agree');
    button.addEventListener('click', () => busy(button, slot, async () => {
      await api.post('/api/v1/identity/consents', { purpose: notice.purpose, notice_version: notice.version, granted: !active });
      go('#/consents');
    }));
    return h('div', { class: 'card' },
      h('h2', {}, notice.title_zh, ' ', active ? h('span', { class: 'badge status-registered' }, '已同意 Granted') : null),
      h('p', { class: 'en' }, notice.title_en, notice.sensitive ? ' · sensitive personal information (PIPL Art. 29)' : ''),
      h('details', {}, h('summary', {}, '阅读全文 / Read the notice'),
        h('div', { class: 'notice-text' }, notice.text_zh), h('div', { class: 'notice-text' }, notice.text_en)),
      button, slot);
  });
  clear(view, ...cards, h('a', { class: 'btn secondary', href: '#/realname' }, '下一步：实名认证 / Next: real name'));
}

// ------------------------------------------------------------------ real name and face

// The outcome of the last face check, shown once on the page that follows it.
let flash = null;

export async function realname(view) {
  const profile = await api.get('/api/v1/identity/me');
  const real = profile.real_name;
  const consented = Object.fromEntries(profile.consents.map((c) => [c.purpose, c.active]));

  // Step 1: name and ID number.
  const idSlot = h('div');
  const idForm = h('form', { id: 'realname-form' },
    field('姓名 Name', h('input', { name: 'name', required: true, minlength: '2', maxlength: '64', autocomplete: 'name' })),
    field('公民身份号码 Resident ID number', h('input', { name: 'id_number', required: true, maxlength: '18', inputmode: 'text', autocomplete: 'off' }), '18 位，末位可为 X / 18 characters, the last may be X'),
    h('button', { class: 'btn', type: 'submit' }, '提交 / Submit'), idSlot);
  idForm.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(idForm.querySelector('button'), idSlot, async () => {
      await api.post('/api/v1/identity/realname', formValues(idForm));
      go('#/realname');
    });
  });

  // Step 2: ID portrait + selfie from the camera, then liveness with the same camera.
  const camera = faceCamera({ actionsId: 'liveness-actions' });
  const preview = h('img', { alt: '', hidden: true });
  const portrait = h('input', { type: 'file', name: 'id_portrait', accept: 'image/jpeg,image/png', id: 'id-portrait' });
  const faceSlot = h('div');
  let selfie = null;

  const cameraButton = h('button', { class: 'btn secondary', type: 'button', id: 'camera-start' }, '打开摄像头 / Start camera');
  cameraButton.addEventListener('click', () => busy(cameraButton, faceSlot, async () => {
    await camera.start();
    preview.hidden = true;
    camera.video.hidden = false;
  }));
  const shoot = h('button', { class: 'btn secondary', type: 'button', id: 'take-selfie' }, '拍照 / Take selfie');
  shoot.addEventListener('click', () => busy(shoot, faceSlot, async () => {
    selfie = await camera.snapshot();
    preview.src = URL.createObjectURL(selfie);
    preview.hidden = false;
    camera.video.hidden = true;
  }));
  const verify = h('button', { class: 'btn', type: 'button', id: 'face-verify' }, '人脸核验 / Verify my face');
  verify.addEventListener('click', () => busy(verify, faceSlot, async () => {
    if (!portrait.files.length) throw new Error('请选择身份证人像面照片 / choose the ID portrait photo');
    if (!selfie) throw new Error('请先拍照 / take a selfie first');
    const form = new FormData();
    form.append('id_portrait', portrait.files[0]);
    form.append('selfie', selfie, 'selfie.jpg');
    camera.progress.hidden = false;
    const out = await api.upload('/api/v1/identity/face/verify', form, camera.progress.set);
    flash = `核验结果 / Result: ${out.result} · ${out.realname_status}`;
    go('#/realname');
  }));

  // Liveness: the server's random actions, shown one after the other while frames are taken.
  const liveness = h('button', { class: 'btn secondary', type: 'button', id: 'liveness' }, '活体检测 / Liveness check');
  liveness.addEventListener('click', () => busy(liveness, faceSlot, async () => {
    if (!portrait.files.length) throw new Error('请选择身份证人像面照片（与实名核验时相同）/ choose the same ID portrait photo');
    camera.video.hidden = false;
    preview.hidden = true;
    const out = await camera.run(portrait.files[0]);
    clear(faceSlot, h('div', { class: 'ok' }, `已确认本人在场，有效至 / presence proven until ${when(out.presence_valid_until)}`));
  }));

  const shown = flash ? h('div', { class: 'ok', id: 'face-result' }, flash) : null;
  flash = null;
  const needs = [];
  if (!consented.personal_info) needs.push('个人信息处理 / personal information');
  if (!consented.biometric_face) needs.push('人脸信息处理 / face data');
  clear(view,
    needs.length ? h('div', { class: 'error' }, '请先在“授权同意”中同意：', needs.join('、'), ' ', h('a', { href: '#/consents' }, '去授权 / Consents →')) : null,
    h('div', { class: 'card' },
      h('h2', {}, '1. 身份信息 ', h('span', { class: 'en' }, 'Identity')),
      real
        ? h('dl', { class: 'kv' },
          h('dt', {}, '姓名 Name'), h('dd', {}, real.name),
          h('dt', {}, '证件 ID'), h('dd', {}, real.id_number_masked),
          h('dt', {}, '状态 Status'), h('dd', { id: 'realname-status' }, real.status_text))
        : idForm),
    real ? h('div', { class: 'card' },
      h('h2', {}, '2. 人脸核验 ', h('span', { class: 'en' }, 'Face check')), shown,
      h('p', { class: 'muted' }, '照片只用于本次比对，不会保存。/ Photos are used for this check only and not kept.'),
      field('身份证人像面照片 / ID portrait photo', portrait),
      h('div', { class: 'camera' }, camera.video, preview, camera.prompt), camera.canvas,
      h('div', { class: 'row' }, cameraButton, shoot),
      real.status !== 'verified' ? verify : null,
      liveness, camera.actions, camera.progress, faceSlot) : null,
  );
}

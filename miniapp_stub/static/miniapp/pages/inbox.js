// The document inbox (电子送达): deliveries served on me, one delivery with its documents, signing
// for receipt (signature code or a fresh face check), the service date and the deadlines it
// starts; my signature code; and the landing page of the short link in a text or an email.
import { api, go } from '/miniapp/session.js';
import { busy, clear, errorBox, field, h, when } from '/miniapp/ui.js';
import * as wx from '/miniapp/wx.js';
import { facePanel } from '/miniapp/facecheck.js';
import { serviceConsentForm } from '/miniapp/pages/caselinks.js';

const SERVICE = '/api/v1/service';

export const DELIVERY_STATUS = {
  pending: ['待签收', 'Awaiting receipt'],
  served: ['已送达', 'Served'],
  postal: ['邮寄送达', 'Served by post'],
  public_notice: ['公告送达', 'Public notice'],
  copy: ['副本 仅供查阅', 'Copy for information'],
};
const CHANNEL = { inapp: '站内信 In-app', wechat: '微信通知 WeChat', sms: '短信 SMS', email: '电子邮件 Email' };
const ATTEMPT = { sending: '发送中 sending', sent: '已发送 sent', delivered: '已到达 delivered', failed: '失败 failed', skipped: '无地址 skipped' };
const DEADLINE = { response: '答辩期 Defence', evidence: '举证期 Evidence', appeal: '上诉期 Appeal' };
const ROLE = { plaintiff: '原告 Plaintiff', defendant: '被告 Defendant', third_party: '第三人 Third party', agent: '代理人 Agent' };

export function deliveryBadge(status) {
  const [zh, en] = DELIVERY_STATUS[status] || [status, ''];
  return h('span', { class: `badge delivery-${status}` }, zh, en ? h('small', {}, ` ${en}`) : null);
}

export async function list(view) {
  const page = await api.get(`${SERVICE}/inbox`);
  const codeLink = h('a', { class: 'btn secondary', href: '#/signature-code', id: 'signature-code-link' }, '设置签收码 / Set my signature code');
  if (!page.items.length) {
    clear(view, h('div', { class: 'card' }, h('p', {}, '暂无送达文书。/ No documents served on you.')), codeLink);
    return;
  }
  clear(view,
    h('div', { class: 'card' }, h('ul', { class: 'list', id: 'inbox-list' }, page.items.map((d) => h('li', {},
      h('a', { href: `#/delivery/${d.id}`, 'data-delivery': d.id },
        h('div', { class: 'title' }, d.documents.map((doc) => doc.title_zh).join('、') || '文书', ' ', deliveryBadge(d.status)),
        h('div', { class: 'muted' }, `${d.case_number} · ${d.court_name_zh}`),
        h('div', { class: 'muted' }, d.service_date ? `送达日期 / Served ${when(d.service_date)}` : d.signed_at ? '' : '未签收 / not signed for')))))),
    codeLink);
}

function deadlinesCard(delivery) {
  if (!delivery.deadlines.length) return null;
  return h('div', { class: 'card', id: 'delivery-deadlines' }, h('h2', {}, '期限 ', h('span', { class: 'en' }, 'Deadlines')),
    h('ul', { class: 'list' }, delivery.deadlines.map((d) => h('li', {},
      h('div', { class: 'title' }, DEADLINE[d.kind] || d.kind, ` · ${d.days} 日 / days`, d.provisional ? h('span', { class: 'badge' }, ' 暂定 provisional') : null),
      h('div', {}, `${d.start} → `, h('strong', { class: 'deadline-due' }, d.due), d.rolled_over ? h('span', { class: 'muted' }, ' （遇节假日顺延 / moved past a holiday）') : null),
      h('div', { class: 'muted' }, d.explanation_zh),
      h('div', { class: 'en' }, `${d.explanation_en} (${d.article})`)))));
}

function signCard(delivery, slot) {
  const url = `${SERVICE}/deliveries/${delivery.id}/sign`;
  const code = h('input', { name: 'signature_code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', autocomplete: 'off', id: 'sign-code' });
  const byCode = h('button', { class: 'btn', type: 'button', id: 'sign-with-code' }, '用签收码签收 / Sign with my code');
  byCode.addEventListener('click', () => busy(byCode, slot, async () => {
    await api.post(url, { signature_code: code.value.trim() });
    go(`#/delivery/${delivery.id}`);
  }));
  const byFace = h('button', { class: 'btn', type: 'button', id: 'sign-with-face', hidden: true }, '刷脸签收 / Sign after the face check');
  byFace.addEventListener('click', () => busy(byFace, slot, async () => {
    await api.post(url, {});
    go(`#/delivery/${delivery.id}`);
  }));
  return h('div', { class: 'card', id: 'sign-card' },
    h('h2', {}, '签收 ', h('span', { class: 'en' }, 'Sign for receipt')),
    h('p', { class: 'muted' }, '签收前需核验身份：签收码，或 5 分钟内的人脸核验。签收即视为送达。/ Prove it is you first: your signature code, or a face check from the last 5 minutes. Signing for the documents serves them.'),
    field('签收码 Signature code (6 位 digits)', code, h('a', { href: '#/signature-code' }, '还没有签收码？设置 / No code yet? Set one')), byCode,
    facePanel(() => { byFace.hidden = false; }, { label: '或：人脸核验后签收 / Or: face check' }), byFace, slot);
}

export async function delivery(view, id) {
  const d = await api.get(`${SERVICE}/deliveries/${id}`);
  const slot = h('div');
  const signed = Boolean(d.signed_at);
  // A copy of documents already served (by post) needs no receipt.
  const readable = signed || Boolean(d.copy_of);
  const documents = h('ul', { class: 'list', id: 'delivery-documents' }, d.documents.map((doc) => {
    const open = h('button', { class: 'btn secondary download', type: 'button', disabled: !readable }, readable ? '阅读/下载 / Read & download' : '签收后可阅读 / Sign first');
    open.addEventListener('click', () => busy(open, slot, () => api.download(`${SERVICE}/deliveries/${d.id}/documents/${doc.id}`, `${doc.title_zh}.pdf`)));
    return h('li', {}, h('div', { class: 'title' }, doc.title_zh, h('span', { class: 'en' }, ` ${doc.title_en}`)),
      h('div', { class: 'muted' }, `${(doc.size / 1024).toFixed(1)} KiB · SHA-256 ${doc.sha256.slice(0, 16)}…`), open);
  }));
  clear(view,
    h('div', { class: 'card' },
      h('div', { class: 'case-number' }, d.case_number),
      h('p', {}, deliveryBadge(d.status)),
      h('dl', { class: 'kv' },
        h('dt', {}, '法院 Court'), h('dd', {}, d.court_name_zh),
        h('dt', {}, '受送达人 Recipient'), h('dd', {}, `${d.recipient_name}（${ROLE[d.recipient_role] || d.recipient_role}）`),
        h('dt', {}, '送达日期 Served'), h('dd', { id: 'service-date' }, d.service_date ? when(d.service_date) : '尚未送达 / not yet'),
        h('dt', {}, '依据 Ground'), h('dd', {}, d.legal_ground_zh, h('div', { class: 'en' }, d.legal_ground_en)),
        signed ? [h('dt', {}, '签收 Signed'), h('dd', { id: 'signed-at' }, `${d.signer_name} · ${when(d.signed_at)} · ${d.signed_method === 'code' ? '签收码 code' : '人脸 face'}`)] : null),
      h('p', {}, h('a', { href: `#/case/${d.case_id}` }, '查看案件 → / The case'))),
    h('div', { class: 'card' }, h('h2', {}, '文书 ', h('span', { class: 'en' }, 'Documents')), documents),
    d.copy_of
      ? h('div', { class: 'card', id: 'copy-note' }, h('p', {}, '以上文书已于送达日期送达，此为供您查阅的副本，无需签收；期间自原送达之日起计算，不重新起算。'),
        h('p', { class: 'en' }, 'These documents were already served on the date above; this is a copy for your information and needs no receipt. Periods run from that service and do not restart.'), slot)
      : signed ? slot : signCard(d, slot),
    deadlinesCard(d),
    h('div', { class: 'card' }, h('h2', {}, '送达记录 ', h('span', { class: 'en' }, 'Attempts')),
      d.attempts.length
        ? h('ul', { class: 'list' }, d.attempts.map((a) => h('li', {},
          h('div', {}, CHANNEL[a.channel] || a.channel, ' · ', ATTEMPT[a.status] || a.status),
          h('div', { class: 'muted' }, [a.address_masked, a.delivered_at ? `到达 ${when(a.delivered_at)}` : a.sent_at ? `发送 ${when(a.sent_at)}` : null].filter(Boolean).join(' · ')))))
        : h('p', { class: 'muted' }, '发送中 / Being sent')),
    d.consent_basis || d.copy_of ? null : h('div', { class: 'card' }, serviceConsentForm(d.case_id)),
  );
}

export async function signatureCode(view) {
  const slot = h('div');
  const form = h('form', { id: 'signature-code-form' },
    field('新签收码 New code (6 位数字 digits)', h('input', { name: 'code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', required: true, autocomplete: 'off' })),
    field('再输入一次 Repeat', h('input', { name: 'repeat', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', required: true, autocomplete: 'off' })),
    field('原签收码 Current code', h('input', { name: 'current_code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', autocomplete: 'off' }), '修改时填写 / only when changing it'),
    h('button', { class: 'btn', type: 'submit' }, '保存 / Save'), slot);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    busy(form.querySelector('button'), slot, async () => {
      if (data.get('code') !== data.get('repeat')) throw new Error('两次输入不一致 / the two codes differ');
      await api.request('PUT', `${SERVICE}/signature-code`, { json: { code: data.get('code'), current_code: data.get('current_code') || null } });
      clear(slot, h('div', { class: 'ok', id: 'signature-code-saved' }, '签收码已保存 / Signature code saved'));
      form.reset();
    });
  });
  clear(view, h('div', { class: 'card' },
    h('h2', {}, '签收码 ', h('span', { class: 'en' }, 'Signature code')),
    h('p', { class: 'muted' }, '签收法院文书时用于核验本人身份，请勿告诉他人。/ Proves it is you when you sign for court documents; keep it to yourself.'),
    form), h('a', { class: 'btn secondary', href: '#/inbox' }, '返回收件箱 / Back to the inbox'));
}

// The short link from a text or an email lands here: sign in if needed, then the delivery.
export async function link(view, linkId) {
  if (!api.signedIn()) {
    const slot = h('div');
    const button = h('button', { class: 'btn', type: 'button', id: 'link-login' }, '微信一键登录后查看 / Sign in with WeChat to read');
    button.addEventListener('click', () => busy(button, slot, async () => {
      const { code } = await wx.login();
      api.setTokens(await api.post('/api/v1/identity/wechat/login', { code }));
      go(`#/service/link/${linkId}`);
    }));
    clear(view, h('div', { class: 'card' },
      h('h2', {}, '法院文书送达 ', h('span', { class: 'en' }, 'Court documents for you')),
      h('p', { class: 'muted' }, '请登录查看并签收。/ Sign in to read and sign for them.'), button, slot));
    return;
  }
  try {
    const out = await api.get(`${SERVICE}/links/${encodeURIComponent(linkId)}`);
    go(`#/delivery/${out.delivery_id}`);
  } catch (error) {
    if (error.status === 401) throw error;
    clear(view, errorBox(error), h('p', { class: 'muted' }, '此链接不属于当前登录的微信用户。/ This link is not for the WeChat user signed in.'),
      h('a', { class: 'btn secondary', href: '#/inbox' }, '我的收件箱 / My inbox'));
  }
}

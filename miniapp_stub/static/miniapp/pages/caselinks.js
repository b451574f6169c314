// What a registered case offers on the phone besides its record: consent to electronic service
// (with the addresses to use), the documents served in it, the asynchronous hearing, mediation.
import { api } from '/miniapp/session.js';
import { busy, clear, field, h } from '/miniapp/ui.js';

const CHANNEL = { inapp: '站内信 In-app', sms: '短信 SMS', email: '电子邮件 Email' };

export function serviceConsentForm(caseId) {
  const slot = h('div');
  const inbox = h('input', { type: 'checkbox', name: 'inbox', checked: true });
  const email = h('input', { name: 'email', type: 'email', maxlength: '254', autocomplete: 'email' });
  const mobile = h('input', { name: 'mobile', inputmode: 'tel', maxlength: '20', autocomplete: 'tel' });
  const agree = h('button', { class: 'btn secondary', type: 'button', id: 'service-consent' }, '同意电子送达 / I consent to e-service');
  agree.addEventListener('click', () => busy(agree, slot, async () => {
    const out = await api.post(`/api/v1/service/cases/${caseId}/consents/mine`, {
      inbox: inbox.checked, email: email.value.trim() || null, mobile: mobile.value.trim() || null,
    });
    const given = Object.entries(out.addresses_masked).map(([k, v]) => `${CHANNEL[k] || k} ${v}`.trim()).join('；');
    clear(slot, h('div', { class: 'ok', id: 'service-consent-done' }, `已同意电子送达 / Consent recorded${given ? `：${given}` : ''}`));
  }));
  return h('details', { class: 'service-consent' }, h('summary', {}, '同意电子送达并确认送达地址 / Consent to e-service and give addresses'),
    h('p', { class: 'muted' }, '同意后，法院文书可通过本平台及您确认的地址送达（《人民法院在线诉讼规则》第二十九条）。/ Court documents may then be served here and at the addresses you confirm (Online Litigation Rules Art. 29).'),
    h('label', { class: 'check' }, inbox, h('span', {}, '以本平台收件箱为送达地址 / This inbox as my service address')),
    field('电子邮箱 Email', email), field('手机号 Mobile', mobile), agree, slot);
}

export function caseLinks(filing) {
  if (filing.status !== 'registered') return null;
  return h('div', { class: 'card', id: 'case-links' }, h('h2', {}, '诉讼服务 ', h('span', { class: 'en' }, 'Online proceedings')),
    h('ul', { class: 'list' },
      h('li', {}, h('a', { href: '#/inbox' }, '文书送达 → ', h('span', { class: 'en' }, 'Documents served on me'))),
      h('li', {}, h('a', { href: `#/case/${filing.id}/hearing`, id: 'go-hearing' }, '异步审理 → ', h('span', { class: 'en' }, 'Asynchronous hearing'))),
      h('li', {}, h('a', { href: `#/case/${filing.id}/mediation`, id: 'go-mediation' }, '在线调解 → ', h('span', { class: 'en' }, 'Mediation')))),
    serviceConsentForm(filing.id));
}

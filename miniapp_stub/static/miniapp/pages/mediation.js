// Online mediation on the phone (在线调解): consent, asking for mediation, proposals and
// counter-proposals, signing the agreement (after a face check) and the mediation statement
// that the last signature sends to electronic service.
import { api, go } from '/miniapp/session.js';
import { busy, clear, errorBox, field, h, when } from '/miniapp/ui.js';
import { facePanel, needsPresence } from '/miniapp/facecheck.js';

const ROLE = { plaintiff: '原告 Plaintiff', defendant: '被告 Defendant', third_party: '第三人 Third party', mediator: '调解员 Mediator', judge: '法官 Judge', clerk: '书记员 Clerk' };
export const MEDIATION_STATUS = {
  awaiting_mediator: '待指定调解员 awaiting a mediator',
  in_progress: '调解中 in progress',
  agreed: '已达成协议 agreed',
  failed: '调解不成 failed',
  expired: '已超期 expired',
};
const AGREEMENT_STATUS = { awaiting_signatures: '待签名 awaiting signatures', effective: '已生效 effective' };

function proposalsCard(mediation, filingId, slot) {
  const base = `/api/v1/mediation/mediations/${mediation.id}`;
  const byId = new Map(mediation.proposals.map((p) => [p.id, p]));
  const terms = h('textarea', { name: 'terms', minlength: '2', maxlength: '10000', id: 'proposal-terms', placeholder: '例如：被告于2026年12月31日前分两期归还借款10万元。' });
  let counterTo = null;
  const target = h('div', { class: 'muted' });
  const send = h('button', { class: 'btn', type: 'button', id: 'proposal-send' }, '提出方案 / Propose');
  send.addEventListener('click', () => busy(send, slot, async () => {
    await api.post(`${base}/proposals`, { terms: terms.value.trim(), counter_to: counterTo });
    go(`#/case/${filingId}/mediation`);
  }));
  const active = ['awaiting_mediator', 'in_progress'].includes(mediation.status);
  return h('div', { class: 'card', id: 'mediation-proposals' },
    h('h2', {}, '调解方案 ', h('span', { class: 'en' }, 'Proposals')),
    mediation.proposals.length
      ? mediation.proposals.map((p) => {
        const counter = h('button', { class: 'btn secondary inline', type: 'button' }, '还价 / Counter');
        counter.addEventListener('click', () => {
          counterTo = p.id;
          clear(target, `回应 / countering: ${p.terms.slice(0, 40)}`);
          terms.focus();
        });
        return h('div', { class: 'post', 'data-proposal': p.id },
          h('div', { class: 'meta' }, `${ROLE[p.author_role] || p.author_role} · ${when(p.created_at)}`),
          p.counter_to && byId.has(p.counter_to) ? h('div', { class: 'muted' }, `回应 / counter to: ${byId.get(p.counter_to).terms.slice(0, 40)}`) : null,
          h('div', { class: 'post-text' }, p.terms), active ? counter : null);
      })
      : h('p', { class: 'muted' }, '暂无方案 / No proposals yet'),
    active ? [field('我的方案 My proposal', terms), target, send] : null);
}

async function agreementCard(mediation, filingId, meId) {
  const base = `/api/v1/mediation/mediations/${mediation.id}`;
  let agreement = null;
  try {
    agreement = await api.get(`${base}/agreement`);
  } catch (error) {
    if (error.status === 404) return null;
    return errorBox(error);
  }
  const slot = h('div');
  const sign = h('button', { class: 'btn', type: 'button', id: 'agreement-sign' }, '签署调解协议 / Sign the agreement');
  const doSign = () => busy(sign, slot, async () => {
    try {
      await api.post(`${base}/agreement/sign`);
    } catch (error) {
      if (needsPresence(error)) panel.open = true;
      throw error;
    }
    go(`#/case/${filingId}/mediation`);
  });
  sign.addEventListener('click', doSign);
  const panel = facePanel(doSign, { label: '人脸核验后签署 / Face check, then sign' });
  const statement = h('button', { class: 'btn secondary', type: 'button', id: 'statement-download' }, '下载调解书 / Download the mediation statement');
  statement.addEventListener('click', () => busy(statement, slot, () => api.download(`${base}/statement`, 'mediation-statement.pdf')));
  const effective = agreement.status === 'effective';
  // The server says who signed: a reload or another phone shows the same.
  const signedByMe = agreement.signatures.some((s) => s.signer_id === meId);
  return h('div', { class: 'card', id: 'mediation-agreement' },
    h('h2', {}, '调解协议 ', h('span', { class: 'en' }, 'Agreement')),
    h('p', {}, h('span', { class: 'badge' }, AGREEMENT_STATUS[agreement.status] || agreement.status), agreement.awaiting ? ` · 待 ${agreement.awaiting} 方签名 / ${agreement.awaiting} to sign` : ''),
    h('div', { class: 'notice-text' }, agreement.terms),
    h('ul', { class: 'list' }, agreement.signatures.map((s) => h('li', {}, `${ROLE[s.signer_role] || s.signer_role}${s.party_name ? ` ${s.party_name}` : ''}${s.as_agent ? '（代理人代签 / by the lawyer）' : ''} · ${when(s.signed_at)} · ${s.valid ? '签名有效 valid' : '签名无效 INVALID'}`))),
    effective
      ? [h('div', { class: 'ok', id: 'agreement-effective' }, `协议已于 ${when(agreement.effective_at)} 生效；调解书已交电子送达，请在“送达”中签收。/ Effective; the mediation statement was sent for service — sign for it in the inbox.`),
        agreement.statement_sha256 ? statement : null, h('a', { class: 'btn secondary', href: '#/inbox' }, '文书送达 / Inbox')]
      : signedByMe
        ? h('div', { class: 'ok', id: 'agreement-signed' }, '您已签署，等待其他当事人 / You have signed; waiting for the others')
        : [sign, panel],
    slot);
}

export async function page(view, filingId) {
  const [filing, list, me] = await Promise.all([
    api.get(`/api/v1/filing/filings/${filingId}`),
    api.get(`/api/v1/mediation/cases/${filingId}/mediations`),
    api.get('/api/v1/auth/me'),
  ]);
  const slot = h('div');
  const back = h('p', {}, h('a', { href: `#/case/${filingId}` }, `‹ ${filing.case_number || '案件 / The case'}`));
  const consent = h('button', { class: 'btn secondary', type: 'button', id: 'mediation-consent' }, '同意在线调解 / I consent to online mediation');
  consent.addEventListener('click', () => busy(consent, slot, async () => {
    await api.post(`/api/v1/async-hearings/cases/${filingId}/consents`, { scope: 'mediation', consented: true });
    clear(slot, h('div', { class: 'ok' }, '已同意在线调解 / Consent recorded'));
  }));
  const start = h('button', { class: 'btn', type: 'button', id: 'mediation-start' }, '申请在线调解 / Ask for mediation');
  start.addEventListener('click', () => busy(start, slot, async () => {
    await api.post(`/api/v1/mediation/cases/${filingId}/mediations`);
    go(`#/case/${filingId}/mediation`);
  }));
  const current = list.items[list.items.length - 1];
  const active = current && ['awaiting_mediator', 'in_progress'].includes(current.status);
  clear(view, back,
    current ? h('div', { class: 'card', id: 'mediation-summary' },
      h('p', {}, h('span', { class: 'badge' }, MEDIATION_STATUS[current.status] || current.status)),
      h('dl', { class: 'kv' },
        h('dt', {}, '阶段 Phase'), h('dd', {}, current.phase === 'pre_filing' ? '诉前 before filing' : '诉中 after filing'),
        h('dt', {}, '调解员 Mediator'), h('dd', {}, current.mediator_id ? `已指定 designated ${when(current.designated_at)}` : `待指定（${current.designation_due_on} 前）/ due by ${current.designation_due_on}`),
        h('dt', {}, '期限 Ends'), h('dd', {}, `${current.ends_on}（${current.period_days} 日 / days）`)),
      current.sessions.length ? h('ul', { class: 'list' }, current.sessions.map((s) => h('li', {}, `${s.mode === 'live' ? '在线视频 live' : '异步 async'} · ${when(s.starts_at)} ${s.note}`,
        // A live session runs in a video hearing room: the same page as a video hearing.
        s.video_hearing_id ? [' ', h('a', { class: 'btn secondary inline', href: `#/hearing/video/${s.video_hearing_id}`, 'data-video-mediation': s.video_hearing_id }, '进入视频调解 / Join video mediation')] : null))) : null) : null,
    h('div', { class: 'card' }, h('h2', {}, '在线调解 ', h('span', { class: 'en' }, 'Online mediation')),
      h('p', { class: 'muted' }, '调解须各方同意（《人民法院在线调解规则》）。/ Every party must consent (Online Mediation Rules).'),
      consent, active ? null : start, slot),
    current ? proposalsCard(current, filingId, slot) : null,
    current ? await agreementCard(current, filingId, me.id) : null);
}

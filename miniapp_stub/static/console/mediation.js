// Console: online mediation of a case — designating the mediator (due within 3 working days),
// sessions, recording proposals, putting the agreed terms to the parties, the signatures, the
// mediation statement, or ending without agreement.
import { busy, clear, errorBox, field, h, when } from '/miniapp/ui.js';

const ROLE = { plaintiff: '原告', defendant: '被告', third_party: '第三人', mediator: '调解员', judge: '法官' };
const STATUS = {
  awaiting_mediator: '待指定调解员 awaiting a mediator',
  in_progress: '调解中 in progress',
  agreed: '已达成协议 agreed',
  failed: '调解不成 failed',
  expired: '已超期 expired',
};

function isoFromLocal(value) {
  if (!value) throw new Error('请选择时间 / choose a time');
  return new Date(value).toISOString();
}

async function agreementBox(api, one, slot) {
  try {
    const a = await api.get(`${one}/agreement`);
    const statement = h('button', { class: 'btn secondary inline', type: 'button' }, '调解书 / Statement PDF');
    statement.addEventListener('click', () => busy(statement, slot, () => api.download(`${one}/statement`, 'mediation-statement.pdf')));
    return h('div', { id: 'agreement' },
      h('h3', {}, '调解协议 Agreement · ', a.status, a.awaiting ? ` · 待 ${a.awaiting} 方签名 / ${a.awaiting} to sign` : ''),
      h('div', { class: 'notice-text' }, a.terms),
      h('ul', { class: 'list' }, a.signatures.map((s) => h('li', {}, `${ROLE[s.signer_role] || s.signer_role} · ${when(s.signed_at)} · ${s.valid ? '有效 valid' : '无效 INVALID'}`))),
      a.statement_sha256 ? statement : null);
  } catch (error) {
    return error.status === 404 ? null : errorBox(error);
  }
}

async function mediationCard(api, m, filing, slot, reload) {
  const one = `/api/v1/mediation/mediations/${m.id}`;
  const active = ['awaiting_mediator', 'in_progress'].includes(m.status);
  const mediator = h('input', { name: 'mediator_id', maxlength: '36', placeholder: '调解员账号 ID / mediator account id', id: 'mediator-id' });
  mediator.value = m.mediator_id || filing.assigned_judge_id || '';
  const designate = h('button', { class: 'btn secondary inline', type: 'button', id: 'mediator-designate' }, '指定 / Designate');
  designate.addEventListener('click', () => busy(designate, slot, async () => {
    await api.post(`${one}/mediator`, { mediator_id: mediator.value.trim() });
    reload();
  }));
  // A live session schedules a video room; mediation is not a court session, so no 3-day notice.
  const sessionMode = h('select', { name: 'mode' }, h('option', { value: 'async' }, '异步 Asynchronous'), h('option', { value: 'live' }, '在线视频 Live (video room)'));
  const sessionAt = h('input', { type: 'datetime-local', name: 'starts_at' });
  const sessionNote = h('input', { name: 'note', maxlength: '2000' });
  const addSession = h('button', { class: 'btn secondary inline', type: 'button' }, '安排 / Schedule');
  addSession.addEventListener('click', () => busy(addSession, slot, async () => {
    await api.post(`${one}/sessions`, { mode: sessionMode.value, starts_at: isoFromLocal(sessionAt.value), note: sessionNote.value.trim() });
    reload();
  }));
  const terms = h('textarea', { name: 'terms', maxlength: '10000', id: 'mediator-proposal' });
  const propose = h('button', { class: 'btn secondary', type: 'button', id: 'mediator-propose' }, '记录调解方案 / Record a proposal');
  propose.addEventListener('click', () => busy(propose, slot, async () => {
    await api.post(`${one}/proposals`, { terms: terms.value.trim() });
    reload();
  }));
  const agreed = h('textarea', { name: 'agreement', maxlength: '20000', id: 'agreement-terms' });
  const put = h('button', { class: 'btn', type: 'button', id: 'agreement-put' }, '提交协议供签署 / Put the agreement to the parties');
  put.addEventListener('click', () => busy(put, slot, async () => {
    await api.post(`${one}/agreement`, { terms: agreed.value.trim() });
    reload();
  }));
  const note = h('input', { name: 'note', maxlength: '2000', placeholder: '未达成协议的情况 / what happened' });
  const close = h('button', { class: 'btn warn inline', type: 'button' }, '调解不成，结束 / End without agreement');
  close.addEventListener('click', () => busy(close, slot, async () => {
    await api.post(`${one}/close`, { note: note.value.trim() });
    reload();
  }));
  return h('div', { class: 'card', 'data-mediation': m.id },
    h('h2', {}, '调解 ', h('span', { class: 'en' }, `Mediation · ${STATUS[m.status] || m.status}`)),
    h('dl', { class: 'kv' },
      h('dt', {}, '阶段 Phase'), h('dd', {}, m.phase),
      h('dt', {}, '指定期限 Designate by'), h('dd', {}, `${m.designation_due_on}${m.designation_overdue ? ' · 已逾期 OVERDUE' : ''}${m.designated_late ? ' · 逾期指定 designated late' : ''}`),
      h('dt', {}, '调解员 Mediator'), h('dd', {}, m.mediator_id || '—'),
      h('dt', {}, '期限 Ends'), h('dd', {}, `${m.ends_on}（${m.period_days} 日）`)),
    active ? h('div', { class: 'row' }, mediator, designate) : null,
    m.sessions.length ? h('ul', { class: 'list' }, m.sessions.map((s) => h('li', {}, `${s.mode} · ${when(s.starts_at)} · ${s.note}`,
      // A live session's video room, run from the video hearing console.
      s.video_hearing_id ? [' ', h('a', { href: `#/video/${s.video_hearing_id}`, 'data-video-mediation': s.video_hearing_id }, '进入视频调解 / Join video mediation →')] : null))) : null,
    active ? [h('h3', {}, '安排调解 Session'), h('div', { class: 'row' }, sessionMode, sessionAt), sessionNote, addSession] : null,
    h('h3', {}, '方案 Proposals'),
    m.proposals.length ? h('ol', { id: 'proposal-list' }, m.proposals.map((p) => h('li', {}, `${ROLE[p.author_role] || p.author_role}（${when(p.created_at)}）：${p.terms}`))) : h('p', { class: 'muted' }, '暂无 / none'),
    active ? [field('调解员方案 Mediator proposal', terms), propose, field('协议条款 Agreed terms', agreed), put, h('div', { class: 'row' }, note, close)] : null,
    await agreementBox(api, one, slot));
}

export async function page(view, api, filingId) {
  const [filing, list] = await Promise.all([
    // A designated mediator who is not on the case's bench may run the mediation without
    // reading the case file (404): the page then works from the mediation alone.
    api.get(`/api/v1/filing/filings/${filingId}`).catch((error) => {
      if (error.status === 404) return { id: filingId, case_number: null, assigned_judge_id: null, outsider: true };
      throw error;
    }),
    api.get(`/api/v1/mediation/cases/${filingId}/mediations`),
  ]);
  const slot = h('div');
  const reload = () => page(view, api, filingId).catch((error) => clear(slot, errorBox(error)));
  const start = h('button', { class: 'btn secondary', type: 'button', id: 'mediation-start' }, '启动在线调解 / Start mediation');
  start.addEventListener('click', () => busy(start, slot, async () => {
    await api.post(`/api/v1/mediation/cases/${filingId}/mediations`);
    reload();
  }));
  const cards = [];
  for (const m of [...list.items].reverse()) cards.push(await mediationCard(api, m, filing, slot, reload));
  const anyActive = list.items.some((m) => ['awaiting_mediator', 'in_progress'].includes(m.status));
  clear(view, filing.outsider ? null : h('p', {}, h('a', { href: `#/filing/${filingId}` }, `‹ ${filing.case_number || '案件 / The case'}`)),
    slot,
    anyActive ? null : h('div', { class: 'card' }, h('p', { class: 'muted' }, '各方须先同意在线调解。/ Every party must have consented to online mediation.'), start),
    cards);
}

// Console: running an asynchronous hearing — the eligibility answers and the judge's findings,
// the start, each stage's window (extend, reopen, advance), questions to a named party, the
// record, decisions on missed-window reasons, conversion to video, and the signed transcript.
import { busy, clear, errorBox, field, h, when } from '/miniapp/ui.js';

const ROLE = { plaintiff: '原告', defendant: '被告', third_party: '第三人', judge: '法官' };
const EXCLUSIONS = [
  ['no_technical_means', '当事人均不具备在线诉讼的技术条件'],
  ['in_person_check', '需要现场查明身份、核对原件或查验实物'],
  ['complex_evidence', '案件证据繁多、复杂'],
  ['state_secrets', '涉及国家秘密或国家安全'],
  ['public_attention', '社会影响重大、社会关注度高'],
  ['other', '其他不宜在线审理的情形'],
];
const STAGE_STATUS = { pending: '未开始', open: '进行中', closed: '已结束' };

// The body fragment naming who a question is for: one named party (its filing party id).
export function questionTarget(party) {
  return { addressed_party_id: party.id };
}

function isoFromLocal(value) {
  if (!value) throw new Error('请选择时间 / choose a time');
  return new Date(value).toISOString();
}

function eligibilityCard(api, base, filingId, hearing, reload) {
  const slot = h('div');
  const box = h('div', { id: 'eligibility' }, h('p', { class: 'muted' }, '检查中 / Checking…'));
  Promise.all(['hearing', 'exchange'].map((mode) => api.get(`${base}/eligibility`, { mode }))).then((answers) => clear(box,
    answers.map((a) => h('div', { 'data-mode': a.mode },
      h('h3', {}, a.mode === 'hearing' ? '异步审理 Hearing' : '证据交换与询问 Exchange', ' ',
        h('span', { class: a.eligible ? 'badge status-registered' : 'badge status-refused' }, a.eligible ? '符合条件 eligible' : '不符合 not eligible')),
      a.unmet.length ? h('ul', { class: 'unmet' }, a.unmet.map((u) => h('li', {}, u.message_zh, h('span', { class: 'en' }, ` ${u.message_en}`)))) : null))),
  (error) => clear(box, errorBox(error)));
  const undisputed = h('input', { type: 'checkbox', name: 'facts_undisputed', checked: Boolean(hearing && hearing.facts_undisputed) });
  const hard = h('input', { type: 'checkbox', name: 'attendance_hard', checked: Boolean(hearing && hearing.attendance_hard) });
  const exclusions = EXCLUSIONS.map(([value, zh]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'exclusion', value, checked: Boolean(hearing && hearing.exclusions.includes(value)) }), h('span', {}, zh)));
  const save = h('button', { class: 'btn secondary', type: 'button', id: 'findings-save' }, '保存认定 / Record the findings');
  save.addEventListener('click', () => busy(save, slot, async () => {
    await api.request('PUT', `${base}/findings`, { json: {
      facts_undisputed: undisputed.checked,
      attendance_hard: hard.checked,
      exclusions: exclusions.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
    } });
    reload();
  }));
  const mode = h('select', { name: 'mode', id: 'start-mode' }, h('option', { value: 'hearing' }, '异步审理 Hearing (all stages)'), h('option', { value: 'exchange' }, '证据交换与询问 Exchange'));
  const hours = h('input', { type: 'number', name: 'window_hours', min: '1', max: '720', value: '72' });
  const start = h('button', { class: 'btn', type: 'button', id: 'async-start' }, '开始异步审理 / Start');
  start.addEventListener('click', () => busy(start, slot, async () => {
    const stages = mode.value === 'hearing'
      ? ['claim', 'defence', 'evidence', 'cross_examination', 'inquiry', 'debate', 'final_statements']
      : ['evidence', 'cross_examination', 'inquiry'];
    const n = Number(hours.value || 72);
    await api.post(`${base}/start`, { mode: mode.value, window_hours: Object.fromEntries(stages.map((s) => [s, n])) });
    reload();
  }));
  return h('div', { class: 'card' },
    h('h2', {}, '适用条件 ', h('span', { class: 'en' }, 'Eligibility (Online Litigation Rules Art. 20, 21)')), box,
    h('h3', {}, '法官认定 Findings'),
    h('label', { class: 'check' }, undisputed, h('span', {}, '经在线交换，主要事实和证据无争议 / main facts and evidence undisputed')),
    h('label', { class: 'check' }, hard, h('span', {}, '各方同时在线参与确有困难 / attending together online is genuinely hard')),
    h('div', { class: 'muted' }, '第二十一条排除情形 / Art. 21 exclusions'), exclusions, save,
    h('h3', {}, '开始 Start'), field('方式 Mode', mode), field('每阶段期限（小时）Window per stage (hours)', hours), start, slot);
}

function stagesCard(api, base, hearing, slot, reload) {
  const running = hearing.status === 'in_progress';
  const rows = hearing.stages.map((s) => {
    const until = h('input', { type: 'datetime-local', name: `closes_${s.kind}` });
    let action = null;
    if (running && s.status === 'open') {
      const extend = h('button', { class: 'btn secondary inline', type: 'button', 'data-extend': s.kind }, '延长 / Extend');
      extend.addEventListener('click', () => busy(extend, slot, async () => {
        await api.post(`${base}/stages/${s.kind}/extend`, { closes_at: isoFromLocal(until.value) });
        reload();
      }));
      action = h('div', { class: 'row' }, until, extend);
    } else if (running && s.status === 'closed') {
      const reopen = h('button', { class: 'btn secondary inline', type: 'button', 'data-reopen': s.kind }, '重开 / Reopen');
      reopen.addEventListener('click', () => busy(reopen, slot, async () => {
        await api.post(`${base}/stages/${s.kind}/reopen`, { closes_at: isoFromLocal(until.value) });
        reload();
      }));
      action = h('div', { class: 'row' }, until, reopen);
    }
    return h('tr', { 'data-stage': s.kind },
      h('td', {}, s.name_zh, h('div', { class: 'en' }, s.name_en)),
      h('td', { class: 'stage-status' }, STAGE_STATUS[s.status] || s.status),
      h('td', {}, s.opens_at ? `${when(s.opens_at)} → ${when(s.closes_at)}` : `${s.window_hours} h`),
      h('td', {}, action));
  });
  const advance = h('button', { class: 'btn', type: 'button', id: 'stage-advance' }, '结束当前阶段并进入下一阶段 / Close this stage, open the next');
  advance.addEventListener('click', () => busy(advance, slot, async () => {
    await api.post(`${base}/stages/advance`);
    reload();
  }));
  const reason = h('input', { name: 'reason', minlength: '2', maxlength: '1000', placeholder: '转为视频庭审的理由 / why' });
  const startsAt = h('input', { name: 'starts_at', type: 'datetime-local', id: 'async-convert-start', title: '开庭时间（至少提前3日）/ start, at least 3 days ahead' });
  const convert = h('button', { class: 'btn warn', type: 'button', id: 'async-convert' }, '转为视频庭审 / Convert to a video hearing');
  convert.addEventListener('click', () => busy(convert, slot, async () => {
    const start = startsAt.value ? new Date(startsAt.value) : null;
    const out = await api.post(`${base}/convert`, { reason: reason.value.trim(), starts_at: start && !Number.isNaN(start.getTime()) ? start.toISOString() : null });
    if (out.video_hearing_id) location.hash = `#/video/${out.video_hearing_id}`;
    else reload();
  }));
  return h('div', { class: 'card' },
    h('h2', {}, '阶段与期限 ', h('span', { class: 'en' }, `Stages · ${hearing.status} · ${hearing.mode || ''}`)),
    h('table', { class: 'queue', id: 'async-stage-table' }, h('tbody', {}, rows)),
    running ? [advance, h('h3', {}, '转为视频 Conversion'), reason, h('label', {}, '开庭时间 / Starts at ', startsAt), convert] : null);
}

function questionCard(api, base, hearing, parties, slot, reload) {
  const open = hearing.stages.find((s) => s.status === 'open');
  if (!open) return null;
  const party = h('select', { name: 'party', id: 'question-party' }, parties.map((p, i) => h('option', { value: String(i) }, `${ROLE[p.role] || p.role}：${p.name}`)));
  const text = h('textarea', { name: 'question', maxlength: '20000', id: 'question-text' });
  const ask = h('button', { class: 'btn', type: 'button', id: 'question-ask' }, '提问 / Ask');
  ask.addEventListener('click', () => busy(ask, slot, async () => {
    await api.post(`${base}/posts`, { stage: open.kind, kind: 'question', text: text.value.trim(), ...questionTarget(parties[Number(party.value)]) });
    reload();
  }));
  const note = h('textarea', { name: 'note', maxlength: '20000' });
  const say = h('button', { class: 'btn secondary', type: 'button' }, '发表说明 / Post a note');
  say.addEventListener('click', () => busy(say, slot, async () => {
    await api.post(`${base}/posts`, { stage: open.kind, kind: 'text', text: note.value.trim() });
    reload();
  }));
  return h('div', { class: 'card' },
    h('h2', {}, `向当事人提问（${open.name_zh}）`, h('span', { class: 'en' }, ' Ask a named party')),
    field('当事人 Party', party), field('问题 Question', text), ask,
    h('h3', {}, '法官说明 Note to all'), note, say);
}

function recordCard(api, base, posts, parties, slot) {
  const partyName = (id) => { const party = parties.find((x) => x.id === id); return party ? party.name : id; };
  return h('div', { class: 'card' }, h('h2', {}, '审理记录 ', h('span', { class: 'en' }, 'Record')),
    posts.length ? h('ol', { class: 'record', id: 'async-record' }, posts.map((p) => {
      const file = p.file_id ? h('button', { class: 'btn secondary inline download', type: 'button' }, '文件 / File') : null;
      if (file) file.addEventListener('click', () => busy(file, slot, () => api.download(`${base}/posts/${p.id}/file`, `post-${p.seq}`)));
      return h('li', { 'data-post': p.id },
        h('div', { class: 'muted' }, `#${p.seq ?? 'draft'} · ${p.stage} · ${ROLE[p.author_role] || p.author_role} · ${p.kind}${p.addressed_party_id ? ` → ${partyName(p.addressed_party_id)}` : ''} · ${when(p.posted_at || p.created_at)}`),
        p.kind === 'opinion' ? h('div', {}, `真实性 ${p.data.authenticity} · 合法性 ${p.data.legality} · 关联性 ${p.data.relevance}${p.data.objection ? ' · 异议 objection' : ''}`) : null,
        p.text ? h('div', {}, p.text) : null, file);
    })) : h('p', { class: 'muted' }, '暂无 / none'));
}

function missedCard(api, base, missed, slot, reload) {
  if (!missed.items.length) return null;
  return h('div', { class: 'card' }, h('h2', {}, '逾期未参与 ', h('span', { class: 'en' }, 'Missed windows (Art. 25)')),
    missed.items.map((m) => {
      const note = h('input', { name: 'note', maxlength: '2000', placeholder: '说明 / note' });
      const decide = (accepted, button) => busy(button, slot, async () => {
        await api.post(`${base}/missed/${m.id}/decision`, { accepted, note: note.value.trim() });
        reload();
      });
      const accept = h('button', { class: 'btn secondary inline', type: 'button' }, '理由成立 / Accept');
      const reject = h('button', { class: 'btn warn inline', type: 'button' }, '不成立 / Reject');
      accept.addEventListener('click', () => decide(true, accept));
      reject.addEventListener('click', () => decide(false, reject));
      return h('div', { class: 'post' },
        h('div', {}, `${m.stage} · ${m.party_name ? `${m.party_name}（${ROLE[m.party_role] || m.party_role}）` : (ROLE[m.party_role] || m.party_role)} · ${when(m.recorded_at)}`),
        h('div', { class: 'muted' }, m.reason ? `理由：${m.reason}` : '尚未说明理由 / no reason given yet'),
        m.decision ? h('div', {}, `${m.decision} · ${m.consequence_zh || ''}`) : m.reason ? h('div', { class: 'row' }, note, accept, reject) : null);
    }));
}

async function transcriptCard(api, base, hearing, slot, reload) {
  let transcript = null;
  try {
    transcript = await api.get(`${base}/transcript`);
  } catch (error) {
    if (error.status !== 404) return errorBox(error);
  }
  const make = h('button', { class: 'btn secondary', type: 'button', id: 'transcript-generate' }, '生成笔录 / Render the transcript');
  make.addEventListener('click', () => busy(make, slot, async () => { await api.post(`${base}/transcript`); reload(); }));
  if (!transcript) {
    return h('div', { class: 'card' }, h('h2', {}, '笔录 ', h('span', { class: 'en' }, 'Transcript')),
      h('p', { class: 'muted' }, '审理结束后生成。/ Rendered once the hearing is closed.'), hearing.status === 'closed' ? make : null);
  }
  const pdf = h('button', { class: 'btn secondary inline', type: 'button' }, 'PDF');
  pdf.addEventListener('click', () => busy(pdf, slot, () => api.download(`${base}/transcript/pdf`, 'transcript.pdf')));
  const sign = h('button', { class: 'btn inline', type: 'button', id: 'transcript-sign' }, '签名 / Sign');
  // Judges sign after a step-up: a fresh code from their authenticator (valid 5 minutes).
  const code = h('input', { name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '8', id: 'transcript-totp', placeholder: '动态验证码 / authenticator code' });
  sign.addEventListener('click', () => busy(sign, slot, async () => {
    if (code.value.trim()) {
      const stepUp = await api.post('/api/v1/identity/staff/step-up', { totp: code.value.trim() });
      api.setAccessToken(stepUp.access_token);
    }
    await api.post(`${base}/transcript/sign`);
    reload();
  }));
  const check = h('div');
  const verify = h('button', { class: 'btn secondary inline', type: 'button' }, '核验 / Verify');
  verify.addEventListener('click', () => busy(verify, slot, async () => {
    const out = await api.get(`${base}/transcript/verify`);
    clear(check, h('div', { class: out.valid ? 'ok' : 'error' },
      `文件完整 intact: ${out.file_intact ? '✓' : '✗'} · 签名有效 valid: ${out.valid ? '✓' : '✗'} · 齐全 complete: ${out.complete ? '✓' : `✗（${out.missing_roles.join('、')}）`}`));
  }));
  return h('div', { class: 'card', id: 'transcript' }, h('h2', {}, '笔录 ', h('span', { class: 'en' }, 'Transcript')),
    h('p', { class: 'muted' }, `SHA-256 ${transcript.sha256} · ${transcript.record_seq} entries`),
    h('ul', { class: 'list' }, transcript.signatures.map((s) => h('li', {}, `${ROLE[s.signer_role] || s.signer_role} · ${when(s.signed_at)}`))),
    h('div', { class: 'row' }, pdf, code, sign, verify), check, hearing.status === 'closed' ? make : null);
}

export async function page(view, api, filingId) {
  const base = `/api/v1/async-hearings/cases/${filingId}`;
  const filing = await api.get(`/api/v1/filing/filings/${filingId}`);
  let hearing = null;
  try {
    hearing = await api.get(base);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  const slot = h('div');
  const reload = () => page(view, api, filingId).catch((error) => clear(slot, errorBox(error)));
  const head = h('p', {}, h('a', { href: `#/filing/${filingId}` }, `‹ ${filing.case_number || '案件 / The case'}`));
  if (!hearing || hearing.status === 'preparing') {
    clear(view, head, h('div', { class: 'cols' },
      h('div', {}, eligibilityCard(api, base, filingId, hearing, reload)),
      h('div', {}, slot, h('div', { class: 'card' }, h('h2', {}, '当事人同意 ', h('span', { class: 'en' }, 'Consents')),
        hearing && hearing.consents.length
          ? h('ul', { class: 'list' }, hearing.consents.map((c) => h('li', {}, `${ROLE[c.party_role] || c.party_role} · ${c.scope} · ${c.consented ? '同意 ✓' : '不同意 ✗'}`)))
          : h('p', { class: 'muted' }, '尚无 / none yet')))));
    return;
  }
  const [posts, missed] = await Promise.all([api.get(`${base}/posts`), api.get(`${base}/missed`)]);
  clear(view, head, h('div', { class: 'cols' },
    h('div', {}, stagesCard(api, base, hearing, slot, reload), recordCard(api, base, posts.items, filing.parties, slot)),
    h('div', {}, slot, questionCard(api, base, hearing, filing.parties, slot, reload), missedCard(api, base, missed, slot, reload),
      await transcriptCard(api, base, hearing, slot, reload))));
}

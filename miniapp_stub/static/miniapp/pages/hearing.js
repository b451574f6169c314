// Asynchronous hearing on the phone (在线异步审理): consent per scope and the written application;
// once started, the stages with their windows, entering the open stage after a face check,
// posting text or files (voice and video as uploaded files) with progress, cross-examining each
// evidence item, answering the judge's questions, a reason for a missed window, and signing the
// transcript.
import { api, go } from '/miniapp/session.js';
import { busy, clear, errorBox, field, h, progressBar, when } from '/miniapp/ui.js';
import { facePanel, needsPresence } from '/miniapp/facecheck.js';

const ROLE = { plaintiff: '原告 Plaintiff', defendant: '被告 Defendant', third_party: '第三人 Third party', judge: '法官 Judge' };
const SCOPES = [
  ['hearing', '异步审理', 'an asynchronous hearing'],
  ['exchange', '在线证据交换与询问', 'online evidence exchange and questioning'],
  ['mediation', '在线调解', 'online mediation'],
];
const STAGE_STATUS = { pending: '未开始 not open yet', open: '进行中 open', closed: '已结束 closed' };
const KIND = { text: '文字', voice: '语音', video: '视频', file: '文件', opinion: '质证意见', question: '法官提问' };
const OPINION = { accept: '认可 accept', dispute: '不认可 dispute' };
const entered = (filingId, stage) => sessionStorage.getItem(`mc.entered.${filingId}.${stage}`) === '1';

function consentCard(base, hearing) {
  const slot = h('div');
  const mine = new Map((hearing ? hearing.consents : []).map((c) => [`${c.scope}:${c.party_role}`, c.consented]));
  const rows = SCOPES.map(([scope, zh, en]) => {
    const reason = h('input', { name: `reason_${scope}`, maxlength: '1000', placeholder: '不同意的理由 / reason if you refuse' });
    const yes = h('button', { class: 'btn inline', type: 'button', 'data-consent': scope }, '同意 Agree');
    const no = h('button', { class: 'btn warn inline', type: 'button' }, '不同意 Refuse');
    const answer = (consented, button) => busy(button, slot, async () => {
      const out = await api.post(`${base}/consents`, { scope, consented, reason: consented ? '' : reason.value.trim() });
      clear(slot, h('div', { class: 'ok consent-recorded' }, `${zh}：${out.consented ? '已同意 agreed' : '不同意 refused'}（${ROLE[out.party_role] || out.party_role}）`));
    });
    yes.addEventListener('click', () => answer(true, yes));
    no.addEventListener('click', () => answer(false, no));
    const answered = [...mine.entries()].filter(([k]) => k.startsWith(`${scope}:`)).map(([k, v]) => `${ROLE[k.split(':')[1]] || k}: ${v ? '✓' : '✗'}`);
    return h('div', { class: 'consent-row' }, h('div', { class: 'title' }, zh, h('span', { class: 'en' }, ` ${en}`)),
      answered.length ? h('div', { class: 'muted' }, answered.join(' · ')) : null, reason, h('div', { class: 'row' }, yes, no));
  });
  const text = h('textarea', { name: 'application', minlength: '10', maxlength: '5000', placeholder: '例如：双方均在外地务工，同时在线参加庭审确有困难，申请异步审理。' });
  const apply = h('button', { class: 'btn secondary', type: 'button', id: 'async-apply' }, '提交书面申请 / Apply in writing');
  apply.addEventListener('click', () => busy(apply, slot, async () => {
    await api.post(`${base}/applications`, { text: text.value.trim() });
    clear(slot, h('div', { class: 'ok' }, '申请已提交 / Application filed'));
  }));
  return h('div', { class: 'card', id: 'async-consents' },
    h('h2', {}, '在线程序同意 ', h('span', { class: 'en' }, 'Consent (Online Litigation Rules Art. 2, 4, 20)')),
    h('p', { class: 'muted' }, '每项分别同意；之后的回答替换之前的。/ Each step separately; a later answer replaces an earlier one.'),
    rows,
    h('details', {}, h('summary', {}, '申请异步审理 / Apply for an asynchronous hearing'), field('申请理由 Why', text), apply),
    slot);
}

function stagesCard(hearing) {
  return h('div', { class: 'card', id: 'async-stages' },
    h('h2', {}, '审理阶段 ', h('span', { class: 'en' }, 'Stages and their windows')),
    h('ol', { class: 'timeline' }, hearing.stages.map((s) => h('li', { 'data-stage': s.kind, class: s.status === 'open' ? 'stage-open' : '' },
      h('span', {}, `${s.name_zh} `, h('span', { class: 'en' }, s.name_en), ` · ${STAGE_STATUS[s.status] || s.status}`),
      h('time', {}, s.opens_at ? `${when(s.opens_at)} → ${when(s.closes_at)}` : `${s.window_hours} 小时 / hours`)))));
}

function uploadPurpose(kind) {
  return kind === 'voice' ? 'voice' : 'evidence';
}

function postForm(base, filingId, stage, slot) {
  const kind = h('select', { name: 'kind', id: 'post-kind' },
    h('option', { value: 'text' }, '文字 Text'), h('option', { value: 'file' }, '文件/证据 File or evidence'),
    h('option', { value: 'voice' }, '语音 Voice (audio file)'), h('option', { value: 'video' }, '视频 Video (MP4/WebM)'));
  const text = h('textarea', { name: 'text', maxlength: '20000', id: 'post-text' });
  const file = h('input', { type: 'file', name: 'file', id: 'post-file' });
  const fileBox = h('div', { hidden: true }, field('文件 File', file));
  const progress = progressBar();
  progress.hidden = true;
  kind.addEventListener('change', () => { fileBox.hidden = kind.value === 'text'; });
  const send = h('button', { class: 'btn', type: 'button', id: 'post-send' }, '发表 / Post');
  send.addEventListener('click', () => busy(send, slot, async () => {
    const body = { stage: stage.kind, kind: kind.value, text: text.value.trim() };
    if (kind.value !== 'text') {
      if (!file.files.length) throw new Error('请选择文件 / choose a file');
      const form = new FormData();
      form.append('file', file.files[0]);
      progress.hidden = false;
      progress.set(0);
      body.file_id = (await api.upload(`/api/v1/files?purpose=${uploadPurpose(kind.value)}`, form, progress.set)).id;
    }
    await api.post(`${base}/posts`, body);
    go(`#/case/${filingId}/hearing`);
  }));
  return h('div', { id: 'post-form' }, field('类型 Kind', kind), field('内容 Text', text), fileBox, progress, send);
}

function enterCard(base, filingId, stage) {
  const slot = h('div');
  const enter = h('button', { class: 'btn', type: 'button', id: 'stage-enter' }, `进入「${stage.name_zh}」阶段 / Enter the ${stage.name_en} stage`);
  const doEnter = () => busy(enter, slot, async () => {
    try {
      await api.post(`${base}/stages/${stage.kind}/enter`);
    } catch (error) {
      if (needsPresence(error)) panel.open = true;
      throw error;
    }
    sessionStorage.setItem(`mc.entered.${filingId}.${stage.kind}`, '1');
    go(`#/case/${filingId}/hearing`);
  });
  enter.addEventListener('click', doEnter);
  const panel = facePanel(doEnter, { label: '人脸核验后进入 / Face check, then enter' });
  const isIn = entered(filingId, stage.kind);
  return h('div', { class: 'card', id: 'stage-card' },
    h('h2', {}, `当前阶段：${stage.name_zh} `, h('span', { class: 'en' }, stage.name_en)),
    h('p', { class: 'muted' }, `截止 / closes ${when(stage.closes_at)}`),
    isIn ? h('div', { class: 'ok' }, '已进入本阶段 / You are in this stage') : [h('p', { class: 'muted' }, '进入阶段前须完成 5 分钟内的人脸核验（第七条）。/ Entering needs a face check from the last 5 minutes (Art. 7).'), enter, panel],
    isIn ? postForm(base, filingId, stage, slot) : null, slot);
}

function fileButton(base, post, slot) {
  if (!post.file_id) return null;
  const button = h('button', { class: 'btn secondary inline download', type: 'button' }, '下载 / Download');
  button.addEventListener('click', () => busy(button, slot, () => api.download(`${base}/posts/${post.id}/file`, `${post.kind}-${post.seq}`)));
  return button;
}

function answerForm(base, filingId, question, openStage, slot) {
  if (!openStage) return null;
  const text = h('textarea', { maxlength: '20000', placeholder: '回答 / your answer' });
  const send = h('button', { class: 'btn secondary inline answer', type: 'button' }, '回答 / Answer');
  send.addEventListener('click', () => busy(send, slot, async () => {
    await api.post(`${base}/posts`, { stage: openStage.kind, kind: 'text', text: text.value.trim(), reply_to: question.id });
    go(`#/case/${filingId}/hearing`);
  }));
  return h('div', { class: 'answer-form' }, text, send);
}

function addressee(value, parties) {
  const party = parties.find((p) => p.id === value);
  if (party) return `${party.name}（${ROLE[party.role] || party.role}）`;
  return ROLE[value] || value;
}

function recordCard(base, filingId, posts, hearing, parties, me, slot) {
  const openStage = hearing.stages.find((s) => s.status === 'open');
  const names = Object.fromEntries(hearing.stages.map((s) => [s.kind, s.name_zh]));
  return h('div', { class: 'card', id: 'async-record' },
    h('h2', {}, '审理记录 ', h('span', { class: 'en' }, `Record (${hearing.record_seq} entries, hash-chained)`)),
    posts.length ? posts.map((p) => h('div', { class: `post${p.author_id === me ? ' mine' : ''}${p.kind === 'question' ? ' question' : ''}`, 'data-post': p.id },
      h('div', { class: 'meta' }, `#${p.seq ?? '草稿 draft'} · ${names[p.stage] || p.stage} · ${ROLE[p.author_role] || p.author_role} · ${KIND[p.kind] || p.kind} · ${when(p.posted_at || p.created_at)}`),
      p.kind === 'question' ? h('div', { class: 'muted' }, `向 / to: ${addressee(p.addressed_party_id, parties)}`) : null,
      p.reply_to ? h('div', { class: 'muted' }, '回复 / reply to an earlier post') : null,
      p.kind === 'opinion' ? h('div', {}, `真实性 ${OPINION[p.data.authenticity]} · 合法性 ${OPINION[p.data.legality]} · 关联性 ${OPINION[p.data.relevance]}${p.data.objection ? ' · 异议 objection' : ''}`) : null,
      p.text ? h('div', { class: 'post-text' }, p.text) : null,
      fileButton(base, p, slot),
      p.kind === 'question' ? answerForm(base, filingId, p, openStage, slot) : null))
      : h('p', { class: 'muted' }, '暂无记录 / Nothing posted yet'));
}

function evidenceCard(base, filingId, evidence, hearing, me, slot) {
  const cross = hearing.stages.find((s) => s.kind === 'cross_examination' && s.status === 'open');
  if (!evidence.items.length) return null;
  return h('div', { class: 'card', id: 'async-evidence' },
    h('h2', {}, '证据与质证 ', h('span', { class: 'en' }, 'Evidence and cross-examination')),
    evidence.items.map(({ item, opinions }) => {
      const selects = ['authenticity', 'legality', 'relevance'].map((name) => field({ authenticity: '真实性 Authenticity', legality: '合法性 Legality', relevance: '关联性 Relevance' }[name],
        h('select', { name }, h('option', { value: 'accept' }, OPINION.accept), h('option', { value: 'dispute' }, OPINION.dispute))));
      const objection = h('input', { type: 'checkbox', name: 'objection' });
      const reasons = h('textarea', { name: 'reasons', maxlength: '5000', placeholder: '质证理由 / reasons' });
      const send = h('button', { class: 'btn secondary', type: 'button' }, '提交质证意见 / Give my opinion');
      const box = h('div', { class: 'opinion-form' }, h('div', { class: 'opinion-grid' }, selects), h('label', { class: 'check' }, objection, h('span', {}, '提出异议 / I object')), reasons, send);
      send.addEventListener('click', () => busy(send, slot, async () => {
        const value = (name) => box.querySelector(`select[name=${name}]`).value;
        await api.post(`${base}/posts`, {
          stage: 'cross_examination', kind: 'opinion', evidence_post_id: item.id,
          opinion: { authenticity: value('authenticity'), legality: value('legality'), relevance: value('relevance'), objection: objection.checked, reasons: reasons.value.trim() },
        });
        go(`#/case/${filingId}/hearing`);
      }));
      return h('div', { class: 'post', 'data-evidence': item.id },
        h('div', { class: 'title' }, item.text || KIND[item.kind], h('span', { class: 'en' }, ` · ${ROLE[item.author_role] || item.author_role}`)),
        fileButton(base, item, slot),
        opinions.map((o) => h('div', { class: 'muted' }, `${ROLE[o.author_role] || o.author_role}：真实性 ${OPINION[o.data.authenticity]} · 合法性 ${OPINION[o.data.legality]} · 关联性 ${OPINION[o.data.relevance]}${o.data.objection ? ' · 异议' : ''} ${o.text || o.data.reasons || ''}`)),
        cross && item.author_id !== me ? box : null);
    }));
}

function missedCard(base, filingId, missed, slot) {
  const open = missed.items.filter((m) => !m.reason);
  if (!missed.items.length) return null;
  return h('div', { class: 'card', id: 'async-missed' },
    h('h2', {}, '逾期未参与 ', h('span', { class: 'en' }, 'Missed windows (Art. 25)')),
    missed.items.map((m) => {
      const reason = h('textarea', { minlength: '2', maxlength: '2000', placeholder: '未按期参与的理由 / why the window was missed' });
      const send = h('button', { class: 'btn secondary', type: 'button' }, '说明理由 / Give the reason');
      send.addEventListener('click', () => busy(send, slot, async () => {
        await api.post(`${base}/missed/${m.id}/reason`, { reason: reason.value.trim() });
        go(`#/case/${filingId}/hearing`);
      }));
      return h('div', { class: 'post' },
        h('div', {}, `${m.stage} · ${m.party_name ? `${m.party_name}（${ROLE[m.party_role] || m.party_role}）` : (ROLE[m.party_role] || m.party_role)} · ${when(m.recorded_at)}`),
        m.reason ? h('div', { class: 'muted' }, `理由 / reason: ${m.reason}`) : null,
        m.decision ? h('div', {}, `决定 / decision: ${m.decision === 'accepted' ? '理由成立 accepted' : '理由不成立 rejected'} ${m.consequence_zh || ''}`) : null,
        open.includes(m) ? [reason, send] : null);
    }));
}

async function transcriptCard(base, filingId, meId) {
  let transcript = null;
  try {
    transcript = await api.get(`${base}/transcript`);
  } catch (error) {
    if (error.status === 404) return null;
    return errorBox(error);
  }
  const slot = h('div');
  const pdf = h('button', { class: 'btn secondary', type: 'button', id: 'transcript-pdf' }, '下载笔录 / Download the transcript');
  pdf.addEventListener('click', () => busy(pdf, slot, () => api.download(`${base}/transcript/pdf`, 'transcript.pdf')));
  const sign = h('button', { class: 'btn', type: 'button', id: 'transcript-sign' }, '电子签名 / Sign the transcript');
  const doSign = () => busy(sign, slot, async () => {
    try {
      await api.post(`${base}/transcript/sign`);
    } catch (error) {
      if (needsPresence(error)) panel.open = true;
      throw error;
    }
    go(`#/case/${filingId}/hearing`);
  });
  sign.addEventListener('click', doSign);
  const panel = facePanel(doSign, { label: '人脸核验后签名 / Face check, then sign' });
  return h('div', { class: 'card', id: 'async-transcript' },
    h('h2', {}, '庭审笔录 ', h('span', { class: 'en' }, 'Transcript')),
    h('p', { class: 'muted' }, `SHA-256 ${transcript.sha256.slice(0, 16)}… · ${transcript.record_seq} 条 entries`),
    h('ul', { class: 'list' }, transcript.signatures.map((s) => h('li', {}, `${ROLE[s.signer_role] || s.signer_role} · ${when(s.signed_at)}`))),
    pdf, transcript.signatures.some((s) => s.signer_id === meId) ? h('div', { class: 'ok' }, '您已签名 / You have signed') : [sign, panel], slot);
}

export async function page(view, filingId) {
  const base = `/api/v1/async-hearings/cases/${filingId}`;
  const [filing, me] = await Promise.all([api.get(`/api/v1/filing/filings/${filingId}`), api.get('/api/v1/auth/me')]);
  let hearing = null;
  try {
    hearing = await api.get(base);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  const back = h('p', {}, h('a', { href: `#/case/${filingId}` }, `‹ ${filing.case_number || '案件 / The case'}`));
  if (!hearing || hearing.status === 'preparing') {
    clear(view, back, consentCard(base, hearing),
      h('div', { class: 'card' }, h('p', { class: 'muted' }, '法官决定异步审理后，这里显示各阶段。/ The stages appear here once the judge starts the asynchronous hearing.')));
    return;
  }
  const slot = h('div');
  const [posts, evidence, missed] = await Promise.all([api.get(`${base}/posts`), api.get(`${base}/evidence`), api.get(`${base}/missed`)]);
  const openStage = hearing.stages.find((s) => s.status === 'open');
  clear(view, back,
    h('div', { class: 'card' }, h('p', {}, `状态 / Status: ${hearing.status}`, hearing.mode ? ` · ${hearing.mode}` : ''),
      hearing.converted_at ? h('p', { class: 'muted' }, `已转为视频庭审 / converted to a video hearing: ${hearing.conversion_reason}`) : null),
    stagesCard(hearing),
    openStage ? enterCard(base, filingId, openStage) : null,
    slot,
    evidenceCard(base, filingId, evidence, hearing, me.id, slot),
    recordCard(base, filingId, posts.items, hearing, filing.parties, me.id, slot),
    missedCard(base, filingId, missed, slot),
    await transcriptCard(base, filingId, me.id),
    h('details', { class: 'card' }, h('summary', {}, '在线程序同意 / Consents'), consentCard(base, hearing)));
}

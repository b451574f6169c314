// My cases and one case: status, parties, evidence (upload with progress), fee quote, submit,
// corrections, the registration's case number and fee notice, WeChat Pay, and the timeline.
import { api, go } from '/miniapp/session.js';
import { busy, clear, errorBox, fen, field, h, progressBar, statusBadge, timelineList, when } from '/miniapp/ui.js';
import { newKey } from '/miniapp/api.js';
import * as wx from '/miniapp/wx.js';
import { causeName, courtName, named } from '/miniapp/names.js';
import { caseLinks } from '/miniapp/pages/caselinks.js';
import { caseHearings } from '/miniapp/pages/video.js';

const ROLE = { plaintiff: '原告 Plaintiff', defendant: '被告 Defendant', third_party: '第三人 Third party' };

export async function list(view) {
  const page = await api.get('/api/v1/filing/filings', { mine: '1' });
  if (!page.items.length) {
    clear(view, h('div', { class: 'card' },
      h('p', {}, '还没有案件。/ No cases yet.'),
      h('a', { class: 'btn', href: '#/file' }, '网上立案 / File a case')));
    return;
  }
  clear(view, h('div', { class: 'card' }, h('ul', { class: 'list', id: 'case-list' }, page.items.map((f) => h('li', {},
    h('a', { href: `#/case/${f.id}`, 'data-filing': f.id },
      h('div', { class: 'title' }, f.case_number || named(causeName, api, f.cause), ' ', statusBadge(f.status)),
      h('div', { class: 'muted' }, named(courtName, api, f.competent_court || f.receiving_court), ` · ${when(f.created_at)}`)))))));
}

function quoteTable(quote) {
  return h('div', {},
    h('div', { class: 'fee-total' }, `¥${quote.total}`),
    h('table', { class: 'fee-lines' }, h('tbody', {},
      quote.lines.map((l) => h('tr', {}, h('td', {}, l.label_zh, h('span', { class: 'en' }, ` ${l.label_en}`)), h('td', {}, `¥${l.fee}`))),
      quote.adjustments.map((a) => h('tr', {}, h('td', {}, a.label_zh, h('span', { class: 'en' }, ` ${a.label_en}`)), h('td', {}, `¥${a.before} → ¥${a.after}`))))),
    quote.halving && quote.halving.applied ? h('p', { class: 'muted' }, quote.halving.explanation_zh, ' / ', quote.halving.explanation_en) : null,
    h('p', { class: 'muted' }, quote.legal_basis.join('；')));
}

async function draftSection(filing, slot) {
  const base = `/api/v1/filing/filings/${filing.id}`;
  // Evidence: title + file, uploaded with a progress bar.
  const evSlot = h('div');
  const progress = progressBar();
  progress.hidden = true;
  const evForm = h('form', { id: 'evidence-form' },
    field('证据名称 Title', h('input', { name: 'title', required: true, maxlength: '200' })),
    field('说明 Description', h('input', { name: 'description', maxlength: '2000' })),
    field('文件 File (PDF / JPEG / PNG)', h('input', { name: 'file', type: 'file', required: true, accept: 'application/pdf,image/jpeg,image/png' })),
    h('button', { class: 'btn secondary', type: 'submit' }, '上传证据 / Upload evidence'), progress, evSlot);
  evForm.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(evForm.querySelector('button'), evSlot, async () => {
      progress.hidden = false;
      progress.set(0);
      await api.upload(`${base}/evidence`, new FormData(evForm), progress.set);
      go(`#/case/${filing.id}`);
    });
  });

  // Fee quote for what is claimed (property cases by the amount; others by the schedule).
  const quoteSlot = h('div', { id: 'fee-quote' }, h('p', { class: 'muted' }, '计算中 / Quoting…'));
  api.get('/api/v1/fees/quote', {
    case_type: filing.claim_amount ? 'property' : 'other_non_property',
    amount: filing.claim_amount,
    procedure: filing.procedure,
    court: filing.competent_court || filing.receiving_court,
  }).then((q) => clear(quoteSlot, quoteTable(q)), (e) => clear(quoteSlot, errorBox(e)));

  const submit = h('button', { class: 'btn', type: 'button', id: 'submit-filing' }, '提交立案 / Submit the case');
  const key = newKey();
  submit.addEventListener('click', () => busy(submit, slot, async () => {
    await api.post(`${base}/submit`, undefined, { key });
    go(`#/case/${filing.id}`);
  }));
  return [
    h('div', { class: 'card' }, h('h2', {}, '添加证据 ', h('span', { class: 'en' }, 'Add evidence')), evForm),
    h('div', { class: 'card' }, h('h2', {}, '预计诉讼费 ', h('span', { class: 'en' }, 'Estimated fee')), quoteSlot,
      h('p', { class: 'muted' }, '立案后按缴费通知缴纳。/ Paid after registration, per the fee notice.')),
    h('div', { class: 'card' }, submit),
  ];
}

function correctionSection(filing, slot) {
  const open = filing.corrections.find((c) => !c.answered_at);
  if (!open) return [];
  const base = `/api/v1/filing/filings/${filing.id}`;
  const facts = h('textarea', { name: 'facts_and_reasons', maxlength: '50000' });
  facts.value = filing.facts_and_reasons;
  const resubmit = h('button', { class: 'btn', type: 'button', id: 'resubmit' }, '补正后提交 / Resubmit');
  resubmit.addEventListener('click', () => busy(resubmit, slot, async () => {
    await api.patch(base, { facts_and_reasons: facts.value });
    await api.post(`${base}/resubmit`);
    go(`#/case/${filing.id}`);
  }));
  return [h('div', { class: 'card' },
    h('h2', {}, '补正通知 ', h('span', { class: 'en' }, 'Corrections requested')),
    h('ol', {}, open.items.map((i) => h('li', {}, i))),
    h('p', { class: 'muted' }, `补正期限 / Deadline: ${open.deadline}`),
    field('事实与理由 Facts and reasons', facts), resubmit)];
}

async function feeSection(filing, slot) {
  if (!filing.fee_notice) return [];
  const base = `/api/v1/filing/filings/${filing.id}`;
  const paySlot = h('div');
  let payments = null;
  try {
    payments = await api.get(`${base}/payments`);
  } catch (error) {
    clear(paySlot, errorBox(error));
  }
  const pay = h('button', { class: 'btn', type: 'button', id: 'pay' }, '微信支付 / Pay with WeChat Pay');
  pay.addEventListener('click', () => busy(pay, paySlot, async () => {
    const started = await api.post(`${base}/payments`, undefined, { key: newKey() });
    await wx.requestPayment(started.request_payment);
    go(`#/case/${filing.id}`);
  }));
  return [h('div', { class: 'card', id: 'fee-notice' },
    h('h2', {}, '缴费通知 ', h('span', { class: 'en' }, 'Fee notice')),
    h('div', { class: 'fee-total' }, `¥${filing.fee_notice.total}`),
    h('p', { class: 'muted' }, `缴费期限 / Due on ${filing.fee_notice.due_on}`),
    payments && payments.fee_paid
      ? h('div', { class: 'ok', id: 'fee-paid' }, `已缴费 / Paid ${fen(payments.fee_total_fen)} · ${when(payments.fee_paid_at)}`)
      : pay,
    paySlot, slot)];
}

function downloadLink(path, name, slot) {
  const button = h('button', { class: 'btn secondary download', type: 'button' }, '下载 / Download');
  button.addEventListener('click', () => busy(button, slot, () => api.download(path, name)));
  return button;
}

export async function detail(view, id) {
  const base = `/api/v1/filing/filings/${id}`;
  const [filing, timeline] = await Promise.all([api.get(base), api.get(`${base}/timeline`)]);
  const slot = h('div');
  const sections = [];
  if (filing.status === 'draft') sections.push(...await draftSection(filing, slot));
  if (filing.status === 'correction_requested') sections.push(...correctionSection(filing, slot));
  if (filing.status === 'registered') sections.push(...await feeSection(filing, h('div')));
  if (filing.status === 'registered') sections.push(await caseHearings(filing.id));
  clear(view,
    h('div', { class: 'card' },
      filing.case_number ? h('div', { class: 'case-number', id: 'case-number' }, filing.case_number) : null,
      h('p', {}, statusBadge(filing.status)),
      h('dl', { class: 'kv' },
        h('dt', {}, '法院 Court'), h('dd', {}, named(courtName, api, filing.competent_court || filing.receiving_court)),
        h('dt', {}, '案由 Cause'), h('dd', {}, named(causeName, api, filing.cause)),
        h('dt', {}, '标的 Amount'), h('dd', {}, filing.claim_amount ? `¥${filing.claim_amount}` : '—'),
        h('dt', {}, '诉请 Claims'), h('dd', {}, filing.claims || '—'),
        filing.decision_due_on ? [h('dt', {}, '审查期限 Review by'), h('dd', {}, filing.decision_due_on)] : null,
        filing.refusal_reason ? [h('dt', {}, '不予受理理由 Reason'), h('dd', {}, filing.refusal_reason)] : null),
      filing.routing_reasons.length ? h('ul', { class: 'muted' }, filing.routing_reasons.map((r) => h('li', {}, r.zh, ' / ', r.en))) : null),
    h('div', { class: 'card' }, h('h2', {}, '当事人 ', h('span', { class: 'en' }, 'Parties')),
      h('ul', { class: 'list' }, filing.parties.map((p) => h('li', {}, h('div', { class: 'title' }, `${ROLE[p.role] || p.role}：${p.name}`),
        h('div', { class: 'muted' }, [p.id_type_name, p.id_number_masked || p.credit_code || p.registration_number, p.country, p.address].filter(Boolean).join(' · ')))))),
    h('div', { class: 'card' }, h('h2', {}, '证据 ', h('span', { class: 'en' }, 'Evidence')),
      filing.evidence.length
        ? h('ul', { class: 'list', id: 'evidence-list' }, filing.evidence.map((e) => h('li', {}, h('div', { class: 'title' }, e.title),
          h('div', { class: 'muted' }, `${e.media_type} · ${(e.size / 1024).toFixed(1)} KiB · SHA-256 ${e.sha256.slice(0, 16)}…`),
          downloadLink(`${base}/evidence/${e.id}/file`, e.title, slot))))
        : h('p', { class: 'muted' }, '暂无证据 / No evidence yet')),
    ...sections,
    caseLinks(filing),
    slot,
    h('div', { class: 'card' }, h('h2', {}, '案件进程 ', h('span', { class: 'en' }, 'Timeline')), timelineList(timeline.items)),
  );
}

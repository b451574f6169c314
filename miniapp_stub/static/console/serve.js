// Console: issuing and serving documents in a case — a template filled in or an uploaded PDF,
// the recipients, the channel plan — then each delivery's status, the deadlines that service
// started, paper service by post, post that came back and public notice after it, and the signed
// proof of service.
import { busy, clear, errorBox, field, h, progressBar, when } from '/miniapp/ui.js';

const SERVICE = '/api/v1/service';

// The templates' fields (service_of_process/documents.py BODY_FIELDS): required, then optional.
export const KINDS = {
  summons: ['传票', 'Summons', ['hearing_at', 'place'], ['reason', 'note']],
  notice_of_response: ['应诉通知书', 'Notice of response', ['response_days'], ['plaintiff', 'due', 'note']],
  evidence_notice: ['举证通知书', 'Notice to produce evidence', ['evidence_days'], ['due', 'note']],
  hearing_notice: ['开庭通知书', 'Hearing notice', ['hearing_at', 'place'], ['note']],
  ruling: ['民事裁定书', 'Civil ruling', ['text'], ['appeal_days', 'appeal_court']],
  judgment: ['民事判决书', 'Civil judgment', ['text'], ['appeal_days', 'appeal_court']],
  mediation_statement: ['民事调解书', 'Civil mediation statement', ['text'], []],
};
const FIELD_NAMES = {
  hearing_at: '开庭时间 Hearing time', place: '地点 Place', reason: '事由 Reason', note: '备注 Note',
  response_days: '答辩期（日）Days to respond', plaintiff: '原告 Plaintiff', due: '截止日 Due',
  evidence_days: '举证期（日）Days for evidence', text: '正文 Text', appeal_days: '上诉期（日）Days to appeal',
  appeal_court: '上诉法院 Appeal court',
};
const CHANNELS = [['inapp', '站内信 In-app'], ['wechat', '微信通知 WeChat (courtesy only)'], ['sms', '短信 SMS'], ['email', '电子邮件 Email']];
const STATUS = { pending: '待生效 pending', served: '已送达 served', postal: '待邮寄 postal', public_notice: '公告 public notice' };
const ROLE = { plaintiff: '原告', defendant: '被告', third_party: '第三人', agent: '代理人' };

function templateFields(kind, box) {
  const [, , required, optional] = KINDS[kind];
  clear(box, [...required, ...optional].map((name) => field(
    `${FIELD_NAMES[name] || name}${required.includes(name) ? ' *' : ''}`,
    name === 'text'
      ? h('textarea', { name: `tf_${name}`, required: true, maxlength: '100000' })
      : h('input', { name: `tf_${name}`, required: required.includes(name), maxlength: '200' }))));
}

function channelBoxes(stage, checked) {
  return h('div', { class: 'channels', dataset: { stage: String(stage) } }, CHANNELS.map(([value, label]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: `plan${stage}`, value, checked: checked.includes(value) }), h('span', {}, label))));
}

function serveForm(api, filing, done) {
  const slot = h('div');
  const kind = h('select', { name: 'kind', id: 'serve-kind' }, Object.entries(KINDS).map(([value, [zh, en]]) => h('option', { value }, `${zh} ${en}`)));
  const source = h('select', { name: 'source', id: 'serve-source' },
    h('option', { value: 'template' }, '按模板生成 / Generate from the template'),
    h('option', { value: 'upload' }, '上传 PDF / Upload a PDF'));
  const fieldsBox = h('div', { id: 'template-fields' });
  const pdf = h('input', { type: 'file', name: 'pdf', accept: 'application/pdf', id: 'serve-pdf' });
  const uploadBox = h('div', { hidden: true }, field('PDF 文书 / The document (PDF)', pdf));
  const progress = progressBar();
  progress.hidden = true;
  const sync = () => {
    templateFields(kind.value, fieldsBox);
    fieldsBox.hidden = source.value !== 'template';
    uploadBox.hidden = source.value !== 'upload';
  };
  kind.addEventListener('change', sync);
  source.addEventListener('change', sync);
  sync();
  const recipients = [
    ...filing.parties.map((p) => ({ key: `party:${p.id}`, label: `${ROLE[p.role] || p.role}：${p.name}${p.linked ? '' : '（无账号 / no account: by post）'}` })),
    ...filing.representations.filter((r) => !r.revoked_at).map((r) => ({ key: `agent:${r.lawyer_account_id}`, label: `代理人 Agent ${r.lawyer_account_id.slice(0, 8)}…` })),
  ];
  const recipientBox = h('div', { id: 'serve-recipients' }, recipients.map((r) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'recipient', value: r.key }), h('span', {}, r.label))));
  const fallback = h('select', { name: 'fallback' }, h('option', { value: 'postal' }, '邮寄 Postal'), h('option', { value: 'public_notice' }, '公告 Public notice'));
  const hours = h('input', { name: 'escalate_hours', type: 'number', min: '1', max: '720', value: '48' });
  const send = h('button', { class: 'btn', type: 'button', id: 'serve-send' }, '送达 / Serve');
  send.addEventListener('click', () => busy(send, slot, async () => {
    const doc = { kind: kind.value };
    if (source.value === 'upload') {
      if (!pdf.files.length) throw new Error('请选择 PDF 文件 / choose the PDF');
      const upload = new FormData();
      upload.append('file', pdf.files[0]);
      progress.hidden = false;
      progress.set(0);
      doc.file_id = (await api.upload('/api/v1/files?purpose=document', upload, progress.set)).id;
    } else {
      doc.template_fields = {};
      for (const input of fieldsBox.querySelectorAll('input, textarea')) {
        if (input.value.trim()) doc.template_fields[input.name.slice(3)] = input.value.trim();
      }
    }
    const chosen = [...recipientBox.querySelectorAll('input:checked')].map((i) => i.value.split(':'));
    const plan = [1, 2].map((stage) => [...form.querySelectorAll(`input[name=plan${stage}]:checked`)].map((i) => i.value)).filter((s) => s.length);
    await api.post(`${SERVICE}/cases/${filing.id}/tasks`, {
      documents: [doc],
      recipients: chosen.map(([type, id]) => (type === 'party' ? { party_id: id } : { account_id: id })),
      plan,
      fallback: fallback.value,
      escalate_after_s: Math.round(Number(hours.value || 48) * 3600),
    });
    done();
  }));
  const form = h('form', { id: 'serve-form' },
    h('h3', {}, '1. 文书 Document'), field('种类 Kind', kind), field('来源 Source', source), fieldsBox, uploadBox, progress,
    h('h3', {}, '2. 受送达人 Recipients'), recipientBox,
    h('h3', {}, '3. 送达方式 Channel plan'),
    h('p', { class: 'muted' }, '第一批同时发送；未按时生效再发第二批，最后按兜底方式。/ Stage 1 goes out together; stage 2 only if stage 1 is not effective in time; then the fallback.'),
    h('div', { class: 'muted' }, '第一批 Stage 1'), channelBoxes(1, ['inapp', 'wechat', 'sms']),
    h('div', { class: 'muted' }, '第二批 Stage 2'), channelBoxes(2, ['email']),
    field('兜底 Fallback', fallback), field('升级等待（小时）Hours before the next stage', hours),
    send, slot);
  form.addEventListener('submit', (event) => event.preventDefault());
  return form;
}

function postalForm(api, delivery, slot, done) {
  const at = h('input', { type: 'datetime-local', name: 'served_at', required: true });
  const tracking = h('input', { name: 'tracking_number', required: true, pattern: '[A-Za-z0-9-]{4,64}', placeholder: 'EMS 单号 / tracking number' });
  const save = h('button', { class: 'btn secondary inline', type: 'button' }, '登记邮寄送达 / Record postal service');
  save.addEventListener('click', () => busy(save, slot, async () => {
    if (!at.value) throw new Error('请填写签收时间 / give the time it was received');
    await api.post(`${SERVICE}/deliveries/${delivery.id}/postal`, { served_at: new Date(at.value).toISOString(), tracking_number: tracking.value.trim() });
    done();
  }));
  return h('div', { class: 'postal' }, at, tracking, save);
}

const POSTAL_FAILURES = [
  ['returned_undeliverable', '退回-无法投递 / returned as undeliverable'],
  ['addressee_unknown', '查无此人 / addressee unknown'],
  ['whereabouts_unknown', '下落不明 / whereabouts unknown'],
];
// CPL Art. 95 (service_of_process/postal.py PUBLIC_NOTICE_GROUNDS): the returns that allow it.
const NOTICE_GROUNDS = new Set(['addressee_unknown', 'whereabouts_unknown']);

function postalFailedForm(api, delivery, slot, done) {
  const reason = h('select', { name: 'reason' }, POSTAL_FAILURES.map(([value, label]) => h('option', { value }, label)));
  const at = h('input', { type: 'datetime-local', name: 'returned_at', required: true });
  const tracking = h('input', { name: 'failed_tracking_number', required: true, pattern: '[A-Za-z0-9-]{4,64}', placeholder: 'EMS 单号 / tracking number' });
  const save = h('button', { class: 'btn secondary inline postal-failed', type: 'button' }, '邮寄失败 / Postal service failed');
  save.addEventListener('click', () => busy(save, slot, async () => {
    if (!at.value) throw new Error('请填写退回时间 / give the time it came back');
    await api.post(`${SERVICE}/deliveries/${delivery.id}/postal-failed`, { reason: reason.value, tracking_number: tracking.value.trim(), returned_at: new Date(at.value).toISOString() });
    done();
  }));
  return h('div', { class: 'postal-failed' }, reason, at, tracking, save);
}

function publicNoticeForm(api, delivery, slot, done) {
  const at = h('input', { type: 'datetime-local', name: 'published_at', required: true });
  const medium = h('input', { name: 'medium', required: true, maxlength: '200', value: '人民法院公告网 / court notice board' });
  const reference = h('input', { name: 'reference', required: true, maxlength: '100', placeholder: '公告编号 / notice number' });
  const save = h('button', { class: 'btn secondary inline public-notice', type: 'button' }, '公告送达 / Serve by public notice');
  save.addEventListener('click', () => busy(save, slot, async () => {
    if (!at.value) throw new Error('请填写公告发布时间 / give the time it was published');
    await api.post(`${SERVICE}/deliveries/${delivery.id}/public-notice`, { published_at: new Date(at.value).toISOString(), medium: medium.value.trim(), reference: reference.value.trim() });
    done();
  }));
  return h('div', { class: 'public-notice' }, h('div', { class: 'muted' }, '公告满30日视为送达（境外60日）/ Deemed served 30 days after publication (60 abroad)'), at, medium, reference, save);
}

function postalActions(api, d, slot, done) {
  if (d.status !== 'postal' || d.service_date) return null;
  return h('div', {},
    postalForm(api, d, slot, done),
    postalFailedForm(api, d, slot, done),
    NOTICE_GROUNDS.has(d.postal_failure) ? publicNoticeForm(api, d, slot, done) : null);
}

function deliveryRows(api, task, slot, done) {
  return task.deliveries.map((d) => {
    const proof = h('button', { class: 'btn secondary inline download proof', type: 'button', 'data-delivery': d.id }, '送达凭证 / Proof');
    proof.addEventListener('click', () => busy(proof, slot, () => api.download(`${SERVICE}/deliveries/${d.id}/proof`, `proof-of-service-${d.id}.pdf`)));
    return h('tr', { 'data-delivery': d.id },
      h('td', {}, `${ROLE[d.recipient_role] || d.recipient_role}：${d.recipient_name}`),
      h('td', { class: 'delivery-status' }, STATUS[d.status] || d.status, d.postal_reason ? h('div', { class: 'muted' }, d.postal_reason) : null,
        d.postal_failure_label ? h('div', { class: 'muted postal-failure' }, `邮寄失败 failed: ${d.postal_failure_label}`) : null,
        d.notice_medium ? h('div', { class: 'muted' }, `${d.notice_medium} ${d.notice_reference || ''}`) : null),
      h('td', { class: 'opt' }, d.attempts.map((a) => h('div', {}, `${a.channel}: ${a.status}${a.address_masked ? ` (${a.address_masked})` : ''}`))),
      h('td', { class: 'service-date' }, d.service_date ? when(d.service_date) : '—',
        d.signed_at ? h('div', { class: 'muted' }, `签收 signed ${d.signed_method}`) : null,
        d.service_date ? h('div', { class: 'muted' }, d.legal_ground_zh) : null),
      h('td', {}, proof, postalActions(api, d, slot, done)));
  });
}

export async function page(view, api, filingId) {
  const [filing, tasks, deadlines] = await Promise.all([
    api.get(`/api/v1/filing/filings/${filingId}`),
    api.get(`${SERVICE}/cases/${filingId}/tasks`),
    api.get(`${SERVICE}/cases/${filingId}/deadlines`),
  ]);
  const slot = h('div');
  const reload = () => page(view, api, filingId).catch((error) => clear(slot, errorBox(error)));
  const refresh = h('button', { class: 'btn secondary inline', type: 'button', id: 'serve-refresh' }, '刷新 / Refresh');
  refresh.addEventListener('click', () => busy(refresh, slot, reload));
  clear(view,
    h('p', {}, h('a', { href: `#/filing/${filingId}` }, `‹ ${filing.case_number || '案件 / The case'}`)),
    h('div', { class: 'cols' },
      h('div', {},
        h('div', { class: 'card' }, h('h2', {}, '送达记录 ', h('span', { class: 'en' }, 'Service of documents')), refresh, slot,
          tasks.items.length ? tasks.items.map((task) => h('div', { class: 'task', 'data-task': task.id },
            h('h3', {}, task.documents.map((d) => d.title_zh).join('、'), h('span', { class: 'en' }, ` · ${when(task.created_at)} · ${task.plan.map((s) => s.join('+')).join(' → ')} → ${task.fallback}`)),
            h('table', { class: 'queue deliveries' },
              h('thead', {}, h('tr', {}, h('th', {}, '受送达人 Recipient'), h('th', {}, '状态 Status'), h('th', { class: 'opt' }, '渠道 Channels'), h('th', {}, '送达日期 Served'), h('th', {}, ''))),
              h('tbody', {}, deliveryRows(api, task, slot, reload)))))
            : h('p', { class: 'muted', id: 'no-tasks' }, '尚未送达文书。/ Nothing served yet.')),
        h('div', { class: 'card' }, h('h2', {}, '期限 ', h('span', { class: 'en' }, 'Deadlines from service')),
          deadlines.items.length
            ? h('table', { class: 'queue', id: 'service-deadlines' }, h('tbody', {}, deadlines.items.map((d) => h('tr', {},
              h('td', {}, `${ROLE[d.recipient_role] || d.recipient_role}：${d.recipient_name}`), h('td', {}, d.kind), h('td', {}, `${d.start} → ${d.due}`), h('td', { class: 'opt' }, d.explanation_zh)))))
            : h('p', { class: 'muted' }, '无 / none'))),
      h('div', {}, h('div', { class: 'card' }, h('h2', {}, '送达文书 ', h('span', { class: 'en' }, 'Serve documents')),
        filing.status === 'registered' ? serveForm(api, filing, reload) : h('p', { class: 'muted' }, '立案后才能送达。/ Only a registered case is served.')))));
}

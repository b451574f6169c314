// Scheduling a case's video hearing (judge or clerk of the case): participants, a start at least
// 3 days ahead (the hearing notice must be served by then), and how electronic service of the
// notice is going for each recipient.
import { busy, clear, errorBox, field, h, when } from '/miniapp/ui.js';
import { NOTICE, ROLES } from '/miniapp/rtc.js';

const BASE = '/api/v1/hearings/video';
const NOTICE_LEAD_MS = 3 * 24 * 3600 * 1000;
const DELIVERY = {
  pending: '送达中 / being served',
  served: '已送达 / served',
  postal: '转邮寄送达 / postal service',
  public_notice: '公告送达 / public notice',
};

// datetime-local wants local wall time without a zone.
function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function noticeService(tasks) {
  const notices = tasks.items.filter((t) => t.documents.some((d) => d.kind === 'hearing_notice'));
  if (!notices.length) return h('p', { class: 'muted' }, '暂无开庭通知送达记录 / No hearing notice served yet');
  return h('table', { class: 'queue', id: 'notice-service' },
    h('thead', {}, h('tr', {}, h('th', {}, '受送达人 Recipient'), h('th', {}, '状态 Status'), h('th', {}, '送达日期 Served on'), h('th', { class: 'opt' }, '文书 Document'))),
    h('tbody', {}, notices.flatMap((t) => t.deliveries.map((d) => h('tr', {},
      h('td', {}, d.recipient_name, h('small', { class: 'muted' }, ` ${d.recipient_role}`)),
      h('td', { class: `delivery-${d.status}` }, DELIVERY[d.status] || d.status),
      h('td', {}, d.service_date || '—'),
      h('td', { class: 'opt' }, t.documents.map((doc) => doc.title_zh).join('、')))))));
}

const SIDE = { plaintiff: '原告 plaintiff', defendant: '被告 defendant', third_party: '第三人 third party' };

// The case's parties and their lawyers, from the case record (court staff see the linked account
// ids); only someone with an account can be invited.
function participantPicker(filing) {
  const byId = new Map(filing.parties.map((p) => [p.id, p]));
  const row = (accountId, title, detail) => h('li', { dataset: { account: accountId || '' } },
    h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'participant', value: accountId || '', disabled: !accountId }),
      title, h('small', { class: 'muted' }, ` ${detail} · `),
      h('span', { class: accountId ? 'badge linked' : 'badge unlinked' }, accountId ? '已关联 linked' : '未关联 not linked')));
  const parties = filing.parties.map((p) => row(p.account_id, p.name, SIDE[p.role] || p.role));
  const lawyers = filing.representations.filter((r) => !r.revoked_at).map((r) => {
    const client = byId.get(r.party_id);
    return row(r.lawyer_account_id, '代理律师 Lawyer', client ? `${client.name}（${SIDE[client.role] || client.role}）的代理人 / for ${client.name}` : '');
  });
  return h('ul', { class: 'list', id: 'participant-picker' }, parties, lawyers);
}

export async function schedulePage(view, api, filingId) {
  const [filing, hearings, tasks] = await Promise.all([
    api.get(`/api/v1/filing/filings/${filingId}`),
    api.get(BASE, { filing_id: filingId }),
    api.get(`/api/v1/service/cases/${filingId}/tasks`).catch((error) => ({ error })),
  ]);
  const slot = h('div', { id: 'schedule-error' });
  const earliest = new Date(Date.now() + NOTICE_LEAD_MS + 3600 * 1000);
  earliest.setMinutes(0, 0, 0);
  const startsAt = h('input', { type: 'datetime-local', name: 'starts_at', required: true, value: localInput(earliest) });
  const title = h('input', { name: 'title', required: true, minlength: '2', maxlength: '200', value: '第一次开庭 / First hearing' });
  const everyone = h('input', { type: 'radio', name: 'who', value: 'all', checked: true });
  const some = h('input', { type: 'radio', name: 'who', value: 'some' });
  const picker = participantPicker(filing);
  picker.hidden = true;
  for (const radio of [everyone, some]) radio.addEventListener('change', () => { picker.hidden = !some.checked; });
  const form = h('form', { id: 'schedule-form' },
    field('名称 Title', title),
    field('开庭时间 Starts at（本地时间 local time）', startsAt, '开庭通知须在开庭3日前送达 / the notice must be served at least 3 days before'),
    h('fieldset', { class: 'field' }, h('legend', { class: 'field-label' }, '参加人 Participants'),
      h('label', { class: 'check' }, everyone, '本案全部当事人及代理律师（承办法官、书记员自动参加）/ every party and lawyer of the case (the judge and clerk always join)'),
      h('label', { class: 'check' }, some, '仅以下人员 / only these people'), picker),
    h('button', { class: 'btn', type: 'submit', id: 'schedule' }, '排期并送达开庭通知 / Schedule and serve the notice'), slot);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form.querySelector('button[type=submit]'), slot, async () => {
      const when_ = new Date(startsAt.value);
      if (Number.isNaN(when_.getTime())) throw new Error('请选择开庭时间 / choose the start time');
      const body = { filing_id: filingId, title: title.value.trim(), starts_at: when_.toISOString() };
      if (some.checked) {
        body.participant_account_ids = [...new Set([...picker.querySelectorAll('input:checked')].map((box) => box.value))];
        if (!body.participant_account_ids.length) throw new Error('请至少选择一位参加人 / choose at least one participant');
      }
      const hearing = await api.post(BASE, body);
      location.hash = `#/video/${hearing.id}`;
    });
  });

  clear(view,
    h('p', {}, h('a', { href: `#/filing/${filingId}` }, '‹ 返回案件 / Back to the case')),
    h('div', { class: 'cols' },
      h('div', {},
        h('div', { class: 'card' }, h('h2', {}, `${filing.case_number || ''} 视频庭审 `, h('span', { class: 'en' }, 'Video hearings')),
          hearings.items.length
            ? h('table', { class: 'queue', id: 'hearing-list' },
              h('thead', {}, h('tr', {}, h('th', {}, '庭审 Hearing'), h('th', {}, '状态 Status'), h('th', {}, '开庭 Starts'), h('th', { class: 'opt' }, '通知 Notice'))),
              h('tbody', {}, hearings.items.map((v) => h('tr', {},
                h('td', {}, h('a', { href: `#/video/${v.id}`, 'data-hearing': v.id }, v.title)),
                h('td', {}, h('span', { class: `badge hearing-${v.status}` }, `${v.status_zh} ${v.status_en}`)),
                h('td', {}, when(v.starts_at)),
                h('td', { class: 'opt notice-status' }, NOTICE[v.notice_status] || v.notice_status)))))
            : h('p', { class: 'muted' }, '尚未排期 / Nothing scheduled')),
        h('div', { class: 'card' }, h('h2', {}, '开庭通知送达 ', h('span', { class: 'en' }, 'Service of the hearing notice')),
          tasks.error ? errorBox(tasks.error) : noticeService(tasks)),
        hearings.items.length ? h('div', { class: 'card' }, h('h2', {}, '参加人 Participants'),
          h('ul', { class: 'list' }, hearings.items[hearings.items.length - 1].participants.map((p) => h('li', {}, `${ROLES[p.role] || p.role}：${p.display_name}`)))) : null),
      h('div', {}, h('div', { class: 'card' }, h('h2', {}, '排期 ', h('span', { class: 'en' }, 'Schedule a video hearing')), form))));
}

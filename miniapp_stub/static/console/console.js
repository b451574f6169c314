// The judge and clerk console: staff sign-in (password + authenticator, with first-time
// enrolment), the filing review queue with its 7-day clock, a case with its timeline, and the
// review actions (corrections, register, refuse, assign the judge).
import { createApi, newKey } from '/miniapp/api.js';
import { causeName, courtName, named } from '/miniapp/names.js';
import { busy, clear, errorBox, field, formValues, h, statusBadge, timelineList, when } from '/miniapp/ui.js';
import * as serve from '/console/serve.js';
import * as asyncHearing from '/console/async.js';
import * as mediation from '/console/mediation.js';
import { schedulePage } from '/console/schedule.js';
import { hearingConsole } from '/console/video.js';

const api = createApi('mc.console.tokens');
const view = document.getElementById('view');
const nav = document.getElementById('nav');
const ROLE = { plaintiff: '原告', defendant: '被告', third_party: '第三人' };

function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await api.post('/api/v1/auth/logout'); } finally { api.clearTokens(); go('#/login'); }
});

// ------------------------------------------------------------------------ sign-in

function enrolPanel(credentials, slot) {
  const panel = h('div', { class: 'card', id: 'totp-enrol' });
  const start = h('button', { class: 'btn', type: 'button', id: 'totp-start' }, '设置身份验证器 / Set up the authenticator');
  start.addEventListener('click', () => busy(start, slot, async () => {
    const out = await api.post('/api/v1/identity/staff/totp/enrol', credentials);
    const code = h('input', { name: 'totp', required: true, pattern: '[0-9]{6}', inputmode: 'numeric', maxlength: '6', autocomplete: 'one-time-code', id: 'totp-confirm-code' });
    const confirm = h('button', { class: 'btn', type: 'button', id: 'totp-confirm' }, '确认 / Confirm');
    confirm.addEventListener('click', () => busy(confirm, slot, async () => {
      await api.post('/api/v1/identity/staff/totp/confirm', { ...credentials, totp: code.value.trim() });
      clear(panel, h('div', { class: 'ok', id: 'totp-done' }, '身份验证器已启用。请用下一个验证码登录。/ Authenticator set up: sign in with its next code.'));
    }));
    clear(panel,
      h('p', {}, '在身份验证器中添加此密钥（只显示一次）/ Add this key to your authenticator app (shown once):'),
      h('div', { class: 'secret', id: 'totp-secret' }, out.secret),
      h('p', { class: 'muted' }, `${out.digits || 6} 位，每 ${out.step_seconds || 30} 秒 / ${out.digits || 6} digits every ${out.step_seconds || 30} s`),
      field('第一个验证码 First code', code), confirm);
  }));
  clear(panel, h('p', {}, '首次登录需设置身份验证器。/ First sign-in: set up an authenticator.'), start);
  return panel;
}

async function loginPage() {
  nav.hidden = true;
  const slot = h('div');
  const extra = h('div');
  const form = h('form', { id: 'staff-login' },
    field('用户名 Username', h('input', { name: 'username', required: true, autocomplete: 'username' })),
    field('密码 Password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' })),
    field('验证码 Authenticator code', h('input', { name: 'totp', pattern: '[0-9]{6}', inputmode: 'numeric', maxlength: '6', autocomplete: 'one-time-code' })),
    h('button', { class: 'btn', type: 'submit' }, '登录 / Sign in'), slot);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const v = formValues(form);
    const credentials = { username: v.username, password: v.password };
    busy(form.querySelector('button'), slot, async () => {
      try {
        api.setTokens(await api.post('/api/v1/identity/staff/login', { ...credentials, totp: v.totp || null }));
      } catch (error) {
        if (error.code === 'totp_enrolment_required') clear(extra, enrolPanel(credentials, slot));
        throw error;
      }
      go('#/queue');
    });
  });
  clear(view, h('div', { class: 'login-card' },
    h('div', { class: 'card' }, h('h2', {}, '工作人员登录 ', h('span', { class: 'en' }, 'Staff sign-in')), form), extra));
}

// ------------------------------------------------------------------------ review queue

function clock(item) {
  if (item.days_left === null || item.days_left === undefined) return h('span', { class: 'muted' }, '—');
  const cls = item.over_limit ? 'clock over' : item.near_limit ? 'clock near' : 'clock';
  const text = item.over_limit ? `超期 ${-item.days_left} 天 / ${-item.days_left} d over` : `剩 ${item.days_left} 天 / ${item.days_left} d left`;
  return h('span', { class: cls }, text);
}

async function queuePage() {
  // Judges have no review queue (clerks and court administrators review): show why, keep search.
  let page = null;
  let refused = null;
  try {
    page = await api.get('/api/v1/filing/review-queue', { limit: 100 });
  } catch (error) {
    if (error.status === 401) throw error;
    refused = errorBox(error);
  }
  const search = h('form', { class: 'row', id: 'case-search' },
    h('input', { name: 'number', placeholder: '案号 Case number, e.g. (2026)浙0281民初1号', required: true }),
    h('button', { class: 'btn inline', type: 'submit' }, '查找 / Find'));
  const slot = h('div');
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(search.querySelector('button'), slot, async () => {
      const found = await api.get('/api/v1/filing/cases', formValues(search));
      go(`#/filing/${found.id}`);
    });
  });
  clear(view,
    h('div', { class: 'card' }, h('h2', {}, '立案审查 ', h('span', { class: 'en' }, 'Filings to review (7-day clock, CPL Art. 126)')),
      refused || (page.items.length
        ? h('table', { class: 'queue', id: 'review-queue' },
          h('thead', {}, h('tr', {}, h('th', {}, '状态 Status'), h('th', {}, '案由 Cause'), h('th', { class: 'opt' }, '收到 Received'), h('th', {}, '期限 Due'), h('th', {}, '剩余 Clock'))),
          h('tbody', {}, page.items.map((item) => h('tr', {},
            h('td', {}, h('a', { href: `#/filing/${item.id}`, 'data-filing': item.id }, statusBadge(item.status))),
            h('td', {}, named(causeName, api, item.cause)),
            h('td', { class: 'opt' }, when(item.received_at)),
            h('td', {}, item.decision_due_on || '—'),
            h('td', {}, clock(item))))))
        : h('p', { class: 'muted', id: 'queue-empty' }, '没有待审查的立案。/ Nothing to review.'))),
    h('div', { class: 'card' }, h('h2', {}, '按案号查找 ', h('span', { class: 'en' }, 'Find a case')), search, slot));
}

// ------------------------------------------------------------------------ a filing

function reviewActions(filing, slot) {
  const base = `/api/v1/filing/filings/${filing.id}`;
  const reviewable = ['submitted', 'forwarded', 'resubmitted'].includes(filing.status);
  const cards = [];
  if (reviewable) {
    const register = h('button', { class: 'btn', type: 'button', id: 'register' }, '立案 / Register');
    const key = newKey();
    register.addEventListener('click', () => busy(register, slot, async () => {
      await api.post(`${base}/register`, undefined, { key });
      go(`#/filing/${filing.id}`);
    }));
    const items = h('textarea', { name: 'items', placeholder: '每行一项 / one item per line', required: true });
    const days = h('input', { name: 'deadline_days', type: 'number', min: '1', max: '60', value: '7' });
    const correct = h('button', { class: 'btn secondary', type: 'button', id: 'request-corrections' }, '要求补正 / Request corrections');
    correct.addEventListener('click', () => busy(correct, slot, async () => {
      const list = items.value.split('\n').map((s) => s.trim()).filter(Boolean);
      await api.post(`${base}/corrections`, { items: list, deadline_days: Number(days.value) });
      go(`#/filing/${filing.id}`);
    }));
    const reason = h('textarea', { name: 'reason', placeholder: '不予受理的理由 / reasons for refusal' });
    const refuse = h('button', { class: 'btn warn', type: 'button', id: 'refuse' }, '不予受理 / Refuse');
    refuse.addEventListener('click', () => busy(refuse, slot, async () => {
      await api.post(`${base}/refuse`, { reason: reason.value.trim() });
      go(`#/filing/${filing.id}`);
    }));
    cards.push(h('div', { class: 'card' }, h('h2', {}, '审查 ', h('span', { class: 'en' }, 'Review')), register,
      h('h3', {}, '补正 Corrections'), field('补正事项 Items', items), field('补正期限（日）Days', days), correct,
      h('h3', {}, '不予受理 Refusal'), field('理由 Reason', reason), refuse));
  }
  if (filing.status === 'registered') {
    const judge = h('input', { name: 'judge_id', placeholder: '法官账号 ID / judge account id', maxlength: '36' });
    const clerk = h('input', { name: 'clerk_id', placeholder: '书记员账号 ID / clerk account id', maxlength: '36' });
    judge.value = filing.assigned_judge_id || '';
    clerk.value = filing.assigned_clerk_id || '';
    const assign = h('button', { class: 'btn secondary', type: 'button', id: 'assign' }, '分配 / Assign');
    assign.addEventListener('click', () => busy(assign, slot, async () => {
      await api.post(`${base}/assignment`, { judge_id: judge.value.trim() || null, clerk_id: clerk.value.trim() || null });
      go(`#/filing/${filing.id}`);
    }));
    cards.push(h('div', { class: 'card' }, h('h2', {}, '分配承办 ', h('span', { class: 'en' }, 'Assign (court administrator)')),
      field('承办法官 Judge', judge), field('书记员 Clerk', clerk), assign));
  }
  return cards;
}

function downloadButton(path, name, slot) {
  const button = h('button', { class: 'btn secondary inline download', type: 'button' }, '下载 / Download');
  button.addEventListener('click', () => busy(button, slot, () => api.download(path, name)));
  return button;
}

async function filingPage(id) {
  const base = `/api/v1/filing/filings/${id}`;
  const [filing, timeline] = await Promise.all([api.get(base), api.get(`${base}/timeline`)]);
  const slot = h('div');
  clear(view, h('p', {}, h('a', { href: '#/queue' }, '‹ 返回 / Back to the queue')), h('div', { class: 'cols' },
    h('div', {},
      h('div', { class: 'card' },
        filing.case_number ? h('div', { class: 'case-number', id: 'case-number' }, filing.case_number) : null,
        h('p', {}, statusBadge(filing.status)),
        h('dl', { class: 'kv' },
          h('dt', {}, '受理法院 Court'), h('dd', {}, named(courtName, api, filing.competent_court || filing.receiving_court)),
          h('dt', {}, '收件法院 Received at'), h('dd', {}, named(courtName, api, filing.receiving_court)),
          h('dt', {}, '案由 Cause'), h('dd', {}, named(causeName, api, filing.cause)),
          h('dt', {}, '程序 Procedure'), h('dd', {}, filing.procedure),
          h('dt', {}, '标的 Amount'), h('dd', {}, filing.claim_amount ? `¥${filing.claim_amount}` : '—'),
          h('dt', {}, '审查期限 Decide by'), h('dd', {}, filing.decision_due_on || '—'),
          h('dt', {}, '诉请 Claims'), h('dd', {}, filing.claims),
          h('dt', {}, '事实 Facts'), h('dd', {}, filing.facts_and_reasons),
          filing.fee_notice ? [h('dt', {}, '诉讼费 Fee'), h('dd', {}, `¥${filing.fee_notice.total}（${filing.fee_notice.due_on} 前 / due)`)] : null,
          filing.refusal_reason ? [h('dt', {}, '不予受理 Refused'), h('dd', {}, filing.refusal_reason)] : null,
          filing.assigned_judge_id ? [h('dt', {}, '承办法官 Judge'), h('dd', { id: 'assigned-judge' }, filing.assigned_judge_id)] : null)),
      h('div', { class: 'card' }, h('h2', {}, '当事人 Parties'),
        h('ul', { class: 'list' }, filing.parties.map((p) => h('li', {}, h('div', { class: 'title' }, `${ROLE[p.role] || p.role}：${p.name}`),
          h('div', { class: 'muted' }, [p.id_type_name, p.id_number_masked || p.credit_code || p.registration_number, p.country, p.address, p.service_address].filter(Boolean).join(' · ')))))),
      h('div', { class: 'card' }, h('h2', {}, '证据 Evidence'),
        filing.evidence.length ? h('ul', { class: 'list', id: 'evidence-list' }, filing.evidence.map((e) => h('li', {}, h('div', { class: 'title' }, e.title),
          h('div', { class: 'muted' }, `${e.media_type} · ${e.size} B · SHA-256 ${e.sha256}`),
          downloadButton(`${base}/evidence/${e.id}/file`, e.title, slot)))) : h('p', { class: 'muted' }, '无 / none')),
      filing.corrections.length ? h('div', { class: 'card' }, h('h2', {}, '补正 Corrections'),
        filing.corrections.map((c) => h('div', {}, h('ol', {}, c.items.map((i) => h('li', {}, i))),
          h('p', { class: 'muted' }, `期限 ${c.deadline} · ${c.answered_at ? `已答复 answered ${when(c.answered_at)}` : '未答复 open'}`)))) : null),
    h('div', {}, slot, filing.status === 'registered' ? caseLinks(filing.id) : null, ...reviewActions(filing, slot),
      filing.status === 'registered' ? h('div', { class: 'card' }, h('a', { href: `#/filing/${filing.id}/hearings`, id: 'video-hearings-link' }, '视频庭审：排期与控制台 → / Video hearings: schedule and console')) : null,
      h('div', { class: 'card' }, h('h2', {}, '案件进程 Timeline'), timelineList(timeline.items)))));
}

function caseLinks(id) {
  return h('div', { class: 'card case-links' }, h('h2', {}, '办案 ', h('span', { class: 'en' }, 'Run the case')),
    h('a', { class: 'btn secondary', href: `#/serve/${id}`, id: 'go-serve' }, '送达文书 / Serve documents'),
    h('a', { class: 'btn secondary', href: `#/async/${id}`, id: 'go-async' }, '异步审理 / Asynchronous hearing'),
    h('a', { class: 'btn secondary', href: `#/mediation/${id}`, id: 'go-mediation' }, '在线调解 / Mediation'));
}

// ------------------------------------------------------------------------ router

const CASE_PAGES = [[/^#\/serve\/([0-9a-f-]{36})$/, serve.page], [/^#\/async\/([0-9a-f-]{36})$/, asyncHearing.page], [/^#\/mediation\/([0-9a-f-]{36})$/, mediation.page]];

async function render() {
  const hash = location.hash || '#/queue';
  if (!api.signedIn() || hash === '#/login') { await loginPage(); return; }
  nav.hidden = false;
  clear(view, h('p', { class: 'muted' }, '加载中 / Loading…'));
  try {
    const me = await api.get('/api/v1/auth/me');
    document.getElementById('who').textContent = `${me.display_name} · ${me.roles.map((r) => r.display_name).join('、')} · ${me.court_code || ''}`;
    const match = /^#\/filing\/([0-9a-f-]{36})$/.exec(hash);
    const casePage = CASE_PAGES.find(([pattern]) => pattern.test(hash));
    const hearings = /^#\/filing\/([0-9a-f-]{36})\/hearings$/.exec(hash);
    const video = /^#\/video\/([0-9a-f-]{36})$/.exec(hash);
    if (match) await filingPage(match[1]);
    else if (hearings) await schedulePage(view, api, hearings[1]);
    else if (video) await hearingConsole(view, api, video[1]);
    else if (casePage) await casePage[1](view, api, casePage[0].exec(hash)[1]);
    else await queuePage();
  } catch (error) {
    if (error.status === 401) { api.clearTokens(); await loginPage(); return; }
    clear(view, errorBox(error));
  }
}

window.addEventListener('hashchange', render);
render();

// DOM helpers shared by the mini-program and the console. Everything is built with
// createElement/textContent, never HTML parsing, so text from the API can never become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A problem+json error made visible: the server's detail, its code and the request id.
export function errorBox(error) {
  const problem = error && error.problem ? error.problem : { detail: String(error && error.message ? error.message : error) };
  const lines = [];
  if (problem.errors) for (const e of problem.errors.slice(0, 5)) lines.push(`${e.field}: ${e.message}`);
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, '出错了 / Error'),
    h('p', { class: 'error-detail' }, problem.detail || problem.title || '未知错误 / unknown error'),
    lines.length ? h('ul', {}, lines.map((l) => h('li', {}, l))) : null,
    h('small', {}, [problem.code ? `code: ${problem.code}` : null, problem.request_id ? ` · request id: ${problem.request_id}` : null].filter(Boolean).join('')),
  );
}

export function showError(slot, error) {
  clear(slot, errorBox(error));
  slot.scrollIntoView({ block: 'nearest' });
}

// Runs an action with the button disabled and a spinner; any error lands in `slot`.
export async function busy(button, slot, action) {
  const label = button.textContent;
  button.disabled = true;
  button.classList.add('busy');
  if (slot) clear(slot);
  try {
    return await action();
  } catch (error) {
    if (slot) showError(slot, error);
    else throw error;
    return undefined;
  } finally {
    button.disabled = false;
    button.classList.remove('busy');
    button.textContent = label;
  }
}

export function progressBar() {
  const bar = h('div', { class: 'progress-fill' });
  const text = h('span', { class: 'progress-text' }, '0%');
  const el = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, bar, text);
  el.set = (fraction) => {
    const pct = Math.round(fraction * 100);
    bar.style.width = `${pct}%`;
    text.textContent = `${pct}%`;
    el.setAttribute('aria-valuenow', String(pct));
  };
  return el;
}

export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input, hint ? h('small', { class: 'hint' }, hint) : null);
}

export function formValues(form) {
  const values = {};
  for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string') values[k] = v.trim();
  return values;
}

export function fen(amountFen) {
  return `¥${(amountFen / 100).toFixed(2)}`;
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('zh-CN', { hour12: false });
}

export const STATUS = {
  draft: ['草稿', 'Draft'],
  submitted: ['已提交', 'Submitted'],
  correction_requested: ['待补正', 'Corrections requested'],
  resubmitted: ['已补正', 'Resubmitted'],
  forwarded: ['已移送', 'Forwarded'],
  registered: ['已立案', 'Registered'],
  refused: ['不予受理', 'Refused'],
};

export function statusBadge(status) {
  const [zh, en] = STATUS[status] || [status, ''];
  return h('span', { class: `badge status-${status}` }, zh, en ? h('small', {}, ` ${en}`) : null);
}

export const EVENT_TEXT = {
  draft_created: '创建草稿 / Draft created',
  party_added: '添加当事人 / Party added',
  party_removed: '移除当事人 / Party removed',
  evidence_added: '提交证据 / Evidence added',
  evidence_withdrawn: '撤回证据 / Evidence withdrawn',
  submitted: '提交立案 / Submitted',
  forwarded: '移送管辖 / Forwarded',
  received: '法院收到 / Received by the court',
  correction_requested: '要求补正 / Corrections requested',
  resubmitted: '补正后提交 / Resubmitted',
  registered: '立案 / Registered',
  refused: '不予受理 / Refused',
  fee_notice_issued: '缴费通知 / Fee notice issued',
  fee_paid: '已缴费 / Fee paid',
  assigned: '分配承办 / Judge assigned',
};

export function timelineList(items) {
  if (!items.length) return h('p', { class: 'muted' }, '暂无记录 / No events');
  return h('ol', { class: 'timeline' }, items.map((e) => h('li', {},
    h('span', { class: 'tl-kind' }, EVENT_TEXT[e.kind] || e.kind),
    h('time', {}, when(e.at)),
  )));
}

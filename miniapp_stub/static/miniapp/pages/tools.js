// Public calculators: litigation fees (/api/v1/fees/quote) and deadlines (/api/v1/calendar/deadline).
import { api } from '/miniapp/session.js';
import { busy, clear, field, formValues, h } from '/miniapp/ui.js';

export async function index(view) {
  clear(view, h('div', { class: 'grid' },
    h('a', { href: '#/fees', id: 'tool-fees' }, h('div', { class: 'tab-icon' }, '¥'), '诉讼费计算', h('div', { class: 'en' }, 'Fee calculator')),
    h('a', { href: '#/deadline', id: 'tool-deadline' }, h('div', { class: 'tab-icon' }, '⌛'), '期限计算', h('div', { class: 'en' }, 'Deadline calculator'))));
}

export async function fees(view) {
  const types = await api.get('/api/v1/fees/case-types');
  const caseType = h('select', { name: 'case_type' }, types.items.map((t) => h('option', { value: t.case_type }, `${t.name_zh} · ${t.name_en}`)));
  const amountHint = h('small', { class: 'hint' });
  const showHint = () => {
    const t = types.items.find((x) => x.case_type === caseType.value);
    amountHint.textContent = t ? `${t.amount_meaning_zh} / ${t.amount_meaning_en}` : '';
  };
  caseType.addEventListener('change', showHint);
  showHint();
  const result = h('div', { id: 'fee-result' });
  const form = h('form', { id: 'fee-form' },
    field('案件类型 Case type', caseType),
    field('金额（元）Amount (yuan)', h('input', { name: 'amount', inputmode: 'decimal' }), amountHint),
    field('程序 Procedure', h('select', { name: 'procedure' }, types.procedures.map((p) => h('option', { value: p.procedure }, `${p.name_zh} · ${p.name_en}`)))),
    field('法院代码（可选）Court code (optional)', h('input', { name: 'court', placeholder: '浙0281', maxlength: '16' })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'appeal', value: 'true' }), '上诉案件 / Appeal'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'mediated_or_withdrawn', value: 'true' }), '调解或撤诉结案（减半）/ Mediated or withdrawn (halved)'),
    h('button', { class: 'btn', type: 'submit' }, '计算 / Calculate'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form.querySelector('button'), result, async () => {
      const q = await api.get('/api/v1/fees/quote', formValues(form));
      clear(result, h('div', { class: 'card' },
        h('div', { class: 'fee-total', id: 'fee-total' }, `¥${q.total}`),
        h('p', { class: 'muted' }, `${q.name_zh} / ${q.name_en}`),
        h('table', { class: 'fee-lines' }, h('tbody', {}, q.lines.map((l) => h('tr', {}, h('td', {}, l.label_zh, ' ', h('span', { class: 'en' }, l.label_en)), h('td', {}, `¥${l.fee}`))))),
        q.halving.applied ? h('p', {}, q.halving.explanation_zh, ' / ', q.halving.explanation_en) : null,
        h('ul', { class: 'muted' }, q.notes_zh.map((n, i) => h('li', {}, n, ' / ', q.notes_en[i] || ''))),
        h('p', { class: 'muted' }, q.legal_basis.join('；'))));
    });
  });
  clear(view, h('div', { class: 'card' }, form), result);
}

// The deadline service belongs to electronic service; its answer is shown as it comes, and an
// error (including "no such resource" where it is not deployed) is shown visibly.
export async function deadline(view) {
  const result = h('div', { id: 'deadline-result' });
  const today = new Date().toISOString().slice(0, 10);
  const form = h('form', { id: 'deadline-form' },
    field('起算日（送达日）Start date (day of service)', h('input', { type: 'date', name: 'start', required: true, value: today })),
    field('期间（日）Period in days', h('input', { type: 'number', name: 'days', required: true, min: '1', max: '3650', value: '15' }), '上诉期 15 日，答辩期 15 日 / appeal 15 days, defence 15 days'),
    h('p', { class: 'muted' }, '起算日不计入；期满日为节假日的，顺延至节后第一个工作日。/ The start day is not counted; a last day on a holiday moves to the next working day.'),
    h('button', { class: 'btn', type: 'submit' }, '计算 / Calculate'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form.querySelector('button'), result, async () => {
      const answer = await api.get('/api/v1/calendar/deadline', formValues(form));
      const due = answer.due_on || answer.due_date || answer.due || answer.deadline;
      clear(result, h('div', { class: 'card' },
        due ? h('div', { class: 'fee-total' }, due) : null,
        h('dl', { class: 'kv' }, Object.entries(answer).filter(([, v]) => typeof v !== 'object').map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
        Object.entries(answer).filter(([, v]) => v && typeof v === 'object').map(([k, v]) => h('details', {}, h('summary', {}, k), h('pre', { class: 'notice-text' }, JSON.stringify(v, null, 2))))));
    });
  });
  clear(view, h('div', { class: 'card' }, form), result);
}

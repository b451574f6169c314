// File a case: court, cause, claims, the parties (me as plaintiff, the defendant). Creates the
// draft and its parties; evidence, the fee quote and submission follow on the case page.
import { api, go } from '/miniapp/session.js';
import { busy, clear, field, formValues, h } from '/miniapp/ui.js';

// The plaintiff (me) gives a resident ID, which must match the verified real name; the other
// side may be identified by any document a person holds (GET /api/v1/filing/id-types).
function personFields(prefix, zh, en, idTypes = null) {
  const number = h('input', { name: `${prefix}_id_number`, required: true, maxlength: '20', autocomplete: 'off' });
  let docFields = null;
  if (idTypes) {
    const country = h('input', { name: `${prefix}_country`, maxlength: '3', placeholder: 'USA', autocapitalize: 'characters' });
    const countryField = field('国籍 Nationality', country, 'ISO 3166-1 三位字母代码，如 USA、GBR / 3-letter code, e.g. USA, GBR');
    const select = h('select', { name: `${prefix}_id_type` },
      idTypes.map((t) => h('option', { value: t.code }, `${t.name_zh} ${t.name_en}`)));
    const sync = () => {
      const chosen = idTypes.find((t) => t.code === select.value);
      countryField.hidden = !chosen.country_required;
      country.required = chosen.country_required;
      if (!chosen.country_required) country.value = '';
    };
    select.addEventListener('change', sync);
    sync();
    docFields = [field('证件类型 Document', select, '境外证件默认按在中国大陆无住所处理 / documents from outside the mainland mean no mainland domicile by default'), countryField];
  }
  return h('fieldset', { class: 'card' },
    h('h2', {}, zh, ' ', h('span', { class: 'en' }, en)),
    field('姓名 Name', h('input', { name: `${prefix}_name`, required: true, maxlength: '200' })),
    docFields,
    field(idTypes ? '证件号码 Document number' : '身份证号 ID number', number),
    field('住所地区划代码 Region code', h('input', { name: `${prefix}_region_code`, required: true, pattern: '[0-9]{6}', inputmode: 'numeric', maxlength: '6' }), '6 位行政区划代码，如 330281 / 6-digit region code, e.g. 330281 (余姚)'),
    field('住址 Address', h('input', { name: `${prefix}_address`, required: true, minlength: '2', maxlength: '300' })));
}

function party(values, prefix, role, extra = {}) {
  const body = {
    role,
    kind: 'natural',
    name: values[`${prefix}_name`],
    id_number: values[`${prefix}_id_number`],
    region_code: values[`${prefix}_region_code`],
    address: values[`${prefix}_address`],
    ...extra,
  };
  if (values[`${prefix}_id_type`]) body.id_type = values[`${prefix}_id_type`];
  if (values[`${prefix}_country`]) body.country = values[`${prefix}_country`];
  return body;
}

export async function newFiling(view) {
  const [courts, causes, profile, idTypes] = await Promise.all([
    api.get('/api/v1/filing/courts', { limit: 200 }),
    api.get('/api/v1/filing/causes', { limit: 200 }),
    api.get('/api/v1/identity/me'),
    api.get('/api/v1/filing/id-types'),
  ]);
  const court = h('select', { name: 'court', required: true },
    courts.items.map((c) => h('option', { value: c.code }, `${c.name_zh} (${c.code})`)));
  const cause = h('select', { name: 'cause', required: true },
    causes.items.filter((c) => c.level >= 3).map((c) => h('option', { value: c.code }, `${c.name_zh} · ${c.name_en}`)));
  const search = h('input', { type: 'search', placeholder: '搜索案由 / search causes', maxlength: '50' });
  search.addEventListener('change', async () => {
    const found = await api.get('/api/v1/filing/causes', { q: search.value || undefined, limit: 200 });
    clear(cause, found.items.map((c) => h('option', { value: c.code }, `${c.name_zh} · ${c.name_en}`)));
  });
  const slot = h('div');
  const real = profile.real_name;
  const form = h('form', { id: 'filing-form' },
    h('div', { class: 'card' },
      h('h2', {}, '案件信息 ', h('span', { class: 'en' }, 'The case')),
      field('受理法院 Court', court),
      field('案由 Cause of action', h('div', {}, search, cause)),
      field('程序 Procedure', h('select', { name: 'procedure' },
        h('option', { value: 'ordinary' }, '普通程序 Ordinary'),
        h('option', { value: 'simple' }, '简易程序 Simple'),
        h('option', { value: 'small_claims' }, '小额诉讼 Small claims'))),
      field('标的额（元）Amount claimed (yuan)', h('input', { name: 'claim_amount', inputmode: 'decimal', pattern: '[0-9]+(\\.[0-9]{1,2})?' })),
      field('诉讼请求 Claims', h('textarea', { name: 'claims', required: true, maxlength: '5000' })),
      field('事实与理由 Facts and reasons', h('textarea', { name: 'facts_and_reasons', required: true, maxlength: '50000' }))),
    personFields('me', '原告（本人）', 'Plaintiff (me)'),
    personFields('defendant', '被告', 'Defendant', idTypes.items.filter((t) => t.kind === 'natural')),
    h('button', { class: 'btn', type: 'submit', id: 'create-filing' }, '保存并继续 / Save and continue'),
    slot);
  if (real) form.elements.me_name.value = real.name;

  // Remembered across retries, so fixing a party after an error does not create a second draft.
  let draftId = null;
  const added = new Set();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form.querySelector('#create-filing'), slot, async () => {
      const v = formValues(form);
      if (!draftId) {
        const draft = await api.post('/api/v1/filing/filings', {
          court: v.court, cause: v.cause, procedure: v.procedure,
          claim_amount: v.claim_amount || null, claims: v.claims, facts_and_reasons: v.facts_and_reasons,
        });
        draftId = draft.id;
      }
      const parties = [
        ['me', party(v, 'me', 'plaintiff', { is_me: true, service_address: 'wx:mobile-court', service_address_confirmed: true })],
        ['defendant', party(v, 'defendant', 'defendant')],
      ];
      for (const [name, body] of parties) {
        if (added.has(name)) continue;
        await api.post(`/api/v1/filing/filings/${draftId}/parties`, body);
        added.add(name);
      }
      go(`#/case/${draftId}`);
    });
  });
  clear(view,
    real && real.status === 'verified' ? null
      : h('div', { class: 'error' }, '立案前请完成实名认证。/ Verify your real name before filing. ', h('a', { href: '#/realname' }, '去认证 →')),
    form);
}

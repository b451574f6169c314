// Hash router of the mini-program: each page renders into #view; pages needing a signed-in user
// send others to the login page.
import { api, go } from '/miniapp/session.js';
import { clear, errorBox, h } from '/miniapp/ui.js';
import * as account from '/miniapp/pages/account.js';
import * as cases from '/miniapp/pages/cases.js';
import * as filing from '/miniapp/pages/filing.js';
import * as tools from '/miniapp/pages/tools.js';
import * as inbox from '/miniapp/pages/inbox.js';
import * as hearing from '/miniapp/pages/hearing.js';
import * as mediation from '/miniapp/pages/mediation.js';
import * as video from '/miniapp/pages/video.js';

const ROUTES = [
  [/^#\/login$/, account.login, { title: '登录 · Sign in', publicPage: true }],
  [/^#\/me$/, account.me, { title: '我的 · Me', tab: 'me' }],
  [/^#\/consents$/, account.consents, { title: '授权同意 · Consents', tab: 'me' }],
  [/^#\/realname$/, account.realname, { title: '实名认证 · Real name', tab: 'me' }],
  [/^#\/cases$/, cases.list, { title: '我的案件 · My cases', tab: 'cases' }],
  [/^#\/case\/([0-9a-f-]{36})$/, cases.detail, { title: '案件详情 · Case', tab: 'cases', back: '#/cases' }],
  [/^#\/hearing\/video\/([0-9a-f-]{36})$/, video.room, { title: '视频庭审 · Video hearing', tab: 'cases', back: '#/cases' }],
  [/^#\/file$/, filing.newFiling, { title: '网上立案 · File a case', tab: 'file' }],
  [/^#\/tools$/, tools.index, { title: '诉讼工具 · Tools', tab: 'tools', publicPage: true }],
  [/^#\/fees$/, tools.fees, { title: '诉讼费计算 · Fees', tab: 'tools', publicPage: true, back: '#/tools' }],
  [/^#\/inbox$/, inbox.list, { title: '文书送达 · Inbox', tab: 'inbox' }],
  [/^#\/delivery\/([0-9a-f-]{36})$/, inbox.delivery, { title: '送达文书 · Documents', tab: 'inbox', back: '#/inbox' }],
  [/^#\/signature-code$/, inbox.signatureCode, { title: '签收码 · Signature code', tab: 'inbox', back: '#/inbox' }],
  [/^#\/service\/link\/([A-Za-z0-9_-]{1,32})$/, inbox.link, { title: '文书送达 · Inbox', tab: 'inbox', publicPage: true }],
  [/^#\/case\/([0-9a-f-]{36})\/hearing$/, hearing.page, { title: '异步审理 · Asynchronous hearing', tab: 'cases', back: '#/cases' }],
  [/^#\/case\/([0-9a-f-]{36})\/mediation$/, mediation.page, { title: '在线调解 · Mediation', tab: 'cases', back: '#/cases' }],
  [/^#\/deadline$/, tools.deadline, { title: '期限计算 · Deadlines', tab: 'tools', publicPage: true, back: '#/tools' }],
];

const view = document.getElementById('view');
const title = document.getElementById('title');
const back = document.getElementById('back');
back.addEventListener('click', () => go(back.dataset.target || '#/cases'));

async function render() {
  const hash = location.hash || (api.signedIn() ? '#/cases' : '#/login');
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!found) { go('#/cases'); return; }
  const [pattern, page, meta] = found;
  if (!meta.publicPage && !api.signedIn()) { go('#/login'); return; }
  title.textContent = meta.title;
  back.hidden = !meta.back;
  back.dataset.target = meta.back || '';
  for (const tab of document.querySelectorAll('#tabbar a')) tab.classList.toggle('active', tab.dataset.tab === meta.tab);
  document.getElementById('tabbar').hidden = !api.signedIn() && meta.tab !== 'tools';
  clear(view, h('p', { class: 'muted' }, '加载中 / Loading…'));
  try {
    await page(view, ...pattern.exec(hash).slice(1));
  } catch (error) {
    if (error.status === 401) { api.clearTokens(); go('#/login'); return; }
    clear(view, errorBox(error));
  }
}

window.addEventListener('hashchange', render);
render();

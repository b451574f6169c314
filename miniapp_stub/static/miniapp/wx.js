// A stand-in for the WeChat client's APIs the mini-program uses. In WeChat, wx.login() and
// wx.requestPayment() are answered by the WeChat app and WeChat's servers; here the browser asks
// the fake platform's control API for the same results (a one-time login code; "the user paid").

let configPromise = null;

export function config() {
  configPromise ??= fetch('/miniapp/config.json').then((r) => r.json());
  return configPromise;
}

async function control(base, path, body) {
  const response = await fetch(`${base}/__control/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === 'string' ? data.detail : JSON.stringify(data.detail || data);
    const error = new Error(`微信模拟平台拒绝 / fake WeChat refused: ${data.error || response.status} ${detail}`);
    error.problem = { detail: error.message, code: data.error || `http_${response.status}` };
    throw error;
  }
  return data;
}

// The same simulated WeChat user on every sign-in from this browser (as the WeChat app would be).
function simulatedOpenid() {
  let openid = localStorage.getItem('mc.sim.openid');
  if (!openid) {
    openid = `sim-${crypto.randomUUID()}`;
    localStorage.setItem('mc.sim.openid', openid);
  }
  return openid;
}

export async function login() {
  const cfg = await config();
  if (!cfg.simulated_wechat) throw new Error('请在微信中打开 / open this in WeChat');
  const result = await control(cfg.wechat_base_url, 'login-code', { appid: cfg.wechat_appid, openid: simulatedOpenid() });
  return { code: result.code };
}

export function switchUser() {
  localStorage.removeItem('mc.sim.openid');
}

export async function requestPayment(params) {
  const cfg = await config();
  if (!cfg.simulated_wechat) throw new Error('请在微信中支付 / pay inside WeChat');
  const prepayId = (params.package || '').replace(/^prepay_id=/, '');
  return control(cfg.wechat_pay_base_url, 'pay/pay', { prepay_id: prepayId });
}

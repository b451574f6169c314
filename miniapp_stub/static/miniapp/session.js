// The mini-program's one API client (tokens in this tab's sessionStorage) and navigation.
import { createApi } from '/miniapp/api.js';

export const api = createApi('mc.miniapp.tokens');

export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

// placeholder
import { clear, h } from '/miniapp/ui.js';

export async function page(view) { clear(view, h('p', {}, '…')); }

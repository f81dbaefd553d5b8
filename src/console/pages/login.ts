/** `/console/login`: the API key, or (sandbox without a key) a plain "enter" button. Also the public `/` page. */
import { bi, html } from './html.js';
import { page } from './layout.js';

export interface LoginPageData {
  sandbox: boolean;
  /** sandbox mode with no WEBHOOK_API_KEY: no key is asked for */
  open: boolean;
  /** outside sandbox with no WEBHOOK_API_KEY: nobody can log in */
  unconfigured: boolean;
  next?: string;
  error?: string;
}

export function renderLoginPage(d: LoginPageData): string {
  let form;
  if (d.unconfigured) {
    form = html`<p class="error">${bi('未设置 WEBHOOK_API_KEY：控制台无法登录。', 'WEBHOOK_API_KEY is not set: nobody can log in to the console.')}</p>`;
  } else {
    form = html`<form method="post" action="/console/login" id="login-form">
<input type="hidden" name="next" value="${d.next ?? '/console'}">
${d.open
    ? html`<p class="muted">${bi('沙箱模式且未设置 WEBHOOK_API_KEY：无需密钥。', 'Sandbox mode without WEBHOOK_API_KEY: no key needed.')}</p>`
    : html`<p><label for="key">${bi('API 密钥（WEBHOOK_API_KEY）', 'API key (WEBHOOK_API_KEY)')}</label><br><input type="password" id="key" name="key" autocomplete="current-password" required></p>`}
<p><button class="primary" type="submit" id="login">${bi('登录', 'Log in')}</button></p>
</form>`;
  }
  const body = html`<section class="card login"><h1>${bi('登录控制台', 'Log in to the console')}</h1>
${d.error ? html`<p class="error" role="alert" id="login-error">${d.error}</p>` : ''}${form}</section>`;
  return page({ title: '登录 Log in', sandbox: d.sandbox }, body);
}

/** `/` for someone not logged in: enough for an uptime check and a person, no run data. */
export function renderPublicHome(d: { sandbox: boolean }): string {
  const body = html`<section class="card login"><h1>OKKI → 宜搭 产品同步 <span class="en">OKKI → Yida product sync</span></h1>
<p id="up" class="ok">${bi('服务运行中。', 'The service is up.')}</p>
<p><a class="button" href="/console">${bi('进入控制台', 'Open the console')}</a></p>
<p class="muted">${bi('运行记录与状态需登录后查看。', 'Runs and status are shown after logging in.')}</p></section>`;
  return page({ title: '状态 Status', sandbox: d.sandbox }, body);
}

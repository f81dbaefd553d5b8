/** The page shell: head, the top bar with navigation and logout, the sandbox banner, a notice line. */
import { bi, csrfField, html, type Html } from './html.js';

export interface Shell {
  title: string;
  /** the session's CSRF token (absent on the login page) */
  csrf?: string;
  sandbox: boolean;
  /** a one-line message after an action (`?notice=`) */
  notice?: Html | string;
  /** the nav entry to mark as current */
  current?: 'overview' | 'products' | 'mapping' | 'run';
}

export function page(shell: Shell, body: Html): string {
  const nav = shell.csrf
    ? html`<nav>
<a href="/console"${shell.current === 'overview' ? html` aria-current="page"` : ''}>${bi('概览', 'Overview')}</a>
<a href="/console/products"${shell.current === 'products' ? html` aria-current="page"` : ''}>${bi('产品', 'Products')}</a>
<a href="/console/mapping"${shell.current === 'mapping' ? html` aria-current="page"` : ''}>${bi('映射', 'Mapping')}</a>
<form method="post" action="/console/logout">${csrfField(shell.csrf)}<button type="submit" id="logout">${bi('退出', 'Log out')}</button></form>
</nav>`
    : '';
  const sandbox = shell.sandbox
    ? html`<p class="banner" role="alert">沙箱模式：OKKI 与钉钉均为本地模拟器，不会写入真实数据。<br><span class="en">Sandbox mode: OKKI and DingTalk are local simulators; nothing real is written.</span></p>`
    : '';
  const notice = shell.notice ? html`<p class="notice" role="status">${shell.notice}</p>` : '';
  return `<!doctype html>
${html`<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${shell.title} · OKKI → 宜搭</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<header><a class="brand" href="/console">OKKI → 宜搭 控制台 <span class="en">console</span></a>${nav}</header>
<main>
${sandbox}${notice}${body}
</main>
</body>
</html>`.text}
`;
}

/** Security headers for every console answer: no inline script, no framing, nothing cached, no referrer. */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

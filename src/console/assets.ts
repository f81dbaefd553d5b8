/**
 * The console's one stylesheet and one small script, served from /console/assets/ (so the pages' CSP can forbid
 * inline script). No build step: plain CSS and plain browser JavaScript.
 */

export const CONSOLE_CSS = `
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1f2328;background:#f6f8fa;font-size:15px;line-height:1.45}
a{color:#0969da}
header{background:#24292f;color:#fff;padding:.5rem .8rem;display:flex;flex-wrap:wrap;gap:.4rem .9rem;align-items:center}
header a{color:#fff;text-decoration:none}
header .brand{font-weight:600;margin-right:auto}
header nav{display:flex;flex-wrap:wrap;gap:.2rem .8rem;align-items:center}
header form{display:inline;margin:0}
header button{background:none;border:1px solid #8c959f;color:#fff;border-radius:4px;padding:.15rem .5rem;font:inherit;cursor:pointer}
main{padding:.8rem;max-width:1100px;margin:0 auto}
h1{font-size:1.3rem;margin:.4rem 0 .8rem}
h2{font-size:1.1rem;margin:1.2rem 0 .5rem}
.en{color:#57606a;font-weight:normal;font-size:.88em}
header .en{color:#d0d7de}
button .en,a.button .en{color:inherit;opacity:.85}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.7rem .9rem;margin:0 0 .8rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:.8rem}
.grid .card{margin:0}
dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.9rem;background:#fff}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.reason{overflow-wrap:anywhere;min-width:14rem}
.badge{display:inline-block;border-radius:1rem;padding:0 .55rem;font-size:.85rem;border:1px solid currentColor;white-space:nowrap}
.st-succeeded,.ok{color:#1a7f37}.st-partial,.warn{color:#9a6700}.st-failed,.bad{color:#cf222e}.st-running{color:#0969da}.st-skipped{color:#57606a}
.banner{background:#fff8c5;border:1px solid #d4a72c;padding:.6rem .9rem;border-radius:6px;margin:0 0 .8rem}
.notice{background:#ddf4ff;border:1px solid #54aeff;padding:.5rem .9rem;border-radius:6px;margin:0 0 .8rem}
.error{background:#ffebe9;border:1px solid #ff8182;padding:.5rem .9rem;border-radius:6px;margin:0 0 .8rem;overflow-wrap:anywhere}
progress{width:100%;height:1.1rem;accent-color:#2da44e}
.live p{margin:.3rem 0}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0}
.actions form{margin:0}
button.primary,a.button,button.secondary{font:inherit;border-radius:6px;padding:.45rem .9rem;cursor:pointer;border:1px solid #1f883d;background:#1f883d;color:#fff;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:#24292f;border-color:#d0d7de}
button.danger{font:inherit;border-radius:6px;padding:.45rem .9rem;cursor:pointer;border:1px solid #cf222e;background:#cf222e;color:#fff}
input[type=text],input[type=password],input[type=search]{font:inherit;padding:.45rem .6rem;border:1px solid #d0d7de;border-radius:6px;width:100%;max-width:22rem}
form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6rem;overflow:auto;font-size:.82rem;max-height:24rem}
.diff-no td{background:#fff1e5}
svg.chart{width:100%;height:auto;max-width:640px;display:block}
.login{max-width:26rem;margin:3rem auto}
.muted{color:#57606a}
@media (max-width:600px){main{padding:.5rem}dl{grid-template-columns:1fr}dt{margin-top:.3rem}th,td{padding:.25rem .35rem}
table.stack thead{display:none}table.stack tr{display:block;border:1px solid #d0d7de;margin:0 0 .5rem;background:#fff}table.stack td{display:block;border:none;min-width:0}}
`;

/**
 * Progress elements carry `data-live-run` and `data-events`: the script follows the run's events and fills the
 * `[data-k=…]` slots; at the end it reloads the page so the final record (failures, buttons) shows.
 * Forms with `data-confirm` ask first.
 */
export const CONSOLE_JS = `
(function () {
  'use strict';
  function set(root, k, v) { root.querySelectorAll('[data-k="' + k + '"]').forEach(function (el) { el.textContent = v; }); }
  document.querySelectorAll('[data-live-run]').forEach(function (root) {
    if (!window.EventSource) return;
    var es = new EventSource(root.getAttribute('data-events'));
    var bar = root.querySelector('progress');
    es.addEventListener('progress', function (e) {
      var p = JSON.parse(e.data);
      set(root, 'read', p.read); set(root, 'written', p.written); set(root, 'settled', p.settled);
      set(root, 'total', p.totalText); set(root, 'rate', p.rateText); set(root, 'eta', p.etaText);
      set(root, 'rejected', p.counts.rejected); set(root, 'failed', p.counts.failed);
      Object.keys(p.counts).forEach(function (k) { set(document, 'count-' + k, p.counts[k]); });
      if (bar) {
        if (p.total) { bar.max = p.total; bar.value = p.settled; } else { bar.removeAttribute('value'); }
      }
      root.setAttribute('data-status', p.status);
    });
    es.addEventListener('done', function (e) {
      es.close();
      root.setAttribute('data-status', JSON.parse(e.data).status);
      // the page again, without the notice that started it: now the final record
      setTimeout(function () { location.replace(location.pathname); }, 600);
    });
    es.addEventListener('gone', function () { es.close(); });
  });
  document.querySelectorAll('form[data-confirm]').forEach(function (f) {
    f.addEventListener('submit', function (e) { if (!confirm(f.getAttribute('data-confirm'))) e.preventDefault(); });
  });
})();
`;

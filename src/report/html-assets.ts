/**
 * The HTML report's inline stylesheet and script: constants, no user data,
 * so the page's Content-Security-Policy can allow exactly these two by hash
 * (and nothing else: no network, no injected script even if escaping failed).
 * Light and dark via prefers-color-scheme. The script only makes tables
 * sortable; the page reads the same without it.
 */

export const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1d2329;--muted:#5d6975;--line:#d8dee4;--card:#f6f8fa;
--accent:#0b63c4;--good:#1a7f37;--warn:#9a6700;--bad:#cf222e;--band:#7fb2e8;--p50:#0b4f9c;--max:#6b7785;
--bar:#5b8fd1;--dns:#8250df;--connect:#e16f24;--tls:#bf8700;--ttfb:#0969da;--transfer:#1f9e89}
@media (prefers-color-scheme:dark){:root{--bg:#0f1419;--fg:#e6edf3;--muted:#9aa7b4;--line:#30363d;--card:#161b22;
--accent:#58a6ff;--good:#3fb950;--warn:#d29922;--bad:#f85149;--band:#1f4f86;--p50:#8cc4ff;--max:#9aa7b4;
--bar:#3d7bc4;--dns:#a371f7;--connect:#f0883e;--tls:#d4a72c;--ttfb:#4493f8;--transfer:#3ec9a7}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main,header.top,footer{max-width:1180px;margin:0 auto;padding:0 20px}
header.top{padding-top:18px}
h1{font-size:1.6rem;margin:.2em 0}
h2{font-size:1.25rem;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
h3{font-size:1.02rem;margin:1em 0 .4em}
code{font:0.92em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
a{color:var(--accent)}
.muted{color:var(--muted)}.good{color:var(--good)}.warn{color:var(--warn)}.bad{color:var(--bad);font-weight:600}
.status{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff;background:var(--good)}
.status.unhealthy{background:var(--bad)}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px}
.totals{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0;padding:0;list-style:none}
.totals li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:6px 12px}
.totals b{display:block;font-size:1.25rem}
.finding{border:1px solid var(--line);border-left:5px solid var(--muted);border-radius:6px;padding:4px 14px 8px;margin:10px 0;background:var(--card)}
.finding.conf-high{border-left-color:var(--bad)}.finding.conf-medium{border-left-color:var(--warn)}
.badge{font-size:.8rem;font-weight:500;border:1px solid var(--line);border-radius:10px;padding:1px 8px}
.next{border-top:1px dashed var(--line);padding-top:6px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:8px 0;font-size:.9rem}
caption{text-align:left;font-weight:600;padding:4px 0;color:var(--muted)}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
thead th{position:sticky;top:0;background:var(--bg)}
th.num,td:has(>span.num){text-align:right;font-variant-numeric:tabular-nums}
th button{all:inherit;cursor:pointer;padding:0}
th[aria-sort=ascending] button::after{content:" ▲"}th[aria-sort=descending] button::after{content:" ▼"}
table.evidence th{font-weight:400}
.ids{font-size:.82rem;color:var(--muted);white-space:nowrap}
table.fit{width:100%}table.fit :is(td,th){overflow-wrap:anywhere}
table.fit .ids{white-space:normal}table.fit svg.phasebar{width:100%;min-width:60px;max-width:260px}
time{white-space:nowrap}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.88rem}
.legend li{display:flex;align-items:center;gap:6px}
.swatch{width:16px;height:12px}
ul.inline{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px}
figure.chart{margin:10px 0 18px}figure.chart svg{width:100%;height:auto;display:block}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:8px 24px}
details{margin:4px 0}summary{cursor:pointer}
svg text{fill:var(--muted);font-size:11px;font-family:system-ui,sans-serif}
svg .grid{stroke:var(--line);stroke-width:1}
svg .axisline{stroke:var(--muted)}
svg .band{fill:var(--band);opacity:.75}
svg .p50{fill:none;stroke:var(--p50);stroke-width:1.6}
svg .max{fill:var(--max)}svg .max.hot{fill:var(--bad)}
svg .stall{fill:var(--bad);stroke:var(--bg);stroke-width:.8}
svg .stall-tick{fill:var(--bad)}svg .fail-tick{fill:var(--warn)}
svg .bar{fill:var(--bar)}
svg .pmark line{stroke:var(--fg);stroke-dasharray:3 2}svg .pmark.hot line{stroke:var(--bad)}
svg .pmark text{fill:var(--fg);font-size:10px}
svg .iv:hover .band{opacity:1}
.ph-dns{fill:var(--dns)}.ph-connect{fill:var(--connect)}.ph-tls{fill:var(--tls)}.ph-ttfb{fill:var(--ttfb)}.ph-transfer{fill:var(--transfer)}
svg.phasebar{background:var(--card);border:1px solid var(--line)}
footer{margin:30px auto;font-size:.85rem;color:var(--muted)}
pre{background:var(--card);padding:8px;overflow-x:auto}
`;

export const SCRIPT = `(() => {
  const keyOf = (row, col) => {
    const cell = row.cells[col];
    const v = cell ? cell.querySelector("[data-v]") : null;
    if (v && v.getAttribute("data-v") !== "") return Number(v.getAttribute("data-v"));
    return cell ? cell.textContent.trim() : "";
  };
  for (const table of document.querySelectorAll("table.sortable")) {
    if (!table.tHead || !table.tBodies[0]) continue;
    const heads = Array.from(table.tHead.rows[0].cells);
    heads.forEach((th, col) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      button.title = "Sort by " + th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", () => {
        const asc = th.getAttribute("aria-sort") !== "ascending";
        for (const h of heads) h.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows).sort((a, b) => {
          const x = keyOf(a, col);
          const y = keyOf(b, col);
          const d = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
          return asc ? d : -d;
        });
        body.append(...rows);
      });
    });
  }
})();
`;

/**
 * `--report FILE.html`: one self-contained page (styles and script inline, nothing fetched) with
 * the cache graph, the timeline and the context counters of each build, and for several builds
 * (`wharf bench`) a table of the runs side by side.
 */
import type { BuildRecord } from './report-data.js';
import { OUTCOME_STYLE, esc, graphSvg, ms, timelineSvg } from './report-svg.js';

export interface ReportPage {
  /** What was built: `wharf build DIR` or `wharf bench --mode hit DIR`. */
  readonly title: string;
  readonly runs: readonly BuildRecord[];
}

export function renderReportHtml(page: ReportPage): string {
  const scale = Math.max(...page.runs.map((r) => r.durationMs));
  // Several runs: the last one is shown first (the others a click away), all on one time scale.
  const shown = page.runs.length - 1;
  const sections = page.runs.map((r, i) => runSection(r, i, i === shown, page.runs.length > 1 ? scale : undefined));
  const data = page.runs.map((r) => ({ label: r.label, graph: r.graph, steps: r.steps }));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(page.title)}</title>
<script>window.addEventListener('error', function (e) { document.documentElement.setAttribute('data-script-error', String(e.message)); });</script>
<style>${CSS}</style></head>
<body>
<header><h1>${esc(page.title)}</h1>${legend()}</header>
${page.runs.length > 1 ? runsTable(page.runs) : ''}
${page.runs.length > 1 ? `<nav class="runs">${page.runs.map((r, i) => `<button type="button" data-show="${i}"${i === shown ? ' class="on"' : ''}>${esc(r.label)}</button>`).join('')}</nav>` : ''}
${sections.join('\n')}
<aside id="details" hidden><button type="button" class="close" aria-label="close">×</button><div id="details-body"></div></aside>
<script type="application/json" id="wharf-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

function legend(): string {
  const items = Object.entries(OUTCOME_STYLE).map(([k, s]) => `<span class="key ${k}"><i style="background:${s.fill};border-color:${s.stroke}"></i>${s.label}</span>`);
  items.push('<span class="key critical"><i></i>critical path</span>', '<span class="key reads"><i></i>reads another stage</span>');
  return `<div class="legend">${items.join('')}</div>`;
}

function runSection(r: BuildRecord, i: number, shown: boolean, scale: number | undefined): string {
  const counts = (o: string) => Object.values(r.steps).filter((s) => s.outcome === o).length;
  const total = Object.keys(r.steps).length;
  const status = r.ok
    ? `<p class="status ok">built${r.imageId ? ` ${esc(r.imageId.slice(0, 19))}` : ''} in ${ms(r.durationMs)}: ${counts('cached')}/${total} steps cached, ${counts('executed')} executed</p>`
    : `<p class="status failed">failed after ${ms(r.durationMs)}: ${esc(r.failure ?? '')}</p>`;
  return `<section class="run" data-run="${i}"${shown ? '' : ' hidden'}>
<h2>${esc(r.label)}</h2>${status}
<h3>Cache graph <small>hover a step for its miss reason and time; click it for details</small></h3>
<div class="scroll">${graphSvg(r, i)}</div>
<h3>Timeline <small>one lane per stage; the critical path is outlined</small></h3>
<div class="scroll">${timelineSvg(r, i, scale)}</div>
<h3>Context</h3>${contextTable(r)}
</section>`;
}

function contextTable(r: BuildRecord): string {
  const c = r.context;
  if (!c) return '<p class="muted">no context counters (the build did not finish)</p>';
  return `<table class="context"><tr><th>files</th><th>hashed</th><th>bytes hashed</th><th>from the stat cache</th></tr><tr><td>${c.files}</td><td>${c.filesHashed}</td><td>${c.bytesHashed}</td><td>${c.filesFromStatCache}</td></tr></table>`;
}

/** Runs side by side: a row per step, a column per run, each cell coloured as the step went. */
function runsTable(runs: readonly BuildRecord[]): string {
  const first = runs[0]!;
  const head = `<tr><th>step</th>${runs.map((r) => `<th>${esc(r.label)}</th>`).join('')}</tr>`;
  const rows = first.graph.flatMap((st) =>
    st.steps.map((s) => {
      const cells = runs.map((r) => {
        const x = r.steps[s.id];
        if (!x) return '<td></td>';
        const took = x.start !== undefined && x.end !== undefined ? ms(x.end - x.start) : '';
        return `<td class="${x.outcome}" title="${esc(x.miss ? `${x.miss.kind}: ${x.miss.text}` : OUTCOME_STYLE[x.outcome].label)}">${esc([OUTCOME_STYLE[x.outcome].label, took].filter(Boolean).join(' '))}</td>`;
      });
      return `<tr><td class="inst">#${s.number} [${esc(st.label)}] ${esc(s.instruction)}</td>${cells.join('')}</tr>`;
    }),
  );
  const sum = (f: (r: BuildRecord) => string) => runs.map((r) => `<td>${f(r)}</td>`).join('');
  const foot = [
    `<tr class="sum"><td>build time</td>${sum((r) => ms(r.durationMs))}</tr>`,
    `<tr class="sum"><td>cached</td>${sum((r) => `${Object.values(r.steps).filter((s) => s.outcome === 'cached').length}/${Object.keys(r.steps).length}`)}</tr>`,
    `<tr class="sum"><td>context files hashed / from stat cache</td>${sum((r) => (r.context ? `${r.context.filesHashed} / ${r.context.filesFromStatCache} of ${r.context.files}` : ''))}</tr>`,
  ];
  return `<h2>Runs side by side</h2><div class="scroll"><table class="runs">${head}${rows.join('')}${foot.join('')}</table></div>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:16px 24px;color:#212121;background:#fff}
h1{font-size:20px;margin:0 0 8px}h2{font-size:17px;margin:18px 0 4px}h3{font-size:15px;margin:16px 0 6px}h3 small{font-weight:normal;color:#757575;margin-left:8px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:13px}.key i{display:inline-block;width:14px;height:14px;border:1.5px solid;border-radius:3px;vertical-align:-2px;margin-right:5px}
.key.critical i{border:2.5px solid #212121;background:#fff}.key.reads i{border:none;height:3px;background:#1565c0;vertical-align:3px}
.status{margin:4px 0}.status.ok{color:#2e7d32}.status.failed{color:#c62828;font-weight:600}.muted{color:#757575}
.scroll{overflow-x:auto}svg text{font-family:ui-monospace,"DejaVu Sans Mono",monospace}
.stage-box{fill:#f5f7fa;stroke:#b0bec5}.stage-name{font-size:13px;font-weight:bold;fill:#263238}.stage-base{font-size:11px;fill:#607d8b}.target{fill:#6a1b9a;font-size:11px}
.node{cursor:pointer}.node rect{stroke-width:1.5}.node.not-run rect,.node.cancelled rect{stroke-dasharray:4 3}.node:hover rect,.node.sel rect{stroke-width:3}
.n1{font-size:12px;fill:#212121}.n2{font-size:11px;fill:#546e7a}.edge{stroke:#777;stroke-width:1.4}
.stage-edge path{fill:none;stroke:#1565c0;stroke-width:1.8}.stage-edge text{font-size:10px;fill:#1565c0;font-family:system-ui,sans-serif}
.lane{fill:#fff}.lane.odd{fill:#f5f7fa}.lane-label{font-size:12px;fill:#263238}.tick{stroke:#e0e0e0}.tick-label{font-size:10px;fill:#757575}
.bar{cursor:pointer}.bar-label{font-size:11px;fill:#212121;pointer-events:none}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #cfd8dc;padding:3px 8px;text-align:left}th{background:#eceff1}
td.cached{background:#c8e6c9}td.executed{background:#ffe0b2}td.failed{background:#ffcdd2}td.cancelled,td.not-run{background:#eeeeee}td.inst{font-family:ui-monospace,monospace;font-size:12px}tr.sum td{font-weight:600}
nav.runs{margin:12px 0}nav.runs button{margin-right:6px;padding:3px 10px;border:1px solid #90a4ae;background:#fff;border-radius:4px;cursor:pointer}nav.runs button.on{background:#263238;color:#fff}
#details{position:fixed;right:16px;top:16px;width:380px;max-height:80vh;overflow:auto;background:#fff;border:1px solid #90a4ae;border-radius:6px;box-shadow:0 4px 16px rgba(0,0,0,.18);padding:12px 14px;font-size:13px}
#details .close{float:right;border:none;background:none;font-size:18px;cursor:pointer}#details dt{font-weight:600;margin-top:6px}#details dd{margin:0 0 0 12px;word-break:break-word}#details h3{margin:0 0 6px;font-family:ui-monospace,monospace;font-size:13px}#details pre{white-space:pre-wrap;font-size:12px;background:#f5f7fa;padding:6px}
`;

// Written for any browser of the last years: no modules, no build step.
const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('wharf-data').textContent);
  var panel = document.getElementById('details');
  var body = document.getElementById('details-body');
  function text(tag, s, cls) { var e = document.createElement(tag); e.textContent = s; if (cls) e.className = cls; return e; }
  function fmt(ms) { return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(2) + ' s'; }
  function show(run, id) {
    var rec = data[run], step = null, stage = null;
    rec.graph.forEach(function (st) { st.steps.forEach(function (s) { if (s.id === id) { step = s; stage = st; } }); });
    if (!step) return;
    var r = rec.steps[id] || { outcome: 'not-run' };
    body.textContent = '';
    body.appendChild(text('h3', '#' + step.number + ' [' + stage.label + '] ' + step.instruction));
    var dl = document.createElement('dl');
    function row(k, v) { dl.appendChild(text('dt', k)); dl.appendChild(text('dd', v)); }
    row('outcome', r.outcome);
    if (step.line !== undefined) row('Dockerfile line', String(step.line));
    if (r.start !== undefined && r.end !== undefined) row('time', fmt(r.end - r.start) + ' (from ' + fmt(r.start) + ' to ' + fmt(r.end) + ')');
    if (r.miss) row('cache miss: ' + r.miss.kind, r.miss.text);
    if (r.error) row('error', r.error);
    if (r.exitCode !== undefined) row('exit status', String(r.exitCode));
    step.reads.forEach(function (x) {
      var from = rec.graph.filter(function (st) { return st.index === x.stage; })[0];
      row('reads', x.via + ' stage ' + (from ? from.label : x.stage));
    });
    body.appendChild(dl);
    panel.hidden = false;
    document.querySelectorAll('.sel').forEach(function (e) { e.classList.remove('sel'); });
    document.querySelectorAll('[data-run="' + run + '"][data-step="' + id + '"]').forEach(function (e) { e.classList.add('sel'); });
  }
  document.addEventListener('click', function (ev) {
    var t = ev.target.closest ? ev.target.closest('[data-step]') : null;
    if (t) { show(Number(t.getAttribute('data-run')), t.getAttribute('data-step')); return; }
    var b = ev.target.closest ? ev.target.closest('[data-show]') : null;
    if (b) {
      var n = b.getAttribute('data-show');
      document.querySelectorAll('section.run').forEach(function (s) { s.hidden = s.getAttribute('data-run') !== n; });
      document.querySelectorAll('[data-show]').forEach(function (x) { x.classList.toggle('on', x === b); });
      panel.hidden = true;
    }
  });
  // A link to one step: #step=<run>/<id> opens its details.
  var m = /^#step=(\\d+)\\/(.+)$/.exec(location.hash);
  if (m) show(Number(m[1]), decodeURIComponent(m[2]));
  panel.querySelector('.close').addEventListener('click', function () { panel.hidden = true; });
  document.documentElement.setAttribute('data-report-ready', String(data.length));
})();
`;

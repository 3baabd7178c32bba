"""The error browser of an evaluation: one self-contained HTML file (`result.html` beside `result.json`), no server, no
network, no external file (inline CSS and JavaScript; the data inline as JSON).

What it shows:

* a summary table per dataset: P / R / F1 with their bootstrap intervals, and the counts of every error class of
  `reasoning_ner.errors` (a matched pair once, spurious predictions, missed gold pairs);
* the type confusion of each dataset (folded away at first; the selected dataset's alone when the dataset filter is
  set): gold type by row, predicted type by column, the last column missed gold pairs, the last row spurious
  predictions, each cell shaded by its share of the row (`reasoning_ner.plots.confusion_grid`, as the PNGs of
  `evaluate.py --plot_confusion`);
* one entry per test sentence: the sentence twice — the gold line with every gold span coloured by the class of its
  gold pair, the prediction line with every predicted span (every occurrence of a predicted mention, as located by the
  taxonomy) coloured by the class of its predicted pair —, predicted mentions found nowhere in the sentence
  (`spurious_hallucinated`) as chips, the list of outcomes (class, gold mention/type → predicted mention/type), the
  parse status when the answer did not parse, and the reasoning (reasoning tokens when known) and the raw answer as
  collapsible blocks, each cut at `max_reasoning_chars` characters (the cut is said);
* filters: by dataset, by type (a sentence with a gold or predicted pair of that type), and by error class (toggle
  buttons; a sentence with an outcome of any selected class — of the selected type when one is selected), with the
  number of matching sentences. Matching sentences are drawn 200 at a time (a "show more" button, pressed by itself
  when scrolled into view), so a page of several thousand sentences opens at once.

Every text is inserted with `textContent` (never parsed as HTML), and the inline JSON has `<`, `>` and `&` escaped, so
no sentence or completion can break the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import CLASSES, Outcome


def _cut(text: str, limit: int) -> tuple[str, int]:
    if limit <= 0 or len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def _outcome(o: Outcome) -> list[Any]:
    g, p = o.gold, o.pred
    return [
        o.cls,
        g.type if g else None,
        g.text if g else None,
        (g.spans or ()) if g else (),  # (start, end) tuples: JSON arrays in the page
        p.type if p else None,
        p.text if p else None,
        (p.spans or ()) if p else (),
    ]


def build_data(
    rows: Sequence[Mapping[str, Any]],
    sentences: Mapping[str, Sequence[str]],
    outcomes: Mapping[str, Sequence[Sequence[Outcome]]],
    records: Mapping[str, Sequence[Mapping[str, Any]]],
    statuses: Mapping[str, Sequence[str]],
    reasoning_tokens: Mapping[str, Sequence[int | None]] | None = None,
    meta: Mapping[str, Any] | None = None,
    max_reasoning_chars: int = 2000,
) -> dict[str, Any]:
    """The page's data: dataset rows, and per sentence `{d, i, s, o, st, r, rcut, rt, a, acut}` (dataset number,
    index, sentence, outcomes `[cls, gold type, gold mention, gold spans, pred type, pred mention, pred spans]`, parse
    status, reasoning and what was cut of it, reasoning tokens, answer and what was cut of it)."""
    from .parsing import split_reasoning
    from .plots import ERROR_COLORS, confusion_grid

    names = [r["dataset"] for r in rows if r["dataset"] != "Average" and r["dataset"] in sentences]
    out_rows = []
    for r in rows:
        keep = {k: r.get(k) for k in ("dataset", "precision", "recall", "f1", "precision_ci", "recall_ci", "f1_ci")}
        keep |= {k: r.get(k) for k in ("n_examples", "n_gold", "n_pred", "n_match", "errors")}
        if r.get("confusion"):
            types, grid = confusion_grid(r["confusion"], max_types=None)
            keep["confusion"] = {"types": types, "grid": grid}
        out_rows.append(keep)
    sents = []
    for k, name in enumerate(names):
        toks = (reasoning_tokens or {}).get(name)
        for i, s in enumerate(sentences[name]):
            rec = records[name][i] if name in records else {}
            completion = rec.get("completion") if isinstance(rec.get("completion"), str) else ""
            if isinstance(rec.get("reasoning_content"), str):
                reasoning, answer = rec["reasoning_content"], completion
            else:
                thought, answer = split_reasoning(completion)
                reasoning = thought or ""
            r_txt, r_cut = _cut(reasoning.strip(), max_reasoning_chars)
            a_txt, a_cut = _cut(answer.strip(), max_reasoning_chars)
            sents.append(
                {
                    "d": k,
                    "i": i,
                    "s": s,
                    "o": [_outcome(o) for o in outcomes[name][i]],
                    "st": statuses[name][i],
                    "r": r_txt,
                    "rcut": r_cut,
                    "rt": toks[i] if toks is not None else None,
                    "a": a_txt,
                    "acut": a_cut,
                }
            )
    shown_meta = {}
    for k in ("model", "backend", "protocol", "split", "predictions", "base_path", "limit"):
        if meta and meta.get(k) is not None:
            shown_meta[k] = meta[k]
    return {
        "datasets": names,
        "rows": out_rows,
        "classes": list(CLASSES),
        "colors": ERROR_COLORS,
        "meta": shown_meta,
        "sentences": sents,
    }


def _json_for_script(data: Any) -> str:
    s = json.dumps(data, separators=(",", ":"))  # ASCII: faster to write, and \u2028 \u2029 escaped too
    return s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:10px 18px}
header h1{font-size:18px;margin:0 0 4px 0} header .meta{font-size:12px;opacity:.85}
main{padding:12px 18px}
table.summary{border-collapse:collapse;font-size:12px;margin-bottom:12px;background:#fff}
table.summary th,table.summary td{border:1px solid #ddd;padding:3px 7px;text-align:right}
table.summary th:first-child,table.summary td:first-child{text-align:left}
.controls{position:sticky;top:0;background:#fafafa;padding:8px 0;border-bottom:1px solid #ddd;z-index:2;
 display:flex;flex-wrap:wrap;gap:8px;align-items:center;font-size:13px}
.controls select{font-size:13px}
button.cls{border:2px solid transparent;border-radius:12px;padding:2px 9px;font-size:12px;cursor:pointer;color:#fff;opacity:.55}
button.cls.on{opacity:1;border-color:#222}
button.clear{font-size:12px}
#count{font-weight:600;margin-left:auto}
.sent{background:#fff;border:1px solid #e0e0e0;border-radius:6px;margin:8px 0;padding:8px 10px}
.sent.hidden{display:none}
.head{font-size:11px;color:#666;margin-bottom:4px;display:flex;gap:6px;flex-wrap:wrap;align-items:center}
.badge{border-radius:8px;padding:0 6px;color:#fff;font-size:11px}
.status{background:#b71c1c;color:#fff;border-radius:8px;padding:0 6px}
.line{font-size:14px;line-height:1.9;margin:1px 0}
.line .lab{display:inline-block;width:44px;font-size:11px;color:#888}
.hl{border-radius:3px;padding:1px 1px;color:#fff}
.line.gold .hl.missed{background:none!important;color:#222;border-bottom:3px dashed #9e9e9e}
.chip{display:inline-block;border-radius:10px;padding:0 7px;margin:0 3px;font-size:12px;color:#fff}
ul.outs{margin:4px 0 2px 0;padding-left:18px;font-size:12px}
details{font-size:12px;margin-top:3px} details pre{white-space:pre-wrap;background:#f4f4f4;padding:6px;margin:3px 0;
 max-height:300px;overflow:auto}
.cut{color:#b71c1c}
button.more{margin:8px 0 30px 0;font-size:13px}
details#confusion{font-size:13px;margin:0 0 10px 0} details#confusion>summary{cursor:pointer;font-weight:600}
.conf{display:inline-block;vertical-align:top;margin:6px 14px 6px 0} .conf h3{font-size:13px;margin:4px 0}
table.confusion{border-collapse:collapse;font-size:11px;background:#fff}
table.confusion th,table.confusion td{border:1px solid #ddd;padding:2px 5px;text-align:right}
table.confusion th{font-weight:500;color:#444} table.confusion th.corner{color:#888;text-align:left}
"""

_JS = r"""
(function(){
const D = JSON.parse(document.getElementById('data').textContent);
const C = D.colors, CLS = D.classes;
function el(tag, cls, text){const e=document.createElement(tag); if(cls) e.className=cls; if(text!=null) e.textContent=text; return e;}
function fmt(v){return v==null?'':Number(v).toFixed(2);}
function ci(v){return v? ' ['+fmt(v[0])+', '+fmt(v[1])+']' : '';}
// summary table
const tb = document.getElementById('summary');
const hr = el('tr'); ['dataset','P','R','F1 [95% CI]'].concat(CLS).forEach(h=>{const th=el('th',null,h.replace(/_/g,' ')); if(C[h]){th.style.color=C[h];} hr.appendChild(th);}); tb.appendChild(hr);
D.rows.forEach(r=>{const tr=el('tr'); tr.appendChild(el('td',null,r.dataset));
  tr.appendChild(el('td',null,fmt(r.precision))); tr.appendChild(el('td',null,fmt(r.recall)));
  tr.appendChild(el('td',null,fmt(r.f1)+ci(r.f1_ci)));
  CLS.forEach(c=>tr.appendChild(el('td',null,r.errors? String(r.errors[c]||0):''))); tb.appendChild(tr);});
// type confusion per dataset: gold type by row, predicted type by column, shaded by the cell's share of its row
const confBox=document.getElementById('confusion-tables');
D.rows.forEach(r=>{if(!r.confusion) return; const k=D.datasets.indexOf(r.dataset); if(k<0) return;
  const types=r.confusion.types, grid=r.confusion.grid, wrap=el('div','conf'); wrap.dataset.d=String(k);
  wrap.appendChild(el('h3',null,r.dataset)); const t=el('table','confusion'), head=el('tr');
  head.appendChild(el('th','corner','gold \\ predicted'));
  types.concat(['(missed)']).forEach(x=>head.appendChild(el('th',null,x))); t.appendChild(head);
  grid.forEach((row,i)=>{const tr=el('tr'); tr.appendChild(el('th',null,i<types.length? types[i]:'(spurious)'));
    const tot=row.reduce((a,b)=>a+b,0);
    row.forEach(v=>{const td=el('td',null,v? String(v):''); const f=tot? v/tot:0;
      if(v){td.style.background='rgba(8,81,156,'+(0.08+0.92*f).toFixed(3)+')'; td.style.color=f>0.6?'#fff':'#222';}
      tr.appendChild(td);}); t.appendChild(tr);});
  wrap.appendChild(t); confBox.appendChild(wrap);});
if(!confBox.children.length) document.getElementById('confusion').style.display='none';
// controls
const dsSel=document.getElementById('f-dataset'), tySel=document.getElementById('f-type'), box=document.getElementById('f-classes');
D.datasets.forEach((n,k)=>{const o=el('option',null,n); o.value=String(k); dsSel.appendChild(o);});
const types=new Set(); D.sentences.forEach(s=>s.o.forEach(o=>{if(o[1])types.add(o[1]); if(o[4])types.add(o[4]);}));
[...types].sort().forEach(t=>{const o=el('option',null,t); o.value=t; tySel.appendChild(o);});
const on=new Set();
const classCount={}; D.sentences.forEach(s=>s.o.forEach(o=>{classCount[o[0]]=(classCount[o[0]]||0)+1;}));
CLS.forEach(c=>{const b=el('button','cls',c.replace(/_/g,' ')+' ('+(classCount[c]||0)+')'); b.style.background=C[c]; b.dataset.cls=c;
  b.addEventListener('click',()=>{if(on.has(c)){on.delete(c);b.classList.remove('on');}else{on.add(c);b.classList.add('on');} apply();}); box.appendChild(b);});
document.getElementById('f-clear').addEventListener('click',()=>{on.clear(); box.querySelectorAll('button').forEach(b=>b.classList.remove('on')); tySel.value=''; dsSel.value=''; apply();});
dsSel.addEventListener('change',apply); tySel.addEventListener('change',apply);
// highlighting: elementary segments between all span boundaries; a covered segment takes the class of its shortest span
function line(text, marks, kind){
  const d=el('div','line '+kind); d.appendChild(el('span','lab',kind==='gold'?'gold':'pred'));
  const cuts=new Set([0,text.length]); marks.forEach(m=>{cuts.add(Math.max(0,Math.min(text.length,m[0]))); cuts.add(Math.max(0,Math.min(text.length,m[1])));});
  const pts=[...cuts].sort((a,b)=>a-b);
  for(let k=0;k+1<pts.length;k++){const a=pts[k], b=pts[k+1]; if(a===b) continue;
    let best=null; marks.forEach(m=>{if(m[0]<=a && b<=m[1] && (!best || m[1]-m[0] < best[1]-best[0])) best=m;});
    const seg=text.slice(a,b);
    if(best){const s=el('span','hl '+best[2],seg); s.style.background=C[best[2]]; s.title=best[3]; d.appendChild(s);} else d.appendChild(document.createTextNode(seg));}
  return d;}
function desc(o){const g=o[1]? '"'+o[2]+'" ('+o[1]+')':'—', p=o[4]? '"'+o[5]+'" ('+o[4]+')':'—'; return o[0].replace(/_/g,' ')+': gold '+g+' → pred '+p;}
const list=document.getElementById('list'), moreBtn=document.getElementById('more');
function render(s){
  const div=el('div','sent'); div.dataset.d=String(s.d); div.dataset.i=String(s.i);
  const head=el('div','head'); head.appendChild(el('span',null,D.datasets[s.d]+' #'+s.i));
  const cc={}; s.o.forEach(o=>{cc[o[0]]=(cc[o[0]]||0)+1;});
  CLS.forEach(c=>{if(cc[c]){const b=el('span','badge',c.replace(/_/g,' ')+' '+cc[c]); b.style.background=C[c]; head.appendChild(b);}});
  if(s.st!=='ok') head.appendChild(el('span','status','answer: '+s.st.replace(/_/g,' ')));
  div.appendChild(head);
  const gm=[], pm=[], hall=[];
  s.o.forEach(o=>{const t=desc(o); o[3].forEach(sp=>gm.push([sp[0],sp[1],o[0],t])); o[6].forEach(sp=>pm.push([sp[0],sp[1],o[0],t]));
    if(o[0]==='spurious_hallucinated') hall.push(o);});
  div.appendChild(line(s.s,gm,'gold'));
  const pl=line(s.s,pm,'pred');
  hall.forEach(o=>{const c=el('span','chip','“'+o[5]+'” '+o[4]); c.style.background=C[o[0]]; c.title='not in the sentence (spurious hallucinated)'; pl.appendChild(c);});
  div.appendChild(pl);
  if(s.o.length){const ul=el('ul','outs'); s.o.forEach(o=>{const li=el('li'); const b=el('span','badge',o[0].replace(/_/g,' ')); b.style.background=C[o[0]];
    li.appendChild(b); li.appendChild(document.createTextNode(' gold '+(o[1]?'"'+o[2]+'" ('+o[1]+')':'—')+' → pred '+(o[4]?'"'+o[5]+'" ('+o[4]+')':'—'))); ul.appendChild(li);}); div.appendChild(ul);}
  if(s.r){const det=el('details','reasoning'); det.appendChild(el('summary',null,'reasoning'+(s.rt!=null?' ('+s.rt+' tokens)':'')+' — '+s.r.length+' characters shown'));
    det.appendChild(el('pre',null,s.r)); if(s.rcut) det.appendChild(el('div','cut','… '+s.rcut+' more characters not included')); div.appendChild(det);}
  const da=el('details','answer'); da.appendChild(el('summary',null,'answer as written'));
  da.appendChild(el('pre',null,s.a||'(empty)')); if(s.acut) da.appendChild(el('div','cut','… '+s.acut+' more characters not included')); div.appendChild(da);
  return div;}
// the matching sentences are rendered PAGE at a time (button, or automatically when it scrolls into view)
const PAGE=200; let matches=[], shown=0;
function more(){const end=Math.min(matches.length, shown+PAGE); const frag=document.createDocumentFragment();
  for(let k=shown;k<end;k++) frag.appendChild(render(matches[k])); list.appendChild(frag); shown=end;
  moreBtn.style.display = shown<matches.length ? '' : 'none'; moreBtn.textContent='show '+Math.min(PAGE,matches.length-shown)+' more';
  document.getElementById('count').textContent=matches.length+' of '+D.sentences.length+' sentences match'+(shown<matches.length?' (first '+shown+' shown)':'');}
moreBtn.addEventListener('click',more);
if('IntersectionObserver' in window){new IntersectionObserver(es=>{if(es.some(e=>e.isIntersecting) && shown<matches.length) more();}).observe(moreBtn);}
function apply(){
  const ds=dsSel.value, ty=tySel.value;
  confBox.querySelectorAll('.conf').forEach(c=>{c.style.display=(ds===''||c.dataset.d===ds)?'':'none';});
  matches=D.sentences.filter(s=>{
    if(ds!=='' && String(s.d)!==ds) return false;
    if(ty==='' && !on.size) return true;
    return s.o.some(o=>(ty==='' || o[1]===ty || o[4]===ty) && (!on.size || on.has(o[0])));});
  list.textContent=''; shown=0; more();}
apply();
})();
"""


def render_html(data: Mapping[str, Any], title: str = "Evaluation: error browser") -> str:
    meta = " · ".join(f"{k}: {v}" for k, v in data.get("meta", {}).items())
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><div class='meta'>{html.escape(meta)}</div></header><main>"
        "<table class='summary' id='summary'></table>"
        "<details id='confusion'><summary>type confusion per dataset (gold type × predicted type)</summary>"
        "<div id='confusion-tables'></div></details>"
        "<div class='controls'><label>dataset <select id='f-dataset'><option value=''>all</option></select></label>"
        "<label>type <select id='f-type'><option value=''>all</option></select></label>"
        "<span id='f-classes'></span><button class='clear' id='f-clear'>clear filters</button>"
        "<span id='count'></span></div><div id='list'></div><button id='more' class='more'>show more</button></main>"
        f"<script type='application/json' id='data'>{_json_for_script(data)}</script>"
        f"<script>{_JS}</script></body></html>\n"
    )


def write_html(path: str | Path, data: Mapping[str, Any], title: str = "Evaluation: error browser") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data, title), encoding="utf-8")
    return path


__all__ = ["build_data", "render_html", "write_html"]

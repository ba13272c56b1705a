// The HoneyHive local collector's viewer: plain JavaScript, no build step.
//
// Views (from the query string, so every view is a link):
//   /                        sessions, newest first, with their model calls, tokens and cost
//   /?session=ID[&span=ID]   a session: totals, its traces as a waterfall, one span selected
//   /?trace=ID[&span=ID]     one trace
//   /?q=TEXT[&errors=1&type=&model=&min_ms=]
//                            search: ids, then spans whose name, input or output has the words
//   /?view=runs              experiment runs, newest first, with their metric means
//   /?run=ID                 a run: one row per datapoint (inputs, output, ground truth, metrics)
//   /?run=NEW&compare=OLD    two runs compared: metric deltas per datapoint, improved, regressed
//
// Every captured value reaches the page through esc() or textContent, never as markup; the
// page's Content-Security-Policy runs no inline script or style either, so positions and
// indentation are set through element.style after the rows are built. Keys: j/k move between
// spans, e jumps to the next error, / focuses search. While a page is open and visible it asks
// /api/changes every two seconds (an answer from memory, no database work) and redraws when
// something arrived, keeping the selection.
"use strict";

(function () {
  const KEY_STORE = "honeyhive-collector-key";
  const KINDS = { 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer" };
  const POLL_MS = 2000;
  const main = document.getElementById("main");
  const params = new URLSearchParams(location.search);

  // -- helpers -----------------------------------------------------------------------------

  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(value) {
    return String(value).replace(/[&<>"']/g, (c) => ESC[c]);
  }

  function duration(ms) {
    if (!(ms >= 0)) return "";
    if (ms < 1) return ms.toFixed(2) + " ms";
    if (ms < 1000) return ms.toFixed(1) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(2) + " s";
    const s = Math.floor(ms / 1000);
    return Math.floor(s / 60) + " min " + (s % 60) + " s";
  }

  function when(ns) {
    const d = new Date(ns / 1e6);
    const pad = (n, w) => String(n).padStart(w || 2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." +
      pad(d.getMilliseconds(), 3);
  }

  function count(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function plural(n, word) {
    return count(n) + " " + word + (n === 1 ? "" : "s");
  }

  function money(usd) {
    if (usd === null || usd === undefined) return "";
    if (usd === 0) return "$0";
    if (usd < 0.01) return "$" + usd.toPrecision(2);
    return "$" + usd.toFixed(usd < 10 ? 3 : 2);
  }

  function link(query, text, cls) {
    return '<a href="/?' + new URLSearchParams(query).toString() + '"' +
      (cls ? ' class="' + cls + '"' : "") + ">" + text + "</a>";
  }

  function short(id) {
    return id.length > 12 ? id.slice(0, 8) + "…" : id;
  }

  async function api(path) {
    const headers = {};
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers["Authorization"] = "Bearer " + key;
    const response = await fetch(path, { headers });
    if (response.status === 401) {
      const error = new Error("this collector needs its API key");
      error.auth = true;
      throw error;
    }
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return response.json();
  }

  function fail(error) {
    if (error && error.auth) return keyForm();
    main.innerHTML = '<div class="card pad"><h2>Something went wrong</h2><p class="muted">' +
      esc(error && error.message ? error.message : error) + "</p></div>";
  }

  function keyForm() {
    main.innerHTML =
      '<form class="card keyform" id="keyform"><h2>This collector requires an API key</h2>' +
      '<p class="muted">It was started with <code>--api-key</code> (or ' +
      "<code>HH_COLLECTOR_API_KEY</code>). The key is kept for this browser tab only.</p>" +
      '<input type="password" name="key" placeholder="API key" autocomplete="off" autofocus>' +
      "<button>Open</button></form>";
    document.getElementById("keyform").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY_STORE, event.target.elements.key.value.trim());
      location.reload();
    });
  }

  // The badge: the HoneyHive event type, else the span kind when it says something.
  function kindOf(span) {
    return span.event_type || (span.kind >= 2 ? KINDS[span.kind] : "");
  }

  function tokensText(total, prompt, completion) {
    if (total === null || total === undefined) return "";
    const parts = [];
    if (prompt !== null && prompt !== undefined) parts.push(count(prompt) + " in");
    if (completion !== null && completion !== undefined) parts.push(count(completion) + " out");
    return count(total) + " tokens" + (parts.length ? " (" + parts.join(", ") + ")" : "");
  }

  // -- live refresh ------------------------------------------------------------------------

  // One redraw function at a time: the current view's. Polling stops while the tab is hidden.
  let redraw = null;
  let version = null;
  let polling = false;

  async function poll() {
    if (polling || document.visibilityState !== "visible") return;
    polling = true;
    try {
      const changes = await api("/api/changes");
      if (changes && version !== null && changes.version !== version && redraw) {
        version = changes.version;
        await redraw();
        const live = document.getElementById("live");
        if (live) live.textContent = "updated " + new Date().toLocaleTimeString();
      } else if (changes) {
        version = changes.version;
      }
    } catch (error) {
      /* the next poll tries again */
    } finally {
      polling = false;
    }
  }

  // -- sessions list -----------------------------------------------------------------------

  const PAGE = 50;
  let listOffset = 0;

  function costCell(s) {
    if (s.cost_usd !== null && s.cost_usd !== undefined) {
      return money(s.cost_usd) + (s.unpriced_calls ? '<span class="muted" title="' +
        esc(plural(s.unpriced_calls, "call") + " to models without a price") + '">+</span>' : "");
    }
    return s.unpriced_calls ? '<span class="muted" title="no price for these models">n/a</span>' : "";
  }

  function sessionRow(s) {
    const errors = s.error_count
      ? '<span class="badge err">' + s.error_count + "</span>"
      : '<span class="badge ok">0</span>';
    return '<tr class="' + (s.error_count ? "has-err" : "") + '">' +
      "<td>" + link({ session: s.session_id }, esc(s.name || "(unnamed)")) +
      '<span class="sid mono">' + esc(s.session_id) + "</span></td>" +
      '<td class="wide">' + esc(s.project || "") + '</td><td class="wide">' + esc(s.source || "") + "</td>" +
      '<td class="mono">' + when(s.start_ns) + "</td>" +
      '<td class="num">' + duration(s.duration_ms) + "</td>" +
      '<td class="num">' + count(s.span_count) + "</td>" +
      '<td class="num">' + errors + "</td>" +
      '<td class="num">' + (s.model_calls ? count(s.model_calls) : "") + "</td>" +
      '<td class="num">' + (s.total_tokens ? count(s.total_tokens) : "") + "</td>" +
      '<td class="num">' + costCell(s) + "</td></tr>";
  }

  async function showSessions(append) {
    const limit = append ? PAGE : Math.max(PAGE, listOffset + PAGE);
    const offset = append ? listOffset : 0;
    const data = await api("/api/sessions?limit=" + limit + "&offset=" + offset);
    const sessions = data.sessions;
    if (!append) {
      document.title = "Sessions · HoneyHive";
      if (!sessions.length) {
        main.innerHTML = '<div class="card empty"><h2>No sessions yet</h2>' +
          "<p>Point the SDK here and run your app:</p><p><code>HH_API_URL=" +
          esc(location.origin) + "</code></p><p>No API key is needed on loopback. This page " +
          "shows new sessions as they arrive.</p></div>";
        return;
      }
      const scroll = window.scrollY;
      main.innerHTML = '<div class="card"><table class="list" id="sessions"><thead><tr>' +
        '<th>Session</th><th class="wide">Project</th><th class="wide">Source</th><th>Started</th>' +
        '<th class="num">Duration</th><th class="num">Spans</th><th class="num">Errors</th>' +
        '<th class="num">Model calls</th><th class="num">Tokens</th><th class="num">Cost</th>' +
        "</tr></thead><tbody></tbody></table></div>";
      window.scrollTo(0, scroll);
    }
    const body = document.querySelector("#sessions tbody");
    body.insertAdjacentHTML("beforeend", sessions.map(sessionRow).join(""));
    const old = document.getElementById("more");
    if (old) old.remove();
    if (sessions.length === limit) {
      main.insertAdjacentHTML("beforeend", '<button class="more" id="more">Older sessions</button>');
      document.getElementById("more").addEventListener("click", () => {
        listOffset = offset + limit;
        showSessions(true).catch(fail);
      });
    }
  }

  // -- waterfall ---------------------------------------------------------------------------

  // Rows in depth-first order: trace headers, spans, standalone events under their parent.
  function buildRows(spans, events) {
    const byKey = new Map();
    const bySpanId = new Map();
    for (const s of spans) {
      byKey.set(s.trace_id + s.span_id, s);
      bySpanId.set(s.span_id, s);
    }
    const children = new Map();
    const traces = new Map();
    for (const s of spans) {
      const parent = s.parent_span_id ? byKey.get(s.trace_id + s.parent_span_id) : undefined;
      if (parent) {
        const list = children.get(parent);
        if (list) list.push(s); else children.set(parent, [s]);
      } else {
        const list = traces.get(s.trace_id);
        if (list) list.push(s); else traces.set(s.trace_id, [s]);
      }
    }
    const loose = [];
    for (const e of events) {
      const parent = e.parent_id ? bySpanId.get(e.parent_id) : undefined;
      const item = { event: e, parentSpan: parent };
      if (parent) {
        const list = children.get(parent);
        if (list) list.push(item); else children.set(parent, [item]);
      } else {
        loose.push(item);
      }
    }
    const rows = [];
    for (const [traceId, roots] of traces) {
      rows.push({ trace: traceId, depth: 0, parent: -1 });
      const stack = [];
      for (let i = roots.length - 1; i >= 0; i--) stack.push([roots[i], 0, rows.length - 1, null]);
      while (stack.length) {
        const [node, depth, parent, parentSpan] = stack.pop();
        const index = rows.length;
        if (node.event) {
          rows.push({ event: node.event, parentSpan: node.parentSpan, depth, parent });
          continue;
        }
        rows.push({ span: node, parentSpan, depth, parent });
        const kids = children.get(node);
        if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1, index, node]);
      }
    }
    if (loose.length) {
      rows.push({ trace: null, depth: 0, parent: -1 });
      const header = rows.length - 1;
      for (const item of loose) rows.push({ event: item.event, depth: 0, parent: header });
    }
    // Subtree sizes (for collapsing): children come after their parent in this order.
    for (const row of rows) row.size = 1;
    for (let i = rows.length - 1; i >= 0; i--) {
      const p = rows[i].parent;
      if (p >= 0) rows[p].size += rows[i].size;
    }
    return rows;
  }

  // Timing across processes is drawn as measured: a child whose clock says it started before
  // or ended after its parent is drawn there, and marked.
  function skewOf(span, parent) {
    if (!parent) return "";
    const before = parent.start_ns - span.start_ns;
    const after = span.end_ns - parent.end_ns;
    if (before > 0 && after > 0) return "starts " + duration(before / 1e6) + " before and ends " + duration(after / 1e6) + " after its parent";
    if (before > 0) return "starts " + duration(before / 1e6) + " before its parent";
    if (after > 0) return "ends " + duration(after / 1e6) + " after its parent";
    return "";
  }

  // The time axis spans every span, and the events that are not drawn at their span's edge.
  function timeWindow(spans, events) {
    let start = Infinity;
    let end = -Infinity;
    const bySpanId = new Map();
    for (const s of spans) {
      bySpanId.set(s.span_id, s);
      if (s.start_ns < start) start = s.start_ns;
      if (s.end_ns > end) end = s.end_ns;
    }
    for (const e of events) {
      const at = eventPlace(e, e.parent_id ? bySpanId.get(e.parent_id) : undefined).at;
      if (at < start) start = at;
      if (at > end) end = at;
    }
    if (!isFinite(start)) return [0, 1];
    return [start, Math.max(end - start, 1)];
  }

  // Where an event is drawn: at its time, or, when it was stamped on arrival outside its span
  // (the SDK sends standalone events without a time), at its span's end, marked.
  function eventPlace(e, parentSpan) {
    if (parentSpan && (e.start_ns < parentSpan.start_ns || e.start_ns > parentSpan.end_ns)) {
      return { at: Math.min(Math.max(e.start_ns, parentSpan.start_ns), parentSpan.end_ns), outside: true };
    }
    return { at: e.start_ns, outside: false };
  }

  function rowHtml(row, index, view) {
    const cls = (index === view.selected ? " sel" : "");
    if (row.trace !== undefined) {
      if (row.trace === null) {
        return '<div class="row tr" data-i="' + index + '"><div class="n">events without a span</div><div></div></div>';
      }
      const stats = view.traceStats.get(row.trace);
      return '<div class="row tr" data-i="' + index + '"><div class="n">trace ' +
        link({ trace: row.trace }, esc(short(row.trace))) + " · " + plural(stats.count, "span") +
        (stats.errors ? ' · <span class="badge err">' + plural(stats.errors, "error") + "</span>" : "") +
        '</div><div class="lane muted tr-d">' + duration(stats.ms) + "</div></div>";
    }
    const toggle = '<span class="tg">' + (row.size > 1 ? (view.collapsed.has(index) ? "▸" : "▾") : "") + "</span>";
    const depth = ' data-d="' + Math.min(row.depth, 24) + '"';
    if (row.event) {
      const e = row.event;
      const place = eventPlace(e, row.parentSpan);
      const left = ((place.at - view.t0) / view.total) * 100;
      return '<div class="row ev' + (e.error ? " err" : "") + (place.outside ? " outside" : "") + cls +
        '" data-i="' + index + '"' + depth + '><div class="n">' + toggle +
        '<span class="kind event">event</span><span class="nm">' + esc(e.name) + "</span>" +
        (e.error ? '<span class="x">ERROR</span>' : "") +
        (place.outside ? '<span class="skew" title="stamped when it arrived, ' +
          esc(duration(Math.abs(e.start_ns - place.at) / 1e6)) + ' outside its span (sent without a time)">arrival time</span>' : "") +
        '</div><div class="lane"><div class="b" data-l="' + left.toFixed(3) + '"></div></div></div>';
    }
    const s = row.span;
    const left = ((s.start_ns - view.t0) / view.total) * 100;
    const width = Math.max(((s.end_ns - s.start_ns) / view.total) * 100, 0.1);
    const kind = kindOf(s);
    const failed = s.status_code === 2;
    const skew = skewOf(s, row.parentSpan);
    // The duration goes after the bar, else before it, else inside its end.
    let place = "after";
    if (left + width > 82) place = left >= 18 ? "before" : "inside";
    return '<div class="row' + (failed ? " err" : "") + cls + '" data-i="' + index + '"' + depth + ">" +
      '<div class="n">' + toggle +
      (kind ? '<span class="kind ' + esc(kind) + '">' + esc(kind) + "</span>" : "") +
      '<span class="nm">' + esc(s.name) + "</span>" +
      (failed ? '<span class="x" title="' + esc(s.error || "error") + '">ERROR</span>' : "") +
      (skew ? '<span class="skew" title="' + esc(skew + " (clocks of different processes)") + '">clock skew</span>' : "") +
      (s.model ? '<span class="mdl">' + esc(s.model) + "</span>" : "") +
      (view.multiService ? '<span class="svc">' + esc(view.services[s.resource] || "") + "</span>" : "") +
      '</div><div class="lane"><div class="b' + (skew ? " skewed" : "") + '" data-l="' + left.toFixed(3) + '" data-w="' + width.toFixed(3) + '"></div>' +
      '<span class="d ' + place + '" data-l="' + left.toFixed(3) + '" data-w="' + width.toFixed(3) + '">' +
      duration((s.end_ns - s.start_ns) / 1e6) + "</span></div></div>";
  }

  // Inline styles are not allowed by the page's policy: positions go through the CSSOM.
  function placeRows(container) {
    for (const el of container.querySelectorAll(".row[data-d]")) el.style.setProperty("--d", el.dataset.d);
    for (const el of container.querySelectorAll(".b[data-l]")) {
      el.style.left = el.dataset.l + "%";
      if (el.dataset.w) el.style.width = el.dataset.w + "%";
    }
    for (const el of container.querySelectorAll(".d[data-l]")) {
      const left = Number(el.dataset.l);
      const width = Number(el.dataset.w);
      if (el.classList.contains("after")) el.style.left = (left + width) + "%";
      else if (el.classList.contains("before")) el.style.right = (100 - left) + "%";
      else el.style.right = (100 - left - width) + "%";
    }
  }

  // Time-axis ticks: round steps, as many as fit the lane's width (about one per 75 px).
  function niceStep(totalMs, slots) {
    const raw = totalMs / Math.max(1, slots);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  function tickLabel(ms, step) {
    if (ms === 0) return "0";
    if (step >= 1000) return Number((ms / 1000).toFixed(3)) + " s";
    if (step >= 1) return Number(ms.toFixed(3)) + " ms";
    return Number((ms * 1000).toFixed(3)) + " µs";
  }

  function drawAxis(ticksEl, totalNs) {
    const width = ticksEl.clientWidth || 600;
    const totalMs = totalNs / 1e6;
    const step = niceStep(totalMs, Math.floor(width / 75));
    ticksEl.textContent = "";
    for (let t = 0; t <= totalMs * 1.0001; t += step) {
      const mark = document.createElement("span");
      mark.textContent = tickLabel(t, step);
      mark.style.left = ((t / totalMs) * 100) + "%";
      if (t === 0) mark.classList.add("first");
      else if ((t / totalMs) * width > width - 45) mark.classList.add("last");
      ticksEl.appendChild(mark);
    }
  }

  // -- span details --------------------------------------------------------------------------

  const LONG_TEXT = 600;

  function textHtml(text) {
    text = String(text);
    if (text.length <= LONG_TEXT) return '<div class="txt">' + esc(text) + "</div>";
    return '<details class="fold"><summary><span class="txt">' + esc(text.slice(0, LONG_TEXT)) +
      '…</span><span class="more-link">show all ' + count(text.length) + ' characters</span></summary>' +
      '<div class="txt">' + esc(text) + "</div></details>";
  }

  // JSON pretty-printed as a tree: objects and lists fold, the first levels open.
  function jsonHtml(value, depth) {
    depth = depth || 0;
    if (value === null || value === undefined) return '<span class="j-null">null</span>';
    if (typeof value === "string") {
      return value.length > 120 || value.indexOf("\n") >= 0 ? textHtml(value) : '<span class="j-str">"' + esc(value) + '"</span>';
    }
    if (typeof value !== "object") return '<span class="j-num">' + esc(String(value)) + "</span>";
    const isList = Array.isArray(value);
    const keys = isList ? value.map((_, i) => i) : Object.keys(value);
    if (!keys.length) return '<span class="j-null">' + (isList ? "[]" : "{}") + "</span>";
    const items = keys.map((k) => '<li><span class="j-key">' + esc(isList ? k : k) + ':</span> ' + jsonHtml(value[k], depth + 1) + "</li>").join("");
    return "<details class=\"json\"" + (depth < 2 ? " open" : "") + "><summary>" +
      (isList ? "list of " + keys.length : "{" + esc(keys.slice(0, 4).join(", ")) + (keys.length > 4 ? ", …" : "") + "}") +
      "</summary><ul>" + items + "</ul></details>";
  }

  function messagesHtml(messages) {
    return '<div class="chat">' + messages.map((m) => {
      const role = String(m.role || "message");
      const calls = (m.tool_calls || []).map((c) => '<div class="call"><span class="muted">calls</span> <code>' +
        esc(c.name) + "</code>" + (c.arguments !== undefined && c.arguments !== null ? jsonHtml(c.arguments, 2) : "") + "</div>").join("");
      return '<div class="msg role-' + esc(role.toLowerCase().replace(/[^a-z]/g, "")) + '"><div class="role">' + esc(role) +
        (m.finish_reason ? ' <span class="muted">· ' + esc(m.finish_reason) + "</span>" : "") + "</div>" +
        (m.content ? textHtml(m.content) : "") + calls + "</div>";
    }).join("") + "</div>";
  }

  function sideHtml(title, side) {
    if (!side) return "";
    const body = side.messages ? messagesHtml(side.messages) : jsonHtml(side.value, 0);
    return '<section class="io"><h3>' + esc(title) + "</h3>" + body + "</section>";
  }

  function llmHtml(llm, s) {
    if (!llm) return "";
    let html = sideHtml("input", llm.input) + sideHtml("output", llm.output);
    const facts = [];
    if (llm.model) facts.push(["model", "<b>" + esc(llm.model) + "</b>" + (llm.provider ? ' <span class="muted">' + esc(llm.provider) + "</span>" : "")]);
    if (llm.usage) facts.push(["tokens", tokensText(llm.usage.total_tokens, llm.usage.prompt_tokens, llm.usage.completion_tokens)]);
    if (llm.model || llm.usage) {
      facts.push(["cost", llm.cost_usd !== null && llm.cost_usd !== undefined ? money(llm.cost_usd) :
        '<span class="muted">no price for this model (tokens only)</span>']);
    }
    facts.push(["latency", duration((s.end_ns - s.start_ns) / 1e6)]);
    if (llm.time_to_first_chunk_ms !== undefined) facts.push(["first chunk", duration(llm.time_to_first_chunk_ms)]);
    if (llm.model || llm.usage || llm.input || llm.output) {
      html += '<section class="llm-facts"><div class="ids">' + facts.map((f) => "<span>" + esc(f[0]) + "</span><span>" + f[1] + "</span>").join("") + "</div></section>";
    }
    if (llm.params && Object.keys(llm.params).length) {
      html += '<section><h3>parameters</h3><div class="params">' + Object.keys(llm.params).map((k) =>
        '<span class="param"><span class="muted">' + esc(k) + "</span> " + esc(typeof llm.params[k] === "object" ? JSON.stringify(llm.params[k]) : llm.params[k]) + "</span>").join("") + "</div></section>";
    }
    return html;
  }

  // Attributes in groups: HoneyHive's namespaces, the LLM conventions, HTTP, the rest, and the
  // bookkeeping every span carries (collapsed).
  const BOOKKEEPING = /^(honeyhive\.(session_id|session_name|project|source|tracer_version|sdk_version|run_id|dataset_id|datapoint_id)|traceloop\.association\.properties\.|honeyhive_event_type$|honeyhive_event_name$|honeyhive\.event_type$|session\.id$|otel\.|telemetry\.)/;
  const GROUPS = [
    ["honeyhive_inputs/outputs", /^honeyhive_(inputs|outputs)\./],
    ["HoneyHive", /^honeyhive[._]/],
    ["LLM", /^(gen_ai\.|llm\.|openinference\.|traceloop\.|input\.|output\.|embedding\.|retrieval\.|tool\.)/],
    ["HTTP", /^(http\.|url\.|server\.|client\.|network\.|user_agent\.|net\.)/],
    ["exception", /^exception\./],
  ];

  function valueHtml(value) {
    if (value === null || value === undefined) return '<span class="muted">null</span>';
    if (typeof value === "object") return jsonHtml(value, 2);
    const text = String(value);
    if (text.length > 160 || text.indexOf("\n") >= 0) {
      return "<details><summary>" + esc(text.slice(0, 120).split("\n")[0]) + "…</summary><pre>" +
        esc(text) + "</pre></details>";
    }
    return typeof value === "string" ? esc(text) : "<code>" + esc(text) + "</code>";
  }

  function attrTable(attrs, keys) {
    return '<table class="attrs">' + keys.map((k) => '<tr><td class="k">' + esc(k).replace(/\./g, ".<wbr>") +
      "</td><td>" + valueHtml(attrs[k]) + "</td></tr>").join("") + "</table>";
  }

  // ``folded``: groups already shown above in another form (the LLM view), drawn collapsed.
  function groupedAttrsHtml(attrs, folded) {
    const keys = Object.keys(attrs || {}).sort();
    if (!keys.length) return "";
    const groups = new Map(GROUPS.map((g) => [g[0], []]));
    groups.set("other", []);
    const bookkeeping = [];
    for (const k of keys) {
      if (BOOKKEEPING.test(k)) { bookkeeping.push(k); continue; }
      const group = GROUPS.find((g) => g[1].test(k));
      groups.get(group ? group[0] : "other").push(k);
    }
    let html = "";
    for (const [name, list] of groups) {
      if (!list.length) continue;
      if (folded && folded.has(name)) {
        html += '<section><details class="group"><summary><h3>' + esc(name) + " attributes (" + list.length +
          ")</h3></summary>" + attrTable(attrs, list) + "</details></section>";
      } else {
        html += '<section><h3>' + esc(name) + " (" + list.length + ")</h3>" + attrTable(attrs, list) + "</section>";
      }
    }
    if (bookkeeping.length) {
      html += '<section><details class="group"><summary><h3>bookkeeping (' + bookkeeping.length +
        ")</h3></summary>" + attrTable(attrs, bookkeeping) + "</details></section>";
    }
    return html;
  }

  function idsHtml(pairs) {
    return '<div class="ids">' + pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== "")
      .map((p) => "<span>" + esc(p[0]) + "</span><span>" + p[1] + "</span>").join("") + "</div>";
  }

  // The selected span's details: the summary at once, inputs, outputs and attributes when they
  // arrive.
  function spanDetail(s, full, t0, services, parentSpan) {
    const kind = kindOf(s);
    const scope = full ? full.scopes[full.spans[0].scope] || {} : {};
    const skew = skewOf(s, parentSpan);
    let html = "<h2>" + esc(s.name) + "</h2>";
    if (s.status_code === 2) {
      let stack = "";
      for (const e of (full && full.spans[0].events) || []) {
        const st = e.name === "exception" && e.attributes && e.attributes["exception.stacktrace"];
        if (st) { stack = "<pre>" + esc(st) + "</pre>"; break; }
      }
      html += '<div class="errbox"><b>ERROR</b> ' + esc(s.error || s.status_message || "error") + stack + "</div>";
    }
    if (skew) html += '<div class="skewbox">This span ' + esc(skew) + ": its process's clock differs from its parent's. It is drawn as measured.</div>";
    if (!full) return html + '<p class="hint">Loading…</p>';
    const span = full.spans[0];
    html += llmHtml(full.llm, s);
    html += '<section><h3>span</h3>' + idsHtml([
      ["starts at", "+" + duration((s.start_ns - t0) / 1e6) + ' <span class="muted">(' + when(s.start_ns) + ")</span>"],
      ["duration", duration((s.end_ns - s.start_ns) / 1e6)],
      ["kind", esc([kind, KINDS[s.kind]].filter((k, i, all) => k && all.indexOf(k) === i).join(" · "))],
      ["service", esc(services[s.resource] || "")],
      ["span", "<code>" + esc(s.span_id) + "</code>"],
      ["parent", s.parent_span_id ? "<code>" + esc(s.parent_span_id) + "</code>" : ""],
      ["trace", link({ trace: s.trace_id }, "<code>" + esc(s.trace_id) + "</code>")],
      ["session", s.session_id ? link({ session: s.session_id }, "<code>" + esc(s.session_id) + "</code>") : ""],
      ["scope", esc([scope.name, scope.version].filter(Boolean).join(" "))],
    ]) + "</section>";
    const llm = full.llm || {};
    html += groupedAttrsHtml(span.attributes, new Set(llm.input || llm.output ? ["honeyhive_inputs/outputs", "LLM"] : []));
    if ((span.events || []).length) {
      html += '<section><h3>span events (' + span.events.length + ')</h3><div class="evlist">' +
        span.events.map((e) => '<div class="' + (e.name === "exception" ? "exc" : "") + '"><b>' + esc(e.name) +
          '</b> <span class="muted">+' + duration((e.time_ns - span.start_ns) / 1e6) + "</span>" +
          attrTable(e.attributes || {}, Object.keys(e.attributes || {}).sort()) + "</div>").join("") +
        "</div></section>";
    }
    if ((span.links || []).length) {
      html += "<section><h3>links (" + span.links.length + ")</h3>" + span.links.map((l) =>
        "<div>" + link({ trace: l.trace_id, span: l.span_id }, "<code>" + esc(l.trace_id) + " / " + esc(l.span_id) + "</code>") + "</div>").join("") +
        "</section>";
    }
    const resource = full.resources[span.resource] || {};
    if (Object.keys(resource).length) {
      html += '<section><details class="group"><summary><h3>resource (' + Object.keys(resource).length +
        ")</h3></summary>" + attrTable(resource, Object.keys(resource).sort()) + "</details></section>";
    }
    return html;
  }

  function eventDetail(e) {
    const body = e.body || {};
    let html = "<h2>" + esc(e.name) + '</h2><p class="muted">standalone event (<code>POST /events</code>)</p>' +
      idsHtml([
        ["type", esc(e.event_type || "")],
        ["event", "<code>" + esc(e.event_id) + "</code>"],
        ["parent", e.parent_id ? "<code>" + esc(e.parent_id) + "</code>" : ""],
        ["at", when(e.start_ns)],
      ]);
    if (e.error) html += '<div class="errbox"><b>ERROR</b> ' + esc(e.error) + "</div>";
    if (body.inputs !== undefined) html += '<section class="io"><h3>inputs</h3>' + jsonHtml(body.inputs, 0) + "</section>";
    if (body.outputs !== undefined) html += '<section class="io"><h3>outputs</h3>' + jsonHtml(body.outputs, 0) + "</section>";
    const shown = {};
    for (const k of Object.keys(body)) {
      if (["event_id", "event_name", "event_type", "session_id", "parent_id", "inputs", "outputs"].indexOf(k) < 0) shown[k] = body[k];
    }
    const keys = Object.keys(shown).sort();
    return html + (keys.length ? "<section><h3>fields</h3>" + attrTable(shown, keys) + "</section>" : "");
  }

  function sessionFacts(session) {
    const groups = ["inputs", "metadata", "feedback", "metrics", "outputs", "config", "user_properties"]
      .filter((k) => session[k] && typeof session[k] === "object" && Object.keys(session[k]).length)
      .map((k) => '<div class="kv-group"><div class="t">' + esc(k.replace("_", " ")) + "</div>" +
        Object.keys(session[k]).map((n) => '<div class="i"><span class="muted">' + esc(n) + ":</span> " +
          esc(typeof session[k][n] === "object" ? JSON.stringify(session[k][n]) : session[k][n]) + "</div>").join("") +
        "</div>");
    return groups.length ? '<div class="kv-groups">' + groups.join("") + "</div>" : "";
  }

  // -- the waterfall view ------------------------------------------------------------------

  // The waterfall is virtual: all rows are laid out in a tall spacer, but only the ones in
  // view (plus a margin) exist in the DOM, re-rendered on scroll. Collapsing a span hides its
  // subtree from the list of visible rows.
  const ROW = 24;
  const OVERSCAN = 20;
  let keyHandler = null;

  function renderWaterfall(head, data, selectSpan, timing, keep) {
    const renderStart = performance.now();
    const spans = data.spans;
    const events = data.events || [];
    const rows = buildRows(spans, events);
    const [t0, total] = timeWindow(spans, events);
    const services = (data.resources || []).map((r) => (r && r["service.name"]) || "");
    const traceStats = new Map();
    const used = new Set();
    for (const s of spans) {
      used.add(services[s.resource]);
      let st = traceStats.get(s.trace_id);
      if (!st) { st = { count: 0, errors: 0, start: s.start_ns, end: s.end_ns }; traceStats.set(s.trace_id, st); }
      st.count++;
      if (s.status_code === 2) st.errors++;
      if (s.start_ns < st.start) st.start = s.start_ns;
      if (s.end_ns > st.end) st.end = s.end_ns;
    }
    for (const st of traceStats.values()) st.ms = (st.end - st.start) / 1e6;
    const view = {
      t0, total, services, traceStats, multiService: used.size > 1, collapsed: new Set(), selected: -1,
    };
    const errorRows = [];
    const selectable = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (r.span || r.event) selectable.push(i);
      if ((r.span && r.span.status_code === 2) || (r.event && r.event.error)) errorRows.push(i);
    }
    const rowKey = (r) => r.span ? r.span.trace_id + r.span.span_id : r.event ? r.event.event_id : "";
    // What a row's details are drawn from: while it stays the same, a live redraw keeps the
    // details pane as the user left it (folds opened, scroll, text selected).
    const drawnFrom = (r) => JSON.stringify(r.span || r.event || null);
    if (keep) {  // a live redraw: the same spans stay collapsed
      for (let i = 0; i < rows.length; i++) if (keep.collapsed.has(rowKey(rows[i]))) view.collapsed.add(i);
    }
    let visible = rows.map((_, i) => i);

    main.innerHTML = head +
      '<div class="wf"><div class="card wf-main"><div class="wf-tools"><span>' +
      plural(spans.length, "span") + " in " + plural(traceStats.size, "trace") +
      (events.length ? " · " + plural(events.length, "event") : "") + "</span>" +
      (errorRows.length ? '<button id="next-error" title="key: e">Next error (' + errorRows.length + ")</button>" : "") +
      '<span class="sp"></span><span class="keys muted">j/k move · e next error</span>' +
      '<button id="collapse-all">Collapse</button><button id="expand-all">Expand</button></div>' +
      '<div class="axis"><div class="axis-n">span</div><div class="ticks" id="ticks"></div></div>' +
      '<div class="rows" id="rows"><div class="spacer" id="spacer"><div class="win" id="win"></div></div></div></div>' +
      '<aside class="card detail" id="detail"><p class="hint">Select a span to see its inputs, outputs, attributes and errors.</p></aside></div>';
    const rowsEl = document.getElementById("rows");
    const spacer = document.getElementById("spacer");
    const win = document.getElementById("win");
    const detail = document.getElementById("detail");
    const ticks = document.getElementById("ticks");
    let shownFrom = -1;
    let shownTo = -1;
    let pending = false;

    function paint(force) {
      const height = rowsEl.clientHeight || 600;
      const first = Math.max(0, Math.floor(rowsEl.scrollTop / ROW) - OVERSCAN);
      const last = Math.min(visible.length, Math.ceil((rowsEl.scrollTop + height) / ROW) + OVERSCAN);
      if (!force && first === shownFrom && last === shownTo) return;
      shownFrom = first;
      shownTo = last;
      const parts = [];
      for (let v = first; v < last; v++) parts.push(rowHtml(rows[visible[v]], visible[v], view));
      win.style.transform = "translateY(" + first * ROW + "px)";
      win.innerHTML = parts.join("");
      placeRows(win);
    }

    function layout() {
      spacer.style.height = visible.length * ROW + "px";
      rowsEl.style.height = Math.min(visible.length * ROW + 2, Math.max(240, window.innerHeight - rowsEl.getBoundingClientRect().top - 40)) + "px";
      drawAxis(ticks, total);
      paint(true);
    }

    function recompute() {
      visible = [];
      for (let i = 0; i < rows.length; ) {
        visible.push(i);
        i += view.collapsed.has(i) ? rows[i].size : 1;
      }
      layout();
    }

    function toggle(index) {
      if (rows[index].size <= 1) return;
      if (view.collapsed.has(index)) view.collapsed.delete(index); else view.collapsed.add(index);
      recompute();
    }

    function scrollToRow(index) {
      const position = visible.indexOf(index);
      if (position < 0) return;
      const top = position * ROW;
      if (top < rowsEl.scrollTop || top + ROW > rowsEl.scrollTop + rowsEl.clientHeight) {
        rowsEl.scrollTop = Math.max(0, top - rowsEl.clientHeight / 2);
      }
      paint(true);
    }

    let detailToken = 0;
    // ``kept``: on a live redraw, the details pane as it was; it stays unless the row changed.
    function select(index, scroll, kept) {
      const row = rows[index];
      if (!row || row.trace !== undefined) return;
      view.selected = index;
      let opened = false;
      for (let p = row.parent; p >= 0; p = rows[p].parent) {
        if (view.collapsed.has(p)) { view.collapsed.delete(p); opened = true; }
      }
      if (opened) recompute();
      if (scroll) scrollToRow(index); else paint(true);
      const url = new URL(location.href);
      url.searchParams.set("span", row.span ? row.span.span_id : row.event.event_id);
      history.replaceState(null, "", url);
      if (kept && kept.drawnFrom === drawnFrom(row)) return;
      if (row.event) {
        detail.innerHTML = eventDetail(row.event);
        return;
      }
      const s = row.span;
      const token = ++detailToken;
      if (!kept) {
        detail.innerHTML = spanDetail(s, null, t0, services, row.parentSpan);
        detail.scrollTop = 0;
      }
      const top = detail.scrollTop;
      api("/api/spans/" + s.trace_id + "/" + s.span_id).then((full) => {
        if (token !== detailToken || !full) return;
        detail.innerHTML = spanDetail(s, full, t0, services, row.parentSpan);
        detail.scrollTop = kept ? top : 0;
      }).catch((error) => {
        if (token === detailToken) detail.insertAdjacentHTML("beforeend", '<p class="hint">' + esc(error.message) + "</p>");
      });
    }

    function move(step) {
      const visibleSelectable = visible.filter((i) => rows[i].span || rows[i].event);
      if (!visibleSelectable.length) return;
      const at = visibleSelectable.indexOf(view.selected);
      const next = at < 0 ? 0 : Math.min(Math.max(at + step, 0), visibleSelectable.length - 1);
      select(visibleSelectable[next], true);
    }

    function nextError() {
      if (!errorRows.length) return;
      const after = errorRows.find((i) => i > view.selected);
      select(after === undefined ? errorRows[0] : after, true);
    }

    rowsEl.addEventListener("scroll", () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; paint(false); });
    });
    window.onresize = layout;
    win.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      const el = event.target.closest(".row");
      if (!el) return;
      const index = Number(el.dataset.i);
      if (event.target.classList.contains("tg")) toggle(index); else select(index, false);
    });
    if (keyHandler) document.removeEventListener("keydown", keyHandler);
    keyHandler = (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target;
      if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) return;
      if (event.key === "j" || event.key === "ArrowDown") { event.preventDefault(); move(1); }
      else if (event.key === "k" || event.key === "ArrowUp") { event.preventDefault(); move(-1); }
      else if (event.key === "e") { event.preventDefault(); nextError(); }
    };
    document.addEventListener("keydown", keyHandler);
    const next = document.getElementById("next-error");
    if (next) next.addEventListener("click", nextError);
    document.getElementById("collapse-all").addEventListener("click", () => {
      for (let i = 0; i < rows.length; i++) {
        if (rows[i].span && rows[i].depth === 0 && rows[i].size > 1) view.collapsed.add(i);
      }
      recompute();
    });
    document.getElementById("expand-all").addEventListener("click", () => {
      view.collapsed.clear();
      recompute();
    });

    recompute();
    let target = -1;
    if (selectSpan) {
      target = rows.findIndex((r) => (r.span && r.span.span_id === selectSpan) || (r.event && r.event.event_id === selectSpan));
    }
    if (target < 0 && !keep && errorRows.length) target = errorRows[0];
    if (target < 0 && !keep) target = rows.findIndex((r) => r.span);
    if (keep) {
      rowsEl.scrollTop = keep.scroll;
      detail.replaceChildren(...keep.detail);  // the same nodes: their state comes along
      detail.scrollTop = keep.detailScroll;
    }
    if (target >= 0) select(target, !keep, keep);
    void main.offsetHeight; // lay out now, inside the measurement
    reportTiming(spans.length, timing, performance.now() - renderStart);
    return () => ({
      scroll: rowsEl.scrollTop,
      detail: [...detail.childNodes],
      detailScroll: detail.scrollTop,
      drawnFrom: view.selected >= 0 ? drawnFrom(rows[view.selected]) : null,
      collapsed: new Set([...view.collapsed].map((i) => rowKey(rows[i]))),
    });
  }

  function reportTiming(n, fetchMs, renderMs) {
    const el = document.getElementById("render-stats");
    el.dataset.spans = String(n);
    el.dataset.fetchMs = fetchMs.toFixed(1);
    el.dataset.renderMs = renderMs.toFixed(1);
    el.dataset.totalMs = (fetchMs + renderMs).toFixed(1);
    el.textContent = plural(n, "span") + " rendered in " + renderMs.toFixed(0) + " ms (fetched in " +
      fetchMs.toFixed(0) + " ms)";
  }

  // -- session, trace and search views -------------------------------------------------------

  function totalsHtml(s, spans) {
    const duration_ = duration(s.duration_ms);
    const items = [
      ["spans", count(s.span_count)],
      ["errors", s.error_count ? '<span class="badge err">' + count(s.error_count) + "</span>" : "0"],
      ["model calls", count(s.model_calls)],
      ["tokens", s.total_tokens ? count(s.total_tokens) + '<small class="muted"> ' + count(s.prompt_tokens) + " in · " + count(s.completion_tokens) + " out</small>" : "0"],
      ["cost", s.cost_usd !== null && s.cost_usd !== undefined ? money(s.cost_usd) +
        (s.unpriced_calls ? '<small class="muted"> + ' + plural(s.unpriced_calls, "call") + " unpriced</small>" : "") :
        (s.unpriced_calls ? '<span class="muted">no prices</span>' : '<span class="muted">—</span>')],
      ["duration", duration_],
    ];
    const models = Object.keys(s.models || {});
    return '<div class="totals">' + items.map((i) => '<div class="total"><div class="t">' + esc(i[0]) + '</div><div class="v">' + i[1] + "</div></div>").join("") +
      "</div>" + (models.length ? '<div class="models">' + models.map((m) => {
        const x = s.models[m];
        return '<span class="model-chip"><b>' + esc(m) + "</b> " + plural(x.calls, "call") + " · " + count(x.prompt_tokens + x.completion_tokens) + " tokens" +
          (x.cost_usd !== null && x.cost_usd !== undefined ? " · " + money(x.cost_usd) : ' · <span class="muted">no price</span>') + "</span>";
      }).join("") + "</div>" : "");
  }

  async function showSession(id, spanId, keep) {
    const started = performance.now();
    const data = await api("/api/sessions/" + encodeURIComponent(id));
    const fetched = performance.now() - started;
    if (!data) {
      main.innerHTML = '<div class="card empty"><h2>No session ' + esc(id) + "</h2>" + link({}, "All sessions") + "</div>";
      return;
    }
    const s = data.session;
    document.title = (s.name || "session") + " · HoneyHive";
    const head = '<div class="crumbs">' + link({}, "Sessions") + " / " + esc(s.name || short(s.session_id)) +
      ' <span class="live muted" id="live"></span></div>' +
      '<div class="card head"><h1>' + esc(s.name || "(unnamed session)") + "</h1>" +
      '<div class="facts"><span>session <code>' + esc(s.session_id) + "</code></span>" +
      (s.project ? "<span>project <b>" + esc(s.project) + "</b></span>" : "") +
      (s.source ? "<span>source <b>" + esc(s.source) + "</b></span>" : "") +
      (s.metadata && typeof s.metadata.run_id === "string"
        ? '<span id="of-run">datapoint of ' + link({ run: s.metadata.run_id }, "run " + esc(short(s.metadata.run_id))) + "</span>"
        : "") +
      "<span>started <b>" + when(s.start_ns) + "</b></span>" +
      (s.event_count ? "<span><b>" + plural(s.event_count, "event") + "</b></span>" : "") +
      (s.update_count ? "<span>" + plural(s.update_count, "update") + "</span>" : "") +
      "</div>" + totalsHtml(s, data.spans) + sessionFacts(s) + "</div>";
    const state = renderWaterfall(head, data, spanId, fetched, keep);
    redraw = async () => {
      const current = new URLSearchParams(location.search).get("span");
      await showSession(id, current, state());
    };
  }

  async function showTrace(id, spanId, notice, keep) {
    const started = performance.now();
    const data = await api("/api/traces/" + encodeURIComponent(id));
    const fetched = performance.now() - started;
    if (!data) {
      main.innerHTML = '<div class="card empty"><h2>No trace ' + esc(id) + "</h2>" + link({}, "All sessions") + "</div>";
      return;
    }
    document.title = "trace " + short(id) + " · HoneyHive";
    const sessions = (data.sessions || []).map((s) => link({ session: s.session_id }, esc(s.name || short(s.session_id)))).join(", ");
    const head = (notice || "") + '<div class="crumbs">' + link({}, "Sessions") + " / trace" +
      ' <span class="live muted" id="live"></span></div>' +
      '<div class="card head"><h1>trace <code>' + esc(data.trace_id) + "</code></h1>" +
      '<div class="facts">' + (sessions ? "<span>session " + sessions + "</span>" : "<span>no session</span>") + "</div></div>";
    const state = renderWaterfall(head, data, spanId, fetched, keep);
    redraw = async () => {
      const current = new URLSearchParams(location.search).get("span");
      await showTrace(id, current, notice, state());
    };
  }

  function filtersFrom(query) {
    return {
      errors: query.get("errors") === "1",
      type: query.get("type") || "",
      model: query.get("model") || "",
      min_ms: query.get("min_ms") || "",
    };
  }

  function filtersHtml(q, f) {
    const types = ["", "model", "tool", "chain"];
    return '<form class="card filters" id="filters" action="/" method="get">' +
      '<input type="search" name="q" value="' + esc(q) + '" placeholder="words in span names, inputs, outputs" aria-label="search text">' +
      '<label><input type="checkbox" name="errors" value="1"' + (f.errors ? " checked" : "") + "> errors only</label>" +
      '<label>type <select name="type">' + types.map((t) => '<option value="' + t + '"' + (f.type === t ? " selected" : "") + ">" + (t || "any") + "</option>").join("") + "</select></label>" +
      '<label>model <input name="model" value="' + esc(f.model) + '" placeholder="any" size="14"></label>' +
      '<label>at least <input name="min_ms" value="' + esc(f.min_ms) + '" placeholder="0" size="5" inputmode="decimal"> ms</label>' +
      "<button>Search</button></form>";
  }

  // The text with the words searched for in <mark>: split on the raw text, each piece escaped.
  function marked(text, words) {
    const usable = words.filter((w) => w).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    if (!usable.length) return esc(text);
    const pattern = new RegExp("(" + usable.join("|") + ")", "gi");
    return text.split(pattern).map((piece, i) => (i % 2 ? "<mark>" + esc(piece) + "</mark>" : esc(piece))).join("");
  }

  function matchRow(m, words) {
    const target = m.session_id ? { session: m.session_id, span: m.span_id } : { trace: m.trace_id, span: m.span_id };
    const kind = m.event_type ? '<span class="kind ' + esc(m.event_type) + '">' + esc(m.event_type) + "</span>" : "";
    return '<li class="match' + (m.status_code === 2 ? " err" : "") + '">' + kind + link(target, esc(m.name), "nm") +
      (m.status_code === 2 ? ' <span class="badge err">error</span>' : "") +
      ' <span class="muted">' + duration(m.duration_ms) + (m.model ? " · " + esc(m.model) : "") +
      (m.total_tokens ? " · " + count(m.total_tokens) + " tokens" : "") + " · " + when(m.start_ns) + "</span>" +
      (m.snippet ? '<div class="snip"><span class="where">' + esc(m.snippet.field) + "</span> " + marked(m.snippet.text, words) + "</div>" : "") +
      "</li>";
  }

  // ``refresh``: a live redraw; only the results change, never the boxes the user may be typing in.
  async function showSearch(query, search, refresh) {
    const f = filtersFrom(search);
    if (!refresh) document.getElementById("q").value = query;
    document.title = "search · HoneyHive";
    const asked = new URLSearchParams({ q: query, limit: "50" });
    if (f.errors) asked.set("errors", "1");
    for (const k of ["type", "model", "min_ms"]) if (f[k]) asked.set(k, f[k]);
    const found = await api("/api/search?" + asked.toString());
    const words = query.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 1);
    const idHits = found.sessions.length + found.traces.length + found.spans.length + found.events.length;
    const filtered = f.errors || f.type || f.model || f.min_ms;
    const notice = (what) => '<div class="notice">Search <b>' + esc(query) + "</b>: " + what + "</div>";
    if (idHits === 1 && !found.matches.length && !filtered && !refresh) {
      if (found.spans.length) {
        const hit = found.spans[0];
        return hit.session_id ? showSessionWithNotice(hit.session_id, hit.span_id, notice("span " + esc(hit.span_id)))
          : showTrace(hit.trace_id, hit.span_id, notice("span " + esc(hit.span_id)));
      }
      if (found.traces.length) return showTrace(found.traces[0].trace_id, null, notice("trace " + esc(found.traces[0].trace_id)));
      if (found.sessions.length) return showSessionWithNotice(found.sessions[0].session_id, null, "");
      const e = found.events[0];
      if (e.session_id) return showSessionWithNotice(e.session_id, e.event_id, notice("event " + esc(e.event_id)));
    }
    let html = "";
    const section = (title, items, render) => items.length
      ? '<section><h2>' + title + '</h2><ul class="card">' + items.map((i) => "<li>" + render(i) + "</li>").join("") + "</ul></section>" : "";
    html += section("Sessions", found.sessions, (s) => link({ session: s.session_id }, esc(s.name || "(unnamed)")) +
      ' <span class="mono muted">' + esc(s.session_id) + "</span> · " + plural(s.span_count, "span") +
      (s.error_count ? ' <span class="badge err">' + plural(s.error_count, "error") + "</span>" : ""));
    html += section("Traces", found.traces, (t) => link({ trace: t.trace_id }, "<code>" + esc(t.trace_id) + "</code>") +
      " · " + plural(t.span_count, "span") + " · " + duration((t.end_ns - t.start_ns) / 1e6));
    html += section("Spans by id", found.spans, (s) => link(s.session_id ? { session: s.session_id, span: s.span_id } : { trace: s.trace_id, span: s.span_id },
      esc(s.name)) + ' <span class="mono muted">' + esc(s.span_id) + "</span>");
    html += section("Events", found.events, (e) => (e.session_id ? link({ session: e.session_id, span: e.event_id }, esc(e.name)) : esc(e.name)) +
      ' <span class="mono muted">' + esc(e.event_id) + "</span>");
    if (found.matches.length) {
      html += '<section><h2 id="matches-title">' + plural(found.matches.length, "span") + (found.matches.length === 50 ? " (the newest 50)" : "") +
        '</h2><ul class="card matches" id="matches">' + found.matches.map((m) => matchRow(m, words)).join("") + "</ul></section>";
    }
    if (!idHits && !found.matches.length) {
      html += '<div class="card empty" id="no-results"><h2>Nothing matches' + (query ? " “" + esc(query) + "”" : "") + "</h2>" +
        "<p>Search takes words from span names, inputs and outputs (each word matches by its start), " +
        "or a session, trace, span or event id (or its first characters), or part of a session name.</p></div>";
    }
    const results = document.getElementById("results");
    if (refresh && results) {
      results.innerHTML = html;
    } else {
      main.innerHTML = '<div class="results"><div class="crumbs">' + link({}, "Sessions") +
        ' / search <span class="live muted" id="live"></span></div>' + filtersHtml(query, f) +
        '<div id="results">' + html + "</div></div>";
    }
    redraw = () => showSearch(query, search, true);
  }

  // -- experiment runs ---------------------------------------------------------------------

  // A value of a run's table: JSON on one line, cut by CSS; the whole of it in the title.
  function valueCell(value, cls) {
    if (value === null || value === undefined) return '<td class="val muted">–</td>';
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return '<td class="val ' + (cls || "") + '" title="' + esc(text) + '">' + esc(text) + "</td>";
  }

  function metricText(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
    return String(value);
  }

  function deltaText(delta) {
    if (delta === null || delta === undefined) return '<span class="muted">–</span>';
    const cls = delta > 0 ? "up" : delta < 0 ? "down" : "same";
    const sign = delta > 0 ? "+" : "";
    return '<span class="delta ' + cls + '">' + sign + metricText(delta) + "</span>";
  }

  function statusBadge(status) {
    const cls = status === "completed" ? "ok" : status === "failed" || status === "cancelled" ? "err" : "";
    return '<span class="badge ' + cls + '">' + esc(status || "?") + "</span>";
  }

  function isoWhen(iso) {
    return iso ? esc(iso.slice(0, 19).replace("T", " ")) + " UTC" : "";
  }

  async function showRuns() {
    const data = await api("/api/runs?limit=100");
    const runs = data.runs;
    document.title = "Runs · HoneyHive";
    if (!runs.length) {
      main.innerHTML = '<div class="card empty" id="no-runs"><h2>No runs yet</h2>' +
        "<p>Run an experiment against this collector:</p><p><code>evaluate(function, dataset=..., " +
        "evaluators=[...], server_url=&quot;" + esc(location.origin) + "&quot;)</code></p>" +
        "<p>Its runs show here as they finish.</p></div>";
      redraw = showRuns;
      return;
    }
    const rows = runs.map((r) => {
      const means = r.metrics.filter((m) => m.mean !== null && m.mean !== undefined)
        .map((m) => '<span class="metric-chip">' + esc(m.metric_name) + " <b>" + metricText(m.mean) + "</b></span>")
        .join(" ");
      return '<tr class="' + (r.failed ? "has-err" : "") + '" data-run="' + esc(r.run_id) + '">' +
        '<td class="pick"><input type="checkbox" class="pick-run" value="' + esc(r.run_id) + '" aria-label="choose for comparison"></td>' +
        "<td>" + link({ run: r.run_id }, esc(r.name || "(unnamed)")) + '<span class="sid mono">' + esc(r.run_id) + "</span></td>" +
        "<td>" + statusBadge(r.status) + "</td>" +
        '<td class="mono wide">' + isoWhen(r.created_at) + "</td>" +
        '<td class="num">' + count(r.passed) + "</td>" +
        '<td class="num">' + (r.failed ? '<span class="badge err">' + count(r.failed) + "</span>" : "0") + "</td>" +
        '<td class="means">' + (means || '<span class="muted">–</span>') + "</td></tr>";
    }).join("");
    main.innerHTML = '<div class="crumbs">' + link({}, "Sessions") + ' / runs <span class="live muted" id="live"></span></div>' +
      '<div class="card runs-tools"><button id="compare" disabled>Compare the two chosen runs</button>' +
      '<span class="muted">choose two runs of the same dataset</span></div>' +
      '<div class="card scroll-x"><table class="list" id="runs"><thead><tr><th></th><th>Run</th><th>Status</th>' +
      '<th class="wide">Created</th><th class="num">Passed</th><th class="num">Failed</th><th>Metric means</th>' +
      "</tr></thead><tbody>" + rows + "</tbody></table></div>";
    const button = document.getElementById("compare");
    const chosen = () => Array.from(document.querySelectorAll(".pick-run:checked")).map((e) => e.value);
    // On the table, which each redraw replaces: ``main`` stays, and would gather one more
    // listener (holding this draw's runs and button) every two seconds while runs arrive.
    document.getElementById("runs").addEventListener("change", () => { button.disabled = chosen().length !== 2; });
    button.addEventListener("click", () => {
      const ids = chosen();
      if (ids.length !== 2) return;
      const order = runs.map((r) => r.run_id);  // newest first: the first chosen is the newer
      ids.sort((a, b) => order.indexOf(a) - order.indexOf(b));
      location.href = "/?" + new URLSearchParams({ run: ids[0], compare: ids[1] }).toString();
    });
    redraw = async () => {
      const picked = chosen();
      await showRuns();
      for (const box of document.querySelectorAll(".pick-run")) box.checked = picked.includes(box.value);
      button.disabled = picked.length !== 2;
    };
  }

  function summaryTable(details) {
    const numeric = details.filter((d) => d.metric_type !== "string");
    if (!numeric.length) return "";
    return '<table class="list metrics" id="summary"><thead><tr><th>Metric</th><th class="num">Mean</th>' +
      '<th class="num">Min</th><th class="num">Max</th><th class="num">Count</th></tr></thead><tbody>' +
      numeric.map((d) => "<tr><td>" + esc(d.metric_name) + '</td><td class="num">' + metricText(d.mean) +
        '</td><td class="num">' + metricText(d.min) + '</td><td class="num">' + metricText(d.max) +
        '</td><td class="num">' + count(d.count) + "</td></tr>").join("") + "</tbody></table>";
  }

  async function showRun(runId) {
    const [result, listed] = await Promise.all([
      api("/api/runs/" + encodeURIComponent(runId)),
      api("/api/runs?limit=100"),
    ]);
    if (!result) {
      main.innerHTML = '<div class="card empty"><h2>No run ' + esc(runId) + "</h2><p>" + link({ view: "runs" }, "All runs") + "</p></div>";
      return;
    }
    const run = result.run_object;
    document.title = (run.name || "Run") + " · HoneyHive";
    const names = result.metrics.details.map((d) => d.metric_name);
    const others = listed.runs.filter((r) => r.run_id !== run.run_id);
    const compare = others.length
      ? '<form class="compare-with" id="compare-with"><label>Compare with <select name="compare">' +
        others.map((r) => '<option value="' + esc(r.run_id) + '">' + esc(r.name || r.run_id) + " · " + esc(r.run_id.slice(0, 8)) + "</option>").join("") +
        '</select></label><button>Compare</button></form>'
      : "";
    const rows = result.rows.map((r) => {
      const problem = r.error || Object.entries(r.evaluator_errors || {}).map(([k, v]) => k + ": " + v).join("; ");
      return '<tr class="' + (r.passed ? "" : "has-err") + '">' +
        '<td class="mono dp" title="' + esc(r.datapoint_id || "") + '">' + esc(r.datapoint_id || "–") + "</td>" +
        valueCell(r.inputs) + valueCell(r.outputs) + valueCell(r.ground_truth) +
        names.map((n) => '<td class="num">' + esc(metricText(r.metrics[n])) + "</td>").join("") +
        valueCell(problem || null, "err-text") +
        '<td class="mono">' + link({ session: r.session_id }, esc(short(r.session_id))) + "</td></tr>";
    }).join("");
    main.innerHTML = '<div class="crumbs">' + link({}, "Sessions") + " / " + link({ view: "runs" }, "runs") +
      ' / run <span class="live muted" id="live"></span></div>' +
      '<div class="card head" id="run-head"><h1>' + esc(run.name || "(unnamed)") + " " + statusBadge(run.status) + "</h1>" +
      '<div class="facts"><span>run <b class="mono">' + esc(run.run_id) + "</b></span><span>" + isoWhen(run.created_at) +
      "</span><span><b>" + count(result.passed.length) + "</b> passed</span><span><b>" + count(result.failed.length) +
      "</b> failed</span>" + (run.configuration && run.configuration.function ? "<span>function <b>" + esc(run.configuration.function) + "</b></span>" : "") +
      "</div>" + compare + "</div>" +
      '<div class="card scroll-x">' + summaryTable(result.metrics.details) + "</div>" +
      '<div class="card scroll-x"><table class="list dps" id="datapoints"><thead><tr><th>Datapoint</th><th>Inputs</th>' +
      "<th>Output</th><th>Ground truth</th>" + names.map((n) => '<th class="num">' + esc(n) + "</th>").join("") +
      "<th>Error</th><th>Session</th></tr></thead><tbody>" + rows + "</tbody></table></div>";
    const form = document.getElementById("compare-with");
    if (form) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        location.href = "/?" + new URLSearchParams({ run: run.run_id, compare: form.elements.compare.value }).toString();
      });
    }
    redraw = () => showRun(runId);
  }

  async function showComparison(newId, oldId) {
    const compared = await api("/api/runs/" + encodeURIComponent(newId) + "/compare/" + encodeURIComponent(oldId));
    if (!compared) {
      main.innerHTML = '<div class="card empty"><h2>No run ' + esc(newId) + " or no run " + esc(oldId) + "</h2><p>" +
        link({ view: "runs" }, "All runs") + "</p></div>";
      return;
    }
    const fresh = compared.new_run;
    const old = compared.old_run;
    const c = compared.counts;
    document.title = "Comparison · HoneyHive";
    const names = compared.metrics.map((m) => m.metric_name);
    const metricRows = compared.metrics.map((m) => "<tr><td>" + esc(m.metric_name) + '</td><td class="num">' +
      metricText(m.old_aggregate) + '</td><td class="num">' + metricText(m.new_aggregate) + '</td><td class="num">' +
      deltaText(m.difference) + '</td><td class="num">' + count(m.improved_count) + '</td><td class="num">' +
      count(m.degraded_count) + "</td></tr>").join("");
    const rows = compared.rows.map((r) => '<tr class="v-' + r.verdict + '">' +
      '<td class="mono dp" title="' + esc(r.datapoint_id) + '">' + esc(r.datapoint_id) + "</td>" + valueCell(r.inputs) +
      names.map((n) => '<td class="num">' + '<span class="muted">' + esc(metricText(r.old.metrics[n])) + " → </span>" +
        esc(metricText(r.new.metrics[n])) + " " + deltaText(r.deltas[n]) + "</td>").join("") +
      '<td><span class="verdict ' + r.verdict + '">' + r.verdict + "</span></td>" +
      valueCell(r.why, r.new.error ? "why err-text" : "why") +
      '<td class="mono nowrap">' + link({ session: r.old.session_id }, "old") + " · " + link({ session: r.new.session_id }, "new") + "</td></tr>").join("");
    main.innerHTML = '<div class="crumbs">' + link({}, "Sessions") + " / " + link({ view: "runs" }, "runs") +
      ' / comparison <span class="live muted" id="live"></span></div>' +
      '<div class="card head" id="comparison-head"><h1>' + link({ run: fresh.run_id }, esc(fresh.name || fresh.run_id)) +
      ' <span class="muted">against</span> ' + link({ run: old.run_id }, esc(old.name || old.run_id)) + "</h1>" +
      '<div class="totals" id="counts">' +
      '<div class="total up"><div class="t">Improved</div><div class="v" id="improved">' + count(c.improved) + "</div></div>" +
      '<div class="total down"><div class="t">Regressed</div><div class="v" id="regressed">' + count(c.regressed) + "</div></div>" +
      '<div class="total"><div class="t">Mixed</div><div class="v">' + count(c.mixed) + "</div></div>" +
      '<div class="total"><div class="t">Unchanged</div><div class="v">' + count(c.unchanged) + "</div></div>" +
      '<div class="total"><div class="t">In both</div><div class="v">' + count(compared.rows.length) + "</div></div></div></div>" +
      '<div class="card scroll-x"><table class="list metrics" id="metric-deltas"><thead><tr><th>Metric</th>' +
      '<th class="num">Old</th><th class="num">New</th><th class="num">Delta</th><th class="num">Improved</th>' +
      '<th class="num">Regressed</th></tr></thead><tbody>' + metricRows + "</tbody></table></div>" +
      '<div class="card scroll-x"><table class="list dps" id="deltas"><thead><tr><th>Datapoint</th><th>Inputs</th>' +
      names.map((n) => '<th class="num">' + esc(n) + "</th>").join("") + "<th>Verdict</th><th>Why</th><th>Sessions</th></tr></thead><tbody>" +
      rows + "</tbody></table></div>";
    redraw = () => showComparison(newId, oldId);
  }

  async function showSessionWithNotice(id, spanId, notice) {
    await showSession(id, spanId);
    if (notice) main.insertAdjacentHTML("afterbegin", notice);
  }

  async function showVersion() {
    try {
      const health = await api("/api/health");
      if (health) {
        document.getElementById("version").textContent = "honeyhive-core " + health.version + " · " + health.database;
        document.getElementById("conn").textContent = "HH_API_URL=" + location.origin;
      }
    } catch (error) {
      /* the main view reports errors */
    }
  }

  function route() {
    const q = (params.get("q") || "").trim();
    if (params.get("run") && params.get("compare")) return showComparison(params.get("run"), params.get("compare"));
    if (params.get("run")) return showRun(params.get("run"));
    if (params.get("view") === "runs") return showRuns();
    if (params.get("session")) return showSession(params.get("session"), params.get("span"));
    if (params.get("trace")) return showTrace(params.get("trace"), params.get("span"));
    if (q || ["errors", "type", "model", "min_ms"].some((k) => params.get(k))) return showSearch(q, params);
    redraw = () => showSessions(false);
    return showSessions(false);
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && document.activeElement && document.activeElement.tagName !== "INPUT") {
      event.preventDefault();
      document.getElementById("q").focus();
    }
  });
  showVersion();
  route().catch(fail).then(() => poll());
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
})();

// The HoneyHive local collector's viewer: plain JavaScript, no build step.
//
// Views (from the query string, so every view is a link):
//   /                       sessions, newest first
//   /?session=ID[&span=ID]  a session's traces as a waterfall, one span selected
//   /?trace=ID[&span=ID]    one trace
//   /?q=TEXT                search by session, trace, span or event id (one hit opens it)
//
// The waterfall is built once per page: the span tree with Maps, rows in depth-first order as
// one HTML string assigned with innerHTML, details rendered only for the selected span.
"use strict";

(function () {
  const KEY_STORE = "honeyhive-collector-key";
  const KINDS = { 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer" };
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

  function plural(n, word) {
    return n.toLocaleString("en-US") + " " + word + (n === 1 ? "" : "s");
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

  // -- sessions list -----------------------------------------------------------------------

  const PAGE = 50;
  let listOffset = 0;

  function sessionRow(s) {
    const errors = s.error_count
      ? '<span class="badge err">' + s.error_count + "</span>"
      : '<span class="badge ok">0</span>';
    return '<tr class="' + (s.error_count ? "has-err" : "") + '">' +
      "<td>" + link({ session: s.session_id }, esc(s.name || "(unnamed)")) +
      '<span class="sid mono">' + esc(s.session_id) + "</span></td>" +
      "<td>" + esc(s.project || "") + "</td><td>" + esc(s.source || "") + "</td>" +
      '<td class="mono">' + when(s.start_ns) + "</td>" +
      '<td class="num">' + duration(s.duration_ms) + "</td>" +
      '<td class="num">' + s.span_count.toLocaleString("en-US") + "</td>" +
      '<td class="num">' + errors + "</td></tr>";
  }

  async function showSessions(append) {
    const data = await api("/api/sessions?limit=" + PAGE + "&offset=" + listOffset);
    const sessions = data.sessions;
    if (!append) {
      if (!sessions.length) {
        main.innerHTML = '<div class="card empty"><h2>No sessions yet</h2>' +
          "<p>Point the SDK here and run your app:</p><p><code>HH_API_URL=" +
          esc(location.origin) + "</code></p><p>No API key is needed on loopback.</p></div>";
        return;
      }
      main.innerHTML = '<div class="card"><table class="list" id="sessions"><thead><tr>' +
        "<th>Session</th><th>Project</th><th>Source</th><th>Started</th>" +
        '<th class="num">Duration</th><th class="num">Spans</th><th class="num">Errors</th>' +
        "</tr></thead><tbody></tbody></table></div>";
    }
    const body = document.querySelector("#sessions tbody");
    body.insertAdjacentHTML("beforeend", sessions.map(sessionRow).join(""));
    const old = document.getElementById("more");
    if (old) old.remove();
    if (sessions.length === PAGE) {
      main.insertAdjacentHTML("beforeend", '<button class="more" id="more">Older sessions</button>');
      document.getElementById("more").addEventListener("click", () => {
        listOffset += PAGE;
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
      const item = { event: e };
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
      for (let i = roots.length - 1; i >= 0; i--) stack.push([roots[i], 0, rows.length - 1]);
      while (stack.length) {
        const [node, depth, parent] = stack.pop();
        const index = rows.length;
        rows.push(node.event ? { event: node.event, depth, parent } : { span: node, depth, parent });
        const kids = node.event ? undefined : children.get(node);
        if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1, index]);
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

  function timeWindow(spans, events) {
    let start = Infinity;
    let end = -Infinity;
    for (const s of spans) {
      if (s.start_ns < start) start = s.start_ns;
      if (s.end_ns > end) end = s.end_ns;
    }
    for (const e of events) {
      if (e.start_ns < start) start = e.start_ns;
      if (e.end_ns > end) end = e.end_ns;
    }
    if (!isFinite(start)) return [0, 1];
    return [start, Math.max(end - start, 1)];
  }

  function rowHtml(row, index, view) {
    const cls = (index === view.selected ? " sel" : "");
    if (row.trace !== undefined) {
      if (row.trace === null) {
        return '<div class="row tr" data-i="' + index + '"><div class="n">events without a span</div><div></div></div>';
      }
      const stats = view.traceStats.get(row.trace);
      return '<div class="row tr" data-i="' + index + '"><div class="n">trace ' +
        link({ trace: row.trace }, esc(row.trace)) + " · " + plural(stats.count, "span") +
        (stats.errors ? ' · <span class="badge err">' + plural(stats.errors, "error") + "</span>" : "") +
        '</div><div class="muted" style="padding-left:6px">' + duration(stats.ms) + "</div></div>";
    }
    const toggle = '<span class="tg">' + (row.size > 1 ? (view.collapsed.has(index) ? "▸" : "▾") : "") + "</span>";
    // Indentation stops growing at 24 levels (a deeper span still sits under its parent).
    const style = '" style="--d:' + Math.min(row.depth, 24) + '">';
    if (row.event) {
      const e = row.event;
      const left = ((e.start_ns - view.t0) / view.total) * 100;
      return '<div class="row ev' + (e.error ? " err" : "") + cls + '" data-i="' + index + style +
        '<div class="n">' + toggle + '<span class="kind event">event</span><span class="nm">' +
        esc(e.name) + "</span>" + (e.error ? '<span class="x">ERROR</span>' : "") +
        '</div><div class="lane"><div class="b" style="left:calc(' + left.toFixed(3) +
        '% - 4px)"></div></div></div>';
    }
    const s = row.span;
    const left = ((s.start_ns - view.t0) / view.total) * 100;
    const width = Math.max(((s.end_ns - s.start_ns) / view.total) * 100, 0.1);
    const kind = kindOf(s);
    const failed = s.status_code === 2;
    // The duration goes after the bar, else before it, else inside its end.
    let label = "left:" + (left + width).toFixed(3) + "%";
    let inside = "";
    if (left + width > 82) {
      if (left >= 18) {
        label = "right:" + (100 - left).toFixed(3) + "%;padding-right:4px";
      } else {
        label = "right:" + (100 - left - width).toFixed(3) + "%;padding-right:4px";
        inside = " in";
      }
    }
    return '<div class="row' + (failed ? " err" : "") + cls + '" data-i="' + index + style +
      '<div class="n">' + toggle +
      (kind ? '<span class="kind ' + esc(kind) + '">' + esc(kind) + "</span>" : "") +
      '<span class="nm">' + esc(s.name) + "</span>" +
      (failed ? '<span class="x" title="' + esc(s.error || "error") + '">ERROR</span>' : "") +
      (view.multiService ? '<span class="svc">' + esc(view.services[s.resource] || "") + "</span>" : "") +
      '</div><div class="lane"><div class="b" style="left:' + left.toFixed(3) + "%;width:" +
      width.toFixed(3) + '%"></div><span class="d' + inside + '" style="' + label + '">' +
      duration((s.end_ns - s.start_ns) / 1e6) + "</span></div></div>";
  }

  function axisHtml(totalNs) {
    const ticks = [0, 0.25, 0.5, 0.75, 1]
      .map((f) => '<span style="left:' + f * 100 + '%">' + duration((totalNs * f) / 1e6) + "</span>")
      .join("");
    return '<div class="axis"><div style="padding-left:10px;padding-top:4px">span</div>' +
      '<div class="ticks">' + ticks + "</div></div>";
  }

  function valueHtml(value) {
    if (value === null || value === undefined) return '<span class="muted">null</span>';
    if (typeof value === "object") {
      const text = JSON.stringify(value, null, 2);
      return "<details><summary>" + esc(Array.isArray(value) ? "list of " + value.length : "object") +
        "</summary><pre>" + esc(text) + "</pre></details>";
    }
    const text = String(value);
    if (text.length > 160 || text.indexOf("\n") >= 0) {
      return "<details><summary>" + esc(text.slice(0, 120).split("\n")[0]) + "…</summary><pre>" +
        esc(text) + "</pre></details>";
    }
    return typeof value === "string" ? esc(text) : "<code>" + esc(text) + "</code>";
  }

  function attrsHtml(title, attrs) {
    const keys = Object.keys(attrs || {});
    if (!keys.length) return "";
    keys.sort((a, b) => (a.startsWith("honeyhive_error") ? -1 : 0) - (b.startsWith("honeyhive_error") ? -1 : 0) || (a < b ? -1 : a > b ? 1 : 0));
    return "<section>" + (title ? "<h3>" + esc(title) + " (" + keys.length + ")</h3>" : "") + '<table class="attrs">' +
      keys.map((k) => '<tr><td class="k">' + esc(k).replace(/\./g, ".<wbr>") + "</td><td>" + valueHtml(attrs[k]) + "</td></tr>").join("") +
      "</table></section>";
  }

  function idsHtml(pairs) {
    return '<div class="ids">' + pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== "")
      .map((p) => "<span>" + esc(p[0]) + "</span><span>" + p[1] + "</span>").join("") + "</div>";
  }

  // The selected span's details: the summary at once, attributes and events when they arrive.
  function spanDetail(s, full, t0, services) {
    const ms = (s.end_ns - s.start_ns) / 1e6;
    const kind = kindOf(s);
    const scope = full ? full.scopes[full.spans[0].scope] || {} : {};
    let html = "<h2>" + esc(s.name) + "</h2>" + idsHtml([
      ["duration", duration(ms)],
      ["starts at", "+" + duration((s.start_ns - t0) / 1e6) + ' <span class="muted">(' + when(s.start_ns) + ")</span>"],
      ["kind", esc([kind, KINDS[s.kind]].filter((k, i, all) => k && all.indexOf(k) === i).join(" · "))],
      ["service", esc(services[s.resource] || "")],
      ["span", "<code>" + esc(s.span_id) + "</code>"],
      ["parent", s.parent_span_id ? "<code>" + esc(s.parent_span_id) + "</code>" : ""],
      ["trace", link({ trace: s.trace_id }, "<code>" + esc(s.trace_id) + "</code>")],
      ["session", s.session_id ? link({ session: s.session_id }, "<code>" + esc(s.session_id) + "</code>") : ""],
      ["scope", esc([scope.name, scope.version].filter(Boolean).join(" "))],
    ]);
    if (s.status_code === 2) {
      let stack = "";
      for (const e of (full && full.spans[0].events) || []) {
        const st = e.name === "exception" && e.attributes && e.attributes["exception.stacktrace"];
        if (st) { stack = "<pre>" + esc(st) + "</pre>"; break; }
      }
      html += '<div class="errbox"><b>ERROR</b> ' + esc(s.error || s.status_message || "error") + stack + "</div>";
    }
    if (!full) return html + '<p class="hint">Loading attributes…</p>';
    const span = full.spans[0];
    html += attrsHtml("attributes", span.attributes);
    if ((span.events || []).length) {
      html += '<section><h3>span events (' + span.events.length + ')</h3><div class="evlist">' +
        span.events.map((e) => '<div class="' + (e.name === "exception" ? "exc" : "") + '"><b>' + esc(e.name) +
          '</b> <span class="muted">+' + duration((e.time_ns - span.start_ns) / 1e6) + "</span>" +
          attrsHtml("", e.attributes) + "</div>").join("") +
        "</div></section>";
    }
    if ((span.links || []).length) {
      html += "<section><h3>links (" + span.links.length + ")</h3>" + span.links.map((l) =>
        "<div>" + link({ trace: l.trace_id, span: l.span_id }, "<code>" + esc(l.trace_id) + " / " + esc(l.span_id) + "</code>") + "</div>").join("") +
        "</section>";
    }
    html += attrsHtml("resource", full.resources[span.resource]);
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
    const shown = {};
    for (const k of Object.keys(body)) {
      if (["event_id", "event_name", "event_type", "session_id", "parent_id"].indexOf(k) < 0) shown[k] = body[k];
    }
    return html + attrsHtml("fields", shown);
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

  // The waterfall is virtual: all rows are laid out in a tall spacer, but only the ones in
  // view (plus a margin) exist in the DOM, re-rendered on scroll. Collapsing a span hides its
  // subtree from the list of visible rows.
  const ROW = 24;
  const OVERSCAN = 20;

  function renderWaterfall(head, data, selectSpan, timing) {
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
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if ((r.span && r.span.status_code === 2) || (r.event && r.event.error)) errorRows.push(i);
    }
    let visible = rows.map((_, i) => i);

    main.innerHTML = head +
      '<div class="wf"><div class="card wf-main"><div class="wf-tools"><span>' +
      plural(spans.length, "span") + " in " + plural(traceStats.size, "trace") +
      (events.length ? " · " + plural(events.length, "event") : "") + "</span>" +
      (errorRows.length ? '<button id="next-error">Next error (' + errorRows.length + ")</button>" : "") +
      '<span class="sp"></span><button id="collapse-all">Collapse</button><button id="expand-all">Expand</button></div>' +
      axisHtml(total) + '<div class="rows" id="rows"><div class="spacer" id="spacer"><div class="win" id="win"></div></div></div></div>' +
      '<aside class="card detail" id="detail"><p class="hint">Select a span to see its attributes, events and errors.</p></aside></div>';
    const rowsEl = document.getElementById("rows");
    const spacer = document.getElementById("spacer");
    const win = document.getElementById("win");
    const detail = document.getElementById("detail");
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
    }

    function layout() {
      spacer.style.height = visible.length * ROW + "px";
      rowsEl.style.height = Math.min(visible.length * ROW + 2, Math.max(240, window.innerHeight - rowsEl.getBoundingClientRect().top - 40)) + "px";
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
    function select(index, scroll) {
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
      if (row.event) {
        detail.innerHTML = eventDetail(row.event);
        return;
      }
      const s = row.span;
      const token = ++detailToken;
      detail.innerHTML = spanDetail(s, null, t0, services);
      detail.scrollTop = 0;
      api("/api/spans/" + s.trace_id + "/" + s.span_id).then((full) => {
        if (token === detailToken && full) detail.innerHTML = spanDetail(s, full, t0, services);
      }).catch((error) => {
        if (token === detailToken) detail.insertAdjacentHTML("beforeend", '<p class="hint">' + esc(error.message) + "</p>");
      });
    }

    rowsEl.addEventListener("scroll", () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; paint(false); });
    });
    window.addEventListener("resize", layout);
    win.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      const el = event.target.closest(".row");
      if (!el) return;
      const index = Number(el.dataset.i);
      if (event.target.classList.contains("tg")) toggle(index); else select(index, false);
    });
    const next = document.getElementById("next-error");
    if (next) {
      next.addEventListener("click", () => {
        const after = errorRows.find((i) => i > view.selected);
        select(after === undefined ? errorRows[0] : after, true);
      });
    }
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

    layout();
    let target = -1;
    if (selectSpan) {
      target = rows.findIndex((r) => (r.span && r.span.span_id === selectSpan) || (r.event && r.event.event_id === selectSpan));
    }
    if (target < 0 && errorRows.length) target = errorRows[0];
    if (target < 0) target = rows.findIndex((r) => r.span);
    if (target >= 0) select(target, true);
    void main.offsetHeight; // lay out now, inside the measurement
    reportTiming(spans.length, timing, performance.now() - renderStart);
  }

  function reportTiming(count, fetchMs, renderMs) {
    const el = document.getElementById("render-stats");
    el.dataset.spans = String(count);
    el.dataset.fetchMs = fetchMs.toFixed(1);
    el.dataset.renderMs = renderMs.toFixed(1);
    el.dataset.totalMs = (fetchMs + renderMs).toFixed(1);
    el.textContent = plural(count, "span") + " rendered in " + renderMs.toFixed(0) + " ms (fetched in " +
      fetchMs.toFixed(0) + " ms)";
  }

  // -- session, trace and search views -------------------------------------------------------

  async function showSession(id, spanId) {
    const started = performance.now();
    const data = await api("/api/sessions/" + encodeURIComponent(id));
    const fetched = performance.now() - started;
    if (!data) {
      main.innerHTML = '<div class="card empty"><h2>No session ' + esc(id) + "</h2>" + link({}, "All sessions") + "</div>";
      return;
    }
    const s = data.session;
    document.title = (s.name || "session") + " · HoneyHive";
    const head = '<div class="crumbs">' + link({}, "Sessions") + " / " + esc(s.name || short(s.session_id)) + "</div>" +
      '<div class="card head"><h1>' + esc(s.name || "(unnamed session)") +
      (s.error_count ? ' <span class="badge err">' + plural(s.error_count, "error") + "</span>" : "") + "</h1>" +
      '<div class="facts"><span>session <code>' + esc(s.session_id) + "</code></span>" +
      (s.project ? "<span>project <b>" + esc(s.project) + "</b></span>" : "") +
      (s.source ? "<span>source <b>" + esc(s.source) + "</b></span>" : "") +
      "<span>started <b>" + when(s.start_ns) + "</b></span>" +
      "<span>duration <b>" + duration(s.duration_ms) + "</b></span>" +
      "<span><b>" + plural(s.span_count, "span") + "</b></span>" +
      (s.event_count ? "<span><b>" + plural(s.event_count, "event") + "</b></span>" : "") +
      (s.update_count ? "<span>" + plural(s.update_count, "update") + "</span>" : "") +
      "</div>" + sessionFacts(s) + "</div>";
    renderWaterfall(head, data, spanId, fetched);
  }

  async function showTrace(id, spanId, notice) {
    const started = performance.now();
    const data = await api("/api/traces/" + encodeURIComponent(id));
    const fetched = performance.now() - started;
    if (!data) {
      main.innerHTML = '<div class="card empty"><h2>No trace ' + esc(id) + "</h2>" + link({}, "All sessions") + "</div>";
      return;
    }
    document.title = "trace " + short(id) + " · HoneyHive";
    const sessions = (data.sessions || []).map((s) => link({ session: s.session_id }, esc(s.name || short(s.session_id)))).join(", ");
    const head = (notice || "") + '<div class="crumbs">' + link({}, "Sessions") + " / trace</div>" +
      '<div class="card head"><h1>trace <code>' + esc(data.trace_id) + "</code></h1>" +
      '<div class="facts">' + (sessions ? "<span>session " + sessions + "</span>" : "<span>no session</span>") + "</div></div>";
    renderWaterfall(head, data, spanId, fetched);
  }

  async function showSearch(query) {
    document.getElementById("q").value = query;
    document.title = "search · HoneyHive";
    const found = await api("/api/search?q=" + encodeURIComponent(query));
    const hits = found.sessions.length + found.traces.length + found.spans.length + found.events.length;
    const notice = (what) => '<div class="notice">Search <b>' + esc(query) + "</b>: " + what + "</div>";
    if (hits === 1) {
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
    if (!hits) {
      main.innerHTML = '<div class="card empty"><h2>Nothing matches “' + esc(query) + "”</h2>" +
        "<p>Search takes a session, trace, span or event id (or its first characters), or part of a session name.</p>" +
        link({}, "All sessions") + "</div>";
      return;
    }
    let html = '<div class="results"><h1>Results for “' + esc(query) + "”</h1>";
    const section = (title, items, render) => items.length
      ? '<section><h2>' + title + '</h2><ul class="card">' + items.map((i) => "<li>" + render(i) + "</li>").join("") + "</ul></section>" : "";
    html += section("Sessions", found.sessions, (s) => link({ session: s.session_id }, esc(s.name || "(unnamed)")) +
      ' <span class="mono muted">' + esc(s.session_id) + "</span> · " + plural(s.span_count, "span") +
      (s.error_count ? ' <span class="badge err">' + plural(s.error_count, "error") + "</span>" : ""));
    html += section("Traces", found.traces, (t) => link({ trace: t.trace_id }, "<code>" + esc(t.trace_id) + "</code>") +
      " · " + plural(t.span_count, "span") + " · " + duration((t.end_ns - t.start_ns) / 1e6));
    html += section("Spans", found.spans, (s) => link(s.session_id ? { session: s.session_id, span: s.span_id } : { trace: s.trace_id, span: s.span_id },
      esc(s.name)) + ' <span class="mono muted">' + esc(s.span_id) + "</span>");
    html += section("Events", found.events, (e) => (e.session_id ? link({ session: e.session_id, span: e.event_id }, esc(e.name)) : esc(e.name)) +
      ' <span class="mono muted">' + esc(e.event_id) + "</span>");
    main.innerHTML = html + "</div>";
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
    if (params.get("session")) return showSession(params.get("session"), params.get("span"));
    if (params.get("trace")) return showTrace(params.get("trace"), params.get("span"));
    if (q) return showSearch(q);
    return showSessions(false);
  }

  showVersion();
  route().catch(fail);
})();

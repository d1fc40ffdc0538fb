// keytrail HTML report. Every recorded string is inserted with textContent
// or as an SVG attribute value, never as markup. No eval, no network.
(function () {
  "use strict";
  var body = document.body;
  window.onerror = function (msg) {
    body.setAttribute("data-error", String(msg));
  };
  document.addEventListener("securitypolicyviolation", function (e) {
    body.setAttribute("data-csp-violation", String(e.violatedDirective) + " " + String(e.blockedURI));
  });
  var consoleError = console.error;
  console.error = function () {
    body.setAttribute("data-console-error", Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
  var started = performance.now();
  var SVG = "http://www.w3.org/2000/svg";
  var D = JSON.parse(document.getElementById("keytrail-data").textContent);
  var C = {};
  D.columns.forEach(function (name, i) { C[name] = i; });
  var S = D.strings, R = D.rows, N = R.length;

  // ---- helpers -----------------------------------------------------------
  function str(row, col) { var v = row[C[col]]; return v === null ? "" : S[v]; }
  // Control, bidi and other invisible characters are shown as visible escapes.
  var HIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
  // The same, but line breaks stay (JSON.stringify escapes those of the data).
  var HIDDEN_INLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
  function visible(s, keepLines) {
    return String(s).replace(keepLines ? HIDDEN_INLINE : HIDDEN, function (c) {
      return "\\u{" + c.charCodeAt(0).toString(16).toUpperCase() + "}";
    });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = visible(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  // Appends the children; returns the last one.
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) parent.appendChild(arguments[i]);
    return arguments[arguments.length - 1];
  }
  function iso(ms) { return ms === null || ms === undefined ? "" : new Date(ms).toISOString().replace(".000Z", "Z"); }
  function section(id, title) {
    var s = el("section"); s.id = id;
    add(s, el("h2", null, title));
    body.appendChild(s);
    return s;
  }
  function list(parent, items) {
    var ul = add(parent, el("ul"));
    items.forEach(function (t) { add(ul, el("li", "data", t)); });
    return ul;
  }
  function table(parent, head, rows) {
    var t = el("table", "list"), tr = add(t, el("tr"));
    head.forEach(function (h) { add(tr, el("th", null, h)); });
    rows.forEach(function (r) {
      var row = add(t, el("tr"));
      r.forEach(function (c) { add(row, el("td", "data", c === null || c === undefined ? "" : String(c))); });
    });
    return add(parent, t);
  }

  // ---- state ----------------------------------------------------------------
  var filter = { key: "", service: "", name: "", ip: "", ua: "", error: "", relation: "", after: "" };
  var shown = new Int32Array(N), shownCount = 0, selectedRow = -1;
  var listeners = [];

  function rowIsWrite(r) { return r[C.read_only] === false; }
  function rowFailed(r) { return r[C.error_code] !== null; }
  function matches(r) {
    if (filter.key && S[r[C.lane_key]] !== filter.key) return false;
    if (filter.service && str(r, "event_source") !== filter.service) return false;
    if (filter.relation && str(r, "relation") !== filter.relation) return false;
    if (filter.after === "yes" && r[C.after_deactivation] !== true) return false;
    if (filter.after === "no" && r[C.after_deactivation] === true) return false;
    if (filter.name && str(r, "event_name").toLowerCase().indexOf(filter.name) < 0) return false;
    if (filter.ip && str(r, "source_ip").indexOf(filter.ip) < 0) return false;
    if (filter.ua && str(r, "user_agent").toLowerCase().indexOf(filter.ua) < 0) return false;
    if (filter.error === "(any)" && !rowFailed(r)) return false;
    if (filter.error === "(none)" && rowFailed(r)) return false;
    if (filter.error && filter.error !== "(any)" && filter.error !== "(none)" && str(r, "error_code") !== filter.error) return false;
    return true;
  }
  function apply() {
    var began = performance.now();
    shownCount = 0;
    for (var i = 0; i < N; i++) if (matches(R[i])) shown[shownCount++] = i;
    body.setAttribute("data-filtered", String(shownCount));
    body.setAttribute("data-filter-key", filter.key);
    listeners.forEach(function (f) { f(); });
    body.setAttribute("data-filter-ms", String(Math.round(performance.now() - began)));
  }
  function setKey(key) {
    filter.key = filter.key === key ? "" : key;
    if (controls.key) controls.key.value = filter.key;
    apply();
  }

  // ---- headline -------------------------------------------------------------
  var header = el("header");
  body.appendChild(header);
  add(header, el("h1", null, "keytrail report: " + D.seeds.join(", ")));
  var win = "window: " + (D.window.since || "the beginning") + " to " + (D.window.until || "the end") +
    "; cut-off " + D.cutoff.time + " (" + D.cutoff.source + ")";
  add(header, el("div", "muted", win));
  if (!D.complete) add(header, el("div", "status live", "Some inputs could not be read completely: evidence may be missing (see Inputs)."));
  var counts = add(header, el("div", "counts"));
  function count(label, n) { var c = add(counts, el("div", "count")); add(c, el("b", null, String(n))); add(c, el("span", null, label)); }
  var failedRows = 0, afterRows = 0, writeRows = 0;
  for (var i = 0; i < N; i++) { if (rowFailed(R[i])) failedRows++; if (R[i][C.after_deactivation] === true) afterRows++; if (rowIsWrite(R[i])) writeRows++; }
  count("credentials", D.credentials.length);
  count("timeline rows", N);
  count("actions", D.blast_radius.actions);
  count("writes", writeRows);
  count("failed calls", failedRows);
  count("after deactivation", afterRows);
  count("files read", D.inputs.files_read);
  count("inputs skipped", D.inputs.skipped.length + D.inputs.partial.length);
  add(header, el("h2", null, "Containment at the cut-off"));
  var panel = add(header, el("div", "panel"));
  var byStatus = {};
  D.containment.credentials.forEach(function (c) { (byStatus[c.status] = byStatus[c.status] || []).push(c); });
  var LIVE = { "neutralised": 1, "issued-after-cutoff": 1, "unreachable": 1, "key-active": 1 };
  ["key-active", "unreachable", "issued-after-cutoff", "neutralised", "key-deactivated", "expired"].forEach(function (st) {
    var cs = byStatus[st];
    if (!cs) return;
    var box = add(panel, el("div", "status" + (LIVE[st] ? " live" : "")));
    box.setAttribute("data-status", st);
    add(box, el("b", null, st + " (" + cs.length + ")"));
    var ul = add(box, el("ul"));
    cs.forEach(function (c) {
      var li = add(ul, el("li", "mono data", c.access_key_id + (c.principal ? "  " + c.principal.type + " " + c.principal.name : "")));
      li.setAttribute("data-key", c.access_key_id);
    });
  });
  add(header, el("h3", null, "Still to do"));
  var todo = [];
  D.containment.principals.forEach(function (p) {
    todo.push("attach the deny policy " + D.containment.policy_name + " to " + p.type + " " + p.name + " in " + p.account);
  });
  D.containment.refused_principals.forEach(function (p) {
    todo.push("contain by hand: " + p.type + " " + p.name + " (" + p.reason + ")");
  });
  (byStatus["key-active"] || []).forEach(function (c) { todo.push("deactivate and delete the long-term key " + c.access_key_id); });
  (byStatus["key-deactivated"] || []).forEach(function (c) { todo.push("confirm and delete the deactivated key " + c.access_key_id); });
  (byStatus["unreachable"] || []).forEach(function (c) { todo.push("live but unreachable by the policy: " + c.access_key_id + (c.reason ? " (" + c.reason + ")" : "")); });
  (byStatus["issued-after-cutoff"] || []).forEach(function (c) { todo.push("issued after the cut-off, not covered: " + c.access_key_id); });
  if (!todo.length) todo.push("nothing: no credential is live at the cut-off");
  list(header, todo).className = "todo";

  // ---- filters ----------------------------------------------------------------
  var fsec = section("filters", "Filters");
  var bar = add(fsec, el("div", "filterbar"));
  var controls = {};
  function distinct(col) {
    var seen = {}, out = [];
    for (var i = 0; i < N; i++) { var v = R[i][C[col]]; if (v !== null && !seen[v]) { seen[v] = 1; out.push(S[v]); } }
    return out.sort();
  }
  function select(name, label, options) {
    var l = add(bar, el("label", null, label)), s = add(l, el("select"));
    s.name = name;
    [["", "(all)"]].concat(options).forEach(function (o) {
      var opt = add(s, el("option", null, o[1])); opt.value = o[0];
    });
    s.addEventListener("change", function () { filter[name] = s.value; apply(); });
    controls[name] = s;
  }
  function text(name, label) {
    var l = add(bar, el("label", null, label)), t = add(l, el("input"));
    t.name = name; t.type = "search";
    var pending = 0;
    t.addEventListener("input", function () {
      clearTimeout(pending);
      pending = setTimeout(function () { filter[name] = name === "ip" ? t.value : t.value.toLowerCase(); apply(); }, 150);
    });
    controls[name] = t;
  }
  select("key", "credential", D.credentials.map(function (c) { return [c.key, c.key]; }));
  select("service", "service", distinct("event_source").map(function (v) { return [v, v]; }));
  text("name", "event name");
  text("ip", "source IP");
  text("ua", "user agent");
  select("error", "error", [["(any)", "(any error)"], ["(none)", "(no error)"]].concat(distinct("error_code").map(function (v) { return [v, v]; })));
  select("relation", "relation", distinct("relation").map(function (v) { return [v, v]; }));
  select("after", "after deactivation", [["yes", "yes"], ["no", "no"]]);
  var reset = add(bar, el("button", null, "reset"));
  reset.addEventListener("click", function () {
    for (var k in filter) { filter[k] = ""; controls[k].value = ""; }
    apply();
  });
  var status = add(fsec, el("div", "muted"));
  listeners.push(function () { status.textContent = shownCount + " of " + N + " rows shown" + (filter.key ? " for " + filter.key : ""); });

  // ---- lineage graph: laid out by dagre (vendor/README.md) ---------------------
  var gsec = section("graph", "Lineage");
  add(gsec, el("div", "muted", "Click a credential to filter everything to it; click again to clear."));
  var gwrap = add(gsec, el("div", "graphwrap"));
  var NW = 230, NH = 62, pos = {};
  // Parent to child, left to right: dagre ranks the layers, orders them
  // against crossings and routes the edges, with room for their labels.
  var G = new dagre.graphlib.Graph({ multigraph: true });
  G.setGraph({ rankdir: "LR", nodesep: 14, ranksep: 60, edgesep: 10, marginx: 10, marginy: 10 });
  G.setDefaultEdgeLabel(function () { return {}; });
  D.credentials.forEach(function (c) { G.setNode(c.key, { width: NW, height: NH }); });
  var drawnEdges = [];
  D.edges.forEach(function (e, i) {
    if (!G.hasNode(e.from) || !G.hasNode(e.to)) return;
    G.setEdge(e.from, e.to, { width: Math.min(34, visible(e.api).length) * 6 + 8, height: 14, labelpos: "c" }, "e" + i);
    drawnEdges.push([e, "e" + i]);
  });
  dagre.layout(G);
  G.nodes().forEach(function (k) { var n = G.node(k); pos[k] = { x: n.x - NW / 2, y: n.y - NH / 2 }; });
  var gw = Math.ceil(Math.max(1, G.graph().width || 0)), gh = Math.ceil(Math.max(1, G.graph().height || 0));
  var gsvg = svg("svg", { width: gw, height: gh, viewBox: "0 0 " + gw + " " + gh, role: "img" });
  gsvg.setAttribute("aria-label", "lineage graph");
  drawnEdges.forEach(function (x) {
    var e = x[0], l = G.edge(e.from, e.to, x[1]), pts = l.points || [];
    if (!pts.length) return;
    // A smooth curve through dagre's points: straight ends, quadratic joins.
    var d = "M" + pts[0].x + "," + pts[0].y;
    for (var i = 1; i < pts.length - 1; i++) {
      var mx = (pts[i].x + pts[i + 1].x) / 2, my = (pts[i].y + pts[i + 1].y) / 2;
      d += " Q" + pts[i].x + "," + pts[i].y + " " + (i === pts.length - 2 ? pts[i + 1].x + "," + pts[i + 1].y : mx + "," + my);
    }
    if (pts.length === 2) d += " L" + pts[1].x + "," + pts[1].y;
    var p = add(gsvg, svg("path", { "class": "edge", d: d }));
    var t = add(p, svg("title", {})); t.textContent = visible(e.api + (e.time ? " " + e.time : ""));
    var lbl = add(gsvg, svg("text", { "class": "elabel", x: l.x, y: l.y + 4, "text-anchor": "middle" })); lbl.textContent = visible(e.api);
  });
  var nodeEls = {};
  D.credentials.forEach(function (c) {
    var p = pos[c.key];
    var g = add(gsvg, svg("g", { "class": "node" + (c.status && LIVE[c.status] ? " live" : ""), transform: "translate(" + p.x + "," + p.y + ")" }));
    g.setAttribute("data-key", c.key);
    add(g, svg("rect", { width: NW, height: NH, rx: 4 }));
    var lines = [c.key, c.kind + (c.status ? " · " + c.status : ""), c.principal || "", c.actions + " actions" + (c.after_deactivation ? ", " + c.after_deactivation + " after deactivation" : "")];
    lines.forEach(function (s, k) {
      var t = add(g, svg("text", { x: 6, y: 14 + k * 14 }));
      var v = visible(s);
      t.textContent = v.length > 34 ? v.slice(0, 33) + "…" : v;
    });
    var tt = add(g, svg("title", {})); tt.textContent = visible(c.key + "\n" + c.kind + "\n" + (c.principal || "") + "\n" + c.window + "\n" + (c.status_label || ""));
    g.addEventListener("click", function () { setKey(c.key); });
    nodeEls[c.key] = g;
  });
  add(gwrap, gsvg);
  listeners.push(function () {
    for (var k in nodeEls) nodeEls[k].classList.toggle("selected", k === filter.key);
  });

  // ---- timeline: one swimlane per credential ------------------------------------
  var tsec = section("timeline", "Timeline");
  var legend = add(tsec, el("div", "legend muted"));
  [["read", "read"], ["write", "write"], ["failed", "failed call"], ["after", "after deactivation"]].forEach(function (x) {
    var s = add(legend, el("span")); add(s, el("i", "sw " + x[0])); add(s, document.createTextNode(x[1]));
  });
  add(legend, document.createTextNode("Wheel to zoom, drag to pan, double-click to reset."));
  var lanesWrap = add(tsec, el("div", "lanes"));
  var lanes = D.credentials.map(function (c) { return c.key; });
  var laneOf = {};
  lanes.forEach(function (k, i) { laneOf[k] = i; });
  var t0 = N ? R[0][C.event_time] : 0, t1 = N ? R[N - 1][C.event_time] : 1;
  if (t1 <= t0) { t0 -= 60000; t1 += 60000; }
  var pad = (t1 - t0) * 0.02; t0 -= pad; t1 += pad;
  var view = { a: t0, b: t1 };
  var LW = 180, LH = 22, TW = 1100, AX = 24;
  var th = lanes.length * LH + AX + 4;
  var tsvg = svg("svg", { width: LW + TW, height: th });
  tsvg.setAttribute("aria-label", "timeline");
  add(lanesWrap, tsvg);
  var laneBg = [], laneLayer = svg("g", {}), markLayer = svg("g", {}), axisLayer = svg("g", { "class": "axis" });
  add(tsvg, laneLayer, axisLayer, markLayer);
  lanes.forEach(function (k, i) {
    var bg = add(laneLayer, svg("rect", { "class": "lane-bg", x: LW, y: AX + i * LH, width: TW, height: LH - 2 }));
    laneBg.push(bg);
    var t = add(laneLayer, svg("text", { "class": "lane-label", x: 4, y: AX + i * LH + 15 }));
    t.textContent = k;
    t.addEventListener("click", function () { setKey(k); });
  });
  var STEPS = [1e3, 5e3, 15e3, 6e4, 3e5, 9e5, 36e5, 108e5, 216e5, 864e5, 6048e5, 2592e6, 31536e6];
  function drawTimeline() {
    while (axisLayer.firstChild) axisLayer.removeChild(axisLayer.firstChild);
    while (markLayer.firstChild) markLayer.removeChild(markLayer.firstChild);
    var span = view.b - view.a, step = STEPS[STEPS.length - 1];
    for (var s = 0; s < STEPS.length; s++) if (span / STEPS[s] <= 8) { step = STEPS[s]; break; }
    for (var t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
      var x = LW + (t - view.a) / span * TW;
      add(axisLayer, svg("line", { x1: x, x2: x, y1: AX - 4, y2: th }));
      var lab = add(axisLayer, svg("text", { x: x + 2, y: 12 }));
      lab.textContent = iso(t).slice(step >= 864e5 ? 0 : 5, step >= 864e5 ? 10 : 19).replace("T", " ");
    }
    // One mark per lane, pixel and kind: 100 000 rows stay a few thousand elements.
    var bins = {};
    for (var j = 0; j < shownCount; j++) {
      var r = R[shown[j]], tm = r[C.event_time];
      if (tm < view.a || tm > view.b) continue;
      var lane = laneOf[S[r[C.lane_key]]];
      if (lane === undefined) continue;
      var px = Math.floor((tm - view.a) / span * TW);
      var kind = r[C.after_deactivation] === true ? "after" : rowFailed(r) ? "failed" : rowIsWrite(r) ? "write" : "read";
      var id = lane + ":" + px + ":" + kind;
      if (!bins[id]) bins[id] = [lane, px, kind, 0, shown[j]];
      bins[id][3]++;
    }
    var Y = { after: 2, write: 6, read: 6, failed: 4 }, H = { after: 16, write: 8, read: 8, failed: 12 };
    for (var key in bins) {
      var b = bins[key];
      var m = add(markLayer, svg("rect", { "class": "mark-" + b[2], x: LW + b[1], y: AX + b[0] * LH + Y[b[2]], width: 3, height: H[b[2]] }));
      m.setAttribute("data-row", String(b[4]));
      var tt = add(m, svg("title", {}));
      tt.textContent = b[3] + " " + b[2] + " row(s) at " + iso(R[b[4]][C.event_time]);
    }
  }
  markLayer.addEventListener("click", function (e) {
    var r = e.target.getAttribute && e.target.getAttribute("data-row");
    if (r !== null && r !== undefined) selectRow(Number(r), true);
  });
  tsvg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var rect = tsvg.getBoundingClientRect(), f = Math.min(1, Math.max(0, (e.clientX - rect.left - LW) / TW));
    var at = view.a + f * (view.b - view.a), k = e.deltaY > 0 ? 1.25 : 0.8;
    var span = Math.max(1000, (view.b - view.a) * k);
    view.a = at - f * span; view.b = view.a + span;
    drawTimeline();
  }, { passive: false });
  var drag = null;
  tsvg.addEventListener("mousedown", function (e) { drag = { x: e.clientX, a: view.a, b: view.b }; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var dt = (e.clientX - drag.x) / TW * (drag.b - drag.a);
    view.a = drag.a - dt; view.b = drag.b - dt;
    drawTimeline();
  });
  tsvg.addEventListener("dblclick", function () { view.a = t0; view.b = t1; drawTimeline(); });
  listeners.push(function () {
    laneBg.forEach(function (bg, i) { bg.classList.toggle("selected", lanes[i] === filter.key); });
    drawTimeline();
  });

  // ---- table: virtual rows ----------------------------------------------------
  var rsec = section("rows", "Timeline rows");
  var HEAD = ["time", "relation", "credential", "service", "event", "source IP", "user agent", "error", "after"];
  var box = add(rsec, el("div", "table"));
  var thead = add(box, el("div", "thead"));
  HEAD.forEach(function (h) { add(thead, el("div", null, h)); });
  var spacer = add(box, el("div", "spacer"));
  var RH = 22, drawn = [];
  function cellsOf(r) {
    return [iso(r[C.event_time]), str(r, "relation"), S[r[C.lane_key]], str(r, "event_source"), str(r, "event_name"),
      str(r, "source_ip"), str(r, "user_agent"), str(r, "error_code"), r[C.after_deactivation] ? "yes" : ""];
  }
  function drawTable() {
    spacer.style.height = (shownCount * RH) + "px";
    var first = Math.max(0, Math.floor(box.scrollTop / RH) - 5);
    var last = Math.min(shownCount, first + Math.ceil(box.clientHeight / RH) + 10);
    drawn.forEach(function (d) { spacer.removeChild(d); });
    drawn = [];
    for (var j = first; j < last; j++) {
      var idx = shown[j], r = R[idx];
      var d = el("div", "row" + (r[C.after_deactivation] ? " after" : "") + (rowFailed(r) ? " failed" : "") + (idx === selectedRow ? " selected" : ""));
      d.style.top = (j * RH) + "px";
      d.setAttribute("data-row", String(idx));
      cellsOf(r).forEach(function (c, k) { add(d, el("div", "data cell c-" + ["time", "rel", "key", "svc", "name", "ip", "ua", "error", "after"][k], c)); });
      spacer.appendChild(d);
      drawn.push(d);
    }
  }
  box.addEventListener("scroll", drawTable);
  spacer.addEventListener("click", function (e) {
    var t = e.target;
    while (t && t !== spacer && !t.hasAttribute("data-row")) t = t.parentNode;
    if (t && t !== spacer) selectRow(Number(t.getAttribute("data-row")), false);
  });
  listeners.push(function () { box.scrollTop = 0; drawTable(); });

  // ---- row detail -------------------------------------------------------------
  var dsec = section("detail", "Selected row");
  add(dsec, el("div", "muted", "Click a row or a timeline mark."));
  function pre(title, value) {
    var w = el("div");
    add(w, el("h3", null, title));
    var p = add(w, el("pre", "data"));
    p.textContent = visible(value === null || value === undefined ? "(none)" : JSON.stringify(value, null, 2), true);
    return w;
  }
  function selectRow(idx, scroll) {
    selectedRow = idx;
    var r = R[idx];
    while (dsec.childNodes.length > 1) dsec.removeChild(dsec.lastChild);
    var facts = {};
    D.columns.forEach(function (name, k) {
      if (name === "request_parameters" || name === "response_elements" || name === "resources") return;
      var v = r[k];
      facts[name] = name === "event_time" ? iso(v) : name === "depth" ? v : typeof v === "number" ? S[v] : v;
    });
    var grid = add(dsec, el("div", "detail"));
    add(grid, pre("Event", facts), pre("Request", r[C.request_parameters]), pre("Response", r[C.response_elements]), pre("Resources", r[C.resources]));
    body.setAttribute("data-selected", String(idx));
    if (scroll) {
      for (var j = 0; j < shownCount; j++) if (shown[j] === idx) { box.scrollTop = j * RH; break; }
    }
    drawTable();
  }

  // ---- blast radius -----------------------------------------------------------
  var bsec = section("blast", "Blast radius");
  var B = D.blast_radius, bg = add(bsec, el("div", "grid2"));
  function block(title) { var d = add(bg, el("div")); add(d, el("h3", null, title)); return d; }
  table(block("Services and actions"), ["service", "action", "calls", "reads", "writes", "denied", "other errors"],
    B.services.map(function (s) { return [s.service, s.action, s.calls, s.reads, s.writes, s.denied, s.other_errors]; }));
  table(block("Resources"), ["kind", "id", "actions", "first seen", "last seen"],
    B.resources.map(function (r) { return [r.kind, r.id, r.actions.map(function (a) { return a.action + " ×" + a.calls + (a.failed ? " (" + a.failed + " failed)" : ""); }).join(", "), r.first_seen, r.last_seen]; }));
  table(block("S3 egress (" + B.egress_bytes + " bytes)"), ["time", "credential", "action", "bucket", "object", "bytes"],
    B.egress.map(function (e) { return [e.event_time, e.access_key_id, e.action, e.bucket, e.object_key, e.bytes]; }));
  var fb = block("Findings");
  B.findings.forEach(function (f) {
    add(fb, el("b", null, f.category + " (" + f.events.length + ")"));
    table(fb, ["time", "credential", "service", "action", "error"], f.events.map(function (e) { return [e.event_time, e.access_key_id, e.service, e.action, e.error_code]; }));
  });
  if (!B.findings.length) add(fb, el("div", "muted", "none"));
  [["Source IPs", B.source_ips], ["User agents", B.user_agents], ["Accounts", B.accounts], ["Regions", B.regions]].forEach(function (x) {
    table(block(x[0]), ["value", "actions", "first seen", "last seen", "credentials"],
      x[1].map(function (s) { return [s.value, s.actions, s.first_seen, s.last_seen, s.keys.join(", ")]; }));
  });

  // ---- inputs -----------------------------------------------------------------
  var isec = section("inputs", "Inputs");
  var I = D.inputs;
  table(isec, ["files listed", "files read", "pruned", "re-reads", "bytes read", "records", "duplicates dropped"],
    [[I.files_listed, I.files_read, I.files_pruned, I.rereads, I.bytes_read, I.records, D.duplicates_dropped]]);
  [["Skipped (could not be read)", I.skipped], ["Partial (read up to damage)", I.partial], ["Skipped by design", I.skipped_by_design]].forEach(function (x) {
    add(isec, el("h3", null, x[0] + ": " + x[1].length));
    if (x[1].length) table(isec, ["source", "reason"], x[1].map(function (s) { return [s.source, s.reason]; }));
  });
  add(isec, el("h3", null, "Unusable records that mention a lineage key: " + I.bad_records.length));
  if (I.bad_records.length) table(isec, ["source", "record", "reason"], I.bad_records.map(function (s) { return [s.source, s.record, s.reason]; }));

  // ---- start ------------------------------------------------------------------
  function fromHash() {
    var m = /(?:^#|&)key=([A-Z0-9]+)/.exec(location.hash);
    var key = m ? m[1] : "";
    if (key !== filter.key) { filter.key = key; controls.key.value = key; }
    apply();
    var row = /(?:^#|&)row=([0-9]+)/.exec(location.hash);
    if (row && Number(row[1]) < N) selectRow(Number(row[1]), true);
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
  body.setAttribute("data-rows", String(N));
  body.setAttribute("data-credentials", String(D.credentials.length));
  body.setAttribute("data-init-ms", String(Math.round(performance.now() - started)));
  // Since navigation started: reading the file, parsing it, running this.
  body.setAttribute("data-interactive-ms", String(Math.round(performance.now())));
  body.setAttribute("data-ready", "1");
})();

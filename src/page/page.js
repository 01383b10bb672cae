// zksim run page: draws the data zksim embedded in #data. No network, no server.
// The page can be driven from its address for scripted checks: #step=N opens on the window's
// N-th event; #keys=ArrowRight,ArrowRight,f presses those keys in turn once the page is drawn.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const OUTCOME_COLOUR = {
    "ok": "#2ca02c", "error reply": "#ff7f0e", "fail": "#7f7f7f",
    "info": "#9467bd", "open": "#c7c7c7",
  };
  const OUTCOME_MEANING = {
    "ok": "ok", "error reply": "error reply (NoNode, BadVersion, ...)", "fail": "fail (did not take effect)",
    "info": "info (gave up: may or may not take effect)", "open": "open at the run's end",
  };
  const outcomeColour = (o) => OUTCOME_COLOUR[o] || "#17becf";
  const FAULT_COLOUR = {
    crash: "#d62728", pause: "#ff9896", partition: "#1f77b4", isolate: "#1f77b4",
    cut: "#aec7e8", clog: "#bcbd22",
  };
  const fmt = (ms) => ms == null ? "—" : ms.toFixed(3) + " ms";
  const nodeName = (i) => i < 0 ? "world" : D.nodes[i].name;
  const events = D.events; // [index, t_ms, node, kind, detail]
  const changes = D.changes; // [index, node, status]
  let cursor = 0; // position in `events`
  let cursorMs = events.length ? events[0][1] : 0;

  // ---- header -----------------------------------------------------------------------------
  const r = D.run;
  document.getElementById("title").textContent =
    `${r.scenario} — ${r.protocol} ${r.variant}, seed ${r.seed}`;
  document.getElementById("summary").innerHTML =
    `verdict <span class="verdict-${r.verdict}">${r.verdict}</span> · ` +
    `${D.ops.length} operations · ${r.replicas} replicas, ${D.nodes.length - r.replicas} clients · ` +
    `${r.end_ms.toFixed(0)} ms virtual · trace ${r.trace_hash}`;
  document.getElementById("replay").textContent = r.replay;

  const w = D.window;
  document.getElementById("window-note").textContent = events.length === 0
    ? "(no events recorded)"
    : `(trace lines ${w.first + 1}–${w.last + 1} of ${w.total}, ${fmt(w.from_ms)} to ${fmt(w.to_ms)};` +
      ` a page keeps a window of the run's events, see --page-at and --page-events)`;

  // ---- the violation ----------------------------------------------------------------------
  if (D.focus) {
    const f = D.focus;
    const check = D.checks.find((c) => c.name === f.check);
    const sec = document.getElementById("focus");
    sec.hidden = false;
    const where = f.at_ms != null ? ` at ${fmt(f.at_ms)}` : "";
    // A long list of lines says nothing a reader can use: name the first few, count the rest.
    const SHOWN = 12;
    const named = f.lines.slice(0, SHOWN).join(", ") +
      (f.lines.length > SHOWN ? ` and ${f.lines.length - SHOWN} more (all of them in results.json)` : "");
    const lines = f.lines.length ? ` The operations on history lines ${named} are outlined in red below.` : "";
    document.getElementById("focus-text").innerHTML =
      `<p>check <b>${esc(f.check)}</b>: <span class="verdict-${f.verdict}">${f.verdict}</span>${where}.${esc(lines)}</p>`;
    const pre = document.createElement("pre");
    pre.textContent = check ? check.detail : "";
    document.getElementById("focus-text").appendChild(pre);
  }
  function esc(s) {
    return String(s).replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" }[c]));
  }

  // ---- checks -----------------------------------------------------------------------------
  const checkRows = d3.select("#checks tbody").selectAll("tr").data(D.checks).join("tr");
  checkRows.append("td").text((c) => c.name);
  checkRows.append("td").append("span").attr("class", (c) => "verdict-" + c.verdict).text((c) => c.verdict);
  checkRows.append("td").text((c) => c.detail);

  // ---- timeline ---------------------------------------------------------------------------
  const clients = [...new Set(D.ops.map((o) => o.client))].sort((a, b) => a - b);
  const legend = d3.select("#legend");
  for (const [name, colour] of Object.entries(OUTCOME_COLOUR)) {
    const s = legend.append("span");
    s.append("i").style("background", colour);
    s.append("text").text(OUTCOME_MEANING[name]);
  }
  legend.append("span").html('<i style="background:none;border:2px solid #c62828"></i>in the counterexample');
  legend.append("span").html('<i style="background:#1f77b4;opacity:.15"></i>fault window');

  // Faults that share a kind and a window (ten one-way cuts that make one partial partition) are
  // drawn as one window, every fault named in its tooltip.
  const faultWindows = d3.groups(D.faults, (f) => `${f.kind} ${f.start_ms} ${f.end_ms}`).map(([, fs]) => ({
    kind: fs[0].kind, start_ms: fs[0].start_ms, end_ms: fs[0].end_ms,
    label: fs.length === 1 ? fs[0].label : `${fs[0].label} and ${fs.length - 1} more`,
    detail: fs.map((f) => f.label).join("\n"),
  }));
  const tl = d3.select("#timeline");
  const tlWidth = () => tl.node().getBoundingClientRect().width || 1200;
  const margin = { left: 70, right: 10, top: 28, bottom: 24 };
  const laneH = Math.max(8, Math.min(22, 240 / Math.max(1, clients.length)));
  const tlHeight = margin.top + margin.bottom + laneH * Math.max(1, clients.length) + 8;
  tl.style("height", tlHeight + "px");
  const x0 = d3.scaleLinear().domain([0, Math.max(r.end_ms, 1)]);
  let x = x0.copy();
  const lane = d3.scaleBand().domain(clients).range([margin.top, tlHeight - margin.bottom]).paddingInner(0.25);
  const gFaults = tl.append("g"), gWin = tl.append("g"), gOps = tl.append("g"),
    gMarks = tl.append("g"), gAxis = tl.append("g"), gLanes = tl.append("g"), gCursor = tl.append("g");
  tl.append("clipPath").attr("id", "clip").append("rect");
  for (const g of [gFaults, gWin, gOps, gMarks, gCursor]) g.attr("clip-path", "url(#clip)");

  function drawTimeline() {
    const W = tlWidth();
    x0.range([margin.left, W - margin.right]);
    x.range([margin.left, W - margin.right]);
    tl.select("#clip rect").attr("x", margin.left).attr("y", 0)
      .attr("width", W - margin.left - margin.right).attr("height", tlHeight);
    gAxis.attr("transform", `translate(0,${tlHeight - margin.bottom})`).call(d3.axisBottom(x).ticks(10).tickFormat((v) => v + " ms"));
    gLanes.selectAll("text").data(clients).join("text").attr("class", "lane-label")
      .attr("x", margin.left - 6).attr("text-anchor", "end")
      .attr("y", (c) => lane(c) + lane.bandwidth() / 2 + 4).text((c) => "client " + c);
    const top = margin.top, bottom = tlHeight - margin.bottom;
    // A label is drawn only where it fits: inside its window and clear of the label before it.
    let faultLabelEnd = -Infinity;
    gFaults.selectAll("g").data(faultWindows).join((e) => {
      const g = e.append("g");
      g.append("rect").attr("opacity", 0.15);
      g.append("text").attr("class", "fault-label");
      g.append("title");
      return g;
    }).each(function (f) {
      const g = d3.select(this);
      const a = x(f.start_ms), b = Math.max(x(f.end_ms), a + 1);
      g.select("rect").attr("x", a).attr("y", top - 14).attr("width", b - a).attr("height", bottom - top + 14)
        .attr("fill", FAULT_COLOUR[f.kind] || "#888");
      const width = 6 * f.label.length, fits = b - a > width && a + 2 > faultLabelEnd;
      if (fits) faultLabelEnd = a + 2 + width;
      g.select("text").attr("x", a + 2).attr("y", top - 4).text(fits ? f.label : "");
      g.select("title").text(f.detail);
    });
    gWin.selectAll("rect").data(events.length ? [w] : []).join("rect")
      .attr("x", (d) => x(d.from_ms)).attr("width", (d) => Math.max(1, x(d.to_ms) - x(d.from_ms)))
      .attr("y", bottom).attr("height", 4).attr("fill", "#1f77b4");
    gOps.selectAll("rect").data(D.ops).join("rect")
      .attr("x", (o) => x(o.t0))
      .attr("width", (o) => Math.max(1.5, x(o.t1 == null ? r.end_ms : o.t1) - x(o.t0)))
      .attr("y", (o) => lane(o.client)).attr("height", lane.bandwidth())
      .attr("fill", (o) => outcomeColour(o.outcome))
      .attr("stroke", (o) => o.cited ? "#c62828" : null).attr("stroke-width", (o) => o.cited ? 2.5 : null)
      .on("click", (ev, o) => { showOp(o); moveToTime(o.t0); ev.stopPropagation(); })
      .selectAll("title").data((o) => [o]).join("title")
      .text((o) => `client ${o.client} ${o.f} (${o.outcome}) ${fmt(o.t0)} → ${fmt(o.t1)}`);
    gMarks.selectAll("g").data(D.marks).join((e) => {
      const g = e.append("g");
      g.append("line").attr("stroke", "#555").attr("stroke-dasharray", "3,3");
      g.append("text").attr("class", "mark-label");
      g.append("title");
      return g;
    }).each(function (m) {
      const g = d3.select(this);
      g.select("line").attr("x1", x(m.at_ms)).attr("x2", x(m.at_ms)).attr("y1", top - 2).attr("y2", bottom);
    });
    // Labels in up to four rows, each on the first row where it does not run into the one
    // before; a label with no room is left out (its line keeps it as a tooltip; zoom in to see it).
    const rowsEnd = [];
    gMarks.selectAll("g").each(function (m) {
      const px = x(m.at_ms) + 2, width = 6 * m.label.length;
      let row = rowsEnd.findIndex((end) => end < px);
      if (row < 0 && rowsEnd.length < 4) { row = rowsEnd.length; rowsEnd.push(0); }
      if (row >= 0) rowsEnd[row] = px + width;
      const g = d3.select(this);
      g.select("text").attr("x", px).attr("y", bottom - 3 - 11 * Math.max(row, 0)).text(row >= 0 ? m.label : "");
      g.select("title").text(`${m.label} at ${fmt(m.at_ms)}`);
    });
    drawCursor();
  }
  function drawCursor() {
    const top = margin.top - 16, bottom = tlHeight - margin.bottom;
    gCursor.selectAll("line").data([cursorMs]).join("line")
      .attr("x1", (t) => x(t)).attr("x2", (t) => x(t)).attr("y1", top).attr("y2", bottom)
      .attr("stroke", "#1f77b4").attr("stroke-width", 2);
    if (D.focus && D.focus.at_ms != null) {
      gCursor.selectAll("path").data([D.focus.at_ms]).join("path")
        .attr("d", (t) => `M${x(t) - 5},${top - 6}L${x(t) + 5},${top - 6}L${x(t)},${top + 2}Z`)
        .attr("fill", "#c62828").append("title").text("the failing check places its failure here");
    }
  }
  const zoom = d3.zoom().scaleExtent([1, 1e5]).on("zoom", (ev) => {
    x = ev.transform.rescaleX(x0);
    drawTimeline();
  });
  tl.call(zoom).on("dblclick.zoom", null);
  tl.on("click", (ev) => {
    const [px] = d3.pointer(ev);
    if (px >= margin.left) moveToTime(x.invert(px));
  });
  function showOp(o) {
    document.getElementById("op-detail").textContent =
      `client ${o.client}, history lines ${o.lines.join("–")}: ${o.f} invoked at ${fmt(o.t0)}` +
      `, ${o.t1 == null ? "never completed" : "completed at " + fmt(o.t1)} (${o.outcome})\n` +
      `  call:   ${o.call}\n  answer: ${o.answer == null ? "—" : o.answer}`;
  }

  // ---- step-through -----------------------------------------------------------------------
  const slider = document.getElementById("slider");
  slider.max = Math.max(0, events.length - 1);
  const kinds = [...new Set(events.map((e) => e[3]))].sort();
  const kindSel = d3.select("#kind-filter");
  for (const k of kinds) kindSel.append("option").attr("value", k).text(k + " events only");

  // Every node's status after event `pos`: the window's starting state with the changes up to it.
  function statusAt(pos) {
    const s = D.base.map((b) => b.slice());
    if (!events.length) return s;
    const upto = events[pos][0];
    for (const [index, node, status] of changes) {
      if (index > upto) break;
      s[node] = status;
    }
    return s;
  }
  function moveToTime(t) {
    if (!events.length) { cursorMs = t; drawCursor(); return; }
    const i = d3.bisector((e) => e[1]).left(events, t);
    if (t < events[0][1] || t > events[events.length - 1][1]) {
      cursorMs = t;
      drawCursor();
      document.getElementById("event").textContent =
        `${fmt(t)} is outside the recorded window (${fmt(w.from_ms)} to ${fmt(w.to_ms)}): ` +
        `record it with --page-at ${Math.round(t)}`;
      return;
    }
    go(Math.min(i, events.length - 1));
  }
  function step(n) {
    const k = kindSel.property("value");
    if (!k || Math.abs(n) >= events.length) return go(cursor + n);
    let pos = cursor, left = Math.abs(n);
    const dir = Math.sign(n);
    while (left > 0) {
      let p = pos + dir;
      while (p >= 0 && p < events.length && events[p][3] !== k) p += dir;
      if (p < 0 || p >= events.length) break;
      pos = p;
      left--;
    }
    go(pos);
  }
  let previous = null;
  function go(pos) {
    if (!events.length) return;
    cursor = Math.max(0, Math.min(events.length - 1, pos));
    const e = events[cursor];
    cursorMs = e[1];
    slider.value = cursor;
    document.body.dataset.step = String(cursor);
    document.getElementById("event").textContent =
      `event ${cursor + 1} of ${events.length} in the window (trace line ${e[0] + 1}) at ${fmt(e[1])}` +
      ` on ${nodeName(e[2])}: ${e[3]} ${e[4]}`;
    const status = statusAt(cursor);
    const rep = [], cli = [];
    status.forEach((s, i) => (D.nodes[i].replica ? rep : cli).push([i, s]));
    const cells = (i, s) => D.nodes[i].replica
      ? (s.length === 4 ? s : [s[0], "", "", ""])
      : [D.nodes[i].label, s[0] || ""];
    const fill = (sel, rows) => {
      const tr = d3.select(sel).select("tbody").selectAll("tr").data(rows).join("tr")
        .attr("class", ([, s]) => (s[0] === "down" ? "down" : ""));
      tr.selectAll("td").data(([i, s]) => [[i, -1, D.nodes[i].name]].concat(cells(i, s).map((c, k) => [i, k, c])))
        .join("td").text((d) => d[2])
        .classed("changed", (d) => d[1] >= 0 && previous && previous[d[0]] &&
          cells(d[0], previous[d[0]])[d[1]] !== d[2]);
    };
    fill("#replicas", rep);
    fill("#clients", cli);
    previous = status;
    const lo = Math.max(0, cursor - 12), hi = Math.min(events.length, cursor + 13);
    d3.select("#events tbody").selectAll("tr").data(events.slice(lo, hi).map((e, k) => [lo + k, e]))
      .join("tr").attr("class", ([p]) => (p === cursor ? "current" : ""))
      .on("click", (ev, [p]) => go(p))
      .selectAll("td").data(([, e]) => [e[1].toFixed(3), nodeName(e[2]), e[3], e[4]]).join("td").text((d) => d)
      .attr("title", (d) => d);
    drawCursor();
    drawSpacetime();
  }
  d3.selectAll("#stepper button").on("click", function () { step(+this.dataset.step); });
  slider.addEventListener("input", () => go(+slider.value));
  document.getElementById("go-focus").addEventListener("click", goFocus);
  function goFocus() {
    if (D.focus && D.focus.at_ms != null) moveToTime(D.focus.at_ms);
  }
  function onKey(key, shift) {
    const moves = { ArrowRight: 1, ArrowLeft: -1, PageDown: 100, PageUp: -100, End: 1e9, Home: -1e9 };
    if (key === "f") return goFocus(), true;
    if (!(key in moves)) return false;
    step(moves[key] * (shift && Math.abs(moves[key]) === 1 ? 10 : 1));
    return true;
  }
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" && ev.target.type !== "range") return;
    if (onKey(ev.key, ev.shiftKey)) ev.preventDefault();
  });

  // ---- space–time diagram -----------------------------------------------------------------
  const st = d3.select("#spacetime");
  const gst = st.append("g");
  d3.select("#span").on("change", drawSpacetime);
  function drawSpacetime() {
    const W = st.node().getBoundingClientRect().width || 1200, H = 560;
    const span = +d3.select("#span").property("value");
    const t0 = cursorMs - span, t1 = cursorMs + span;
    const xs = d3.scalePoint().domain(D.nodes.map((n, i) => i)).range([60, W - 40]);
    const ys = d3.scaleLinear().domain([t0, t1]).range([30, H - 10]);
    gst.selectAll("*").remove();
    gst.selectAll("line.lane").data(D.nodes).join("line").attr("class", "lane")
      .attr("x1", (n, i) => xs(i)).attr("x2", (n, i) => xs(i)).attr("y1", 24).attr("y2", H - 10)
      .attr("stroke", (n) => (n.replica ? "#333" : "#aaa"));
    gst.selectAll("text.node").data(D.nodes).join("text").attr("class", "lane-label")
      .attr("x", (n, i) => xs(i)).attr("y", 14).attr("text-anchor", "middle")
      .text((n) => (n.replica ? n.name : n.name + " (c" + n.label.replace("client ", "") + ")"));
    gst.append("g").attr("transform", "translate(55,0)").call(d3.axisLeft(ys).ticks(8).tickFormat((v) => v.toFixed(1)));
    const msgs = D.messages.filter((m) => m[3] <= t1 && (m[4] == null ? m[3] : m[4]) >= t0);
    const shown = msgs.slice(0, 1500);
    gst.append("defs").html('<marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L8,4L0,8Z" fill="#1f77b4"/></marker>');
    gst.selectAll("line.msg").data(shown).join("line").attr("class", "msg")
      .attr("x1", (m) => xs(m[0])).attr("y1", (m) => ys(m[3]))
      .attr("x2", (m) => (m[4] == null ? (xs(m[0]) + xs(m[1])) / 2 : xs(m[1])))
      .attr("y2", (m) => ys(m[4] == null ? m[3] + span / 20 : m[4]))
      .attr("stroke", (m) => (m[5] ? "#c62828" : "#1f77b4")).attr("stroke-width", 1)
      .attr("stroke-dasharray", (m) => (m[5] ? "4,3" : null))
      .attr("marker-end", (m) => (m[5] ? null : "url(#arrow)"))
      .append("title").text((m) => `${nodeName(m[0])} → ${nodeName(m[1])} ${m[2]}, sent ${fmt(m[3])}` +
        (m[5] ? `, lost (${m[5]})` : m[4] == null ? ", not delivered by the run's end" : `, received ${fmt(m[4])}`));
    gst.selectAll("text.msg").data(shown.filter((m) => m[4] != null && Math.abs(ys(m[4]) - ys(m[3])) > 14))
      .join("text").attr("class", "mark-label")
      .attr("x", (m) => (xs(m[0]) + xs(m[1])) / 2).attr("y", (m) => (ys(m[3]) + ys(m[4])) / 2 - 2)
      .attr("text-anchor", "middle").text((m) => m[2]);
    const here = events.filter((e) => e[1] >= t0 && e[1] <= t1 && e[2] >= 0);
    gst.selectAll("circle").data(here.slice(0, 3000)).join("circle")
      .attr("cx", (e) => xs(e[2])).attr("cy", (e) => ys(e[1])).attr("r", 2.5)
      .attr("fill", (e) => (e[3] === "nemesis" ? "#d62728" : e[3] === "observe" ? "#2ca02c" : "#555"))
      .append("title").text((e) => `${e[1].toFixed(3)} ${nodeName(e[2])} ${e[3]} ${e[4]}`);
    gst.append("line").attr("x1", 40).attr("x2", W - 10).attr("y1", ys(cursorMs)).attr("y2", ys(cursorMs))
      .attr("stroke", "#1f77b4").attr("stroke-width", 2).attr("opacity", 0.5);
    if (msgs.length > shown.length) {
      gst.append("text").attr("x", W - 40).attr("y", H - 14).attr("text-anchor", "end")
        .text(`${shown.length} of ${msgs.length} messages shown: narrow the span`);
    }
    if (!events.length) {
      gst.append("text").attr("x", 70).attr("y", 60).text("no events were recorded for this page");
    }
  }

  // ---- start ------------------------------------------------------------------------------
  drawTimeline();
  window.addEventListener("resize", () => { drawTimeline(); drawSpacetime(); });
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.has("step")) go(+hash.get("step"));
  else if (D.focus && D.focus.at_ms != null && events.length) goFocus();
  else go(0);
  for (const key of (hash.get("keys") || "").split(",").filter(Boolean)) onKey(key, false);
  if (!events.length) drawSpacetime();
  document.body.dataset.ready = "yes";
})();

// The comparison page: compare.json (embedded as #data) drawn as a table and charts with d3.
// Everything comes from the embedded data; nothing is fetched.
"use strict";
(function () {
  const report = JSON.parse(document.getElementById("data").textContent);
  const configs = report.configurations;
  const fmt = (v, digits) => (v === null || v === undefined ? "–" : d3.format(digits || ".3~r")(v));
  const colour = d3.scaleOrdinal(d3.schemeTableau10.concat(["#1e1ed2", "#005a32", "#d228d2", "#6414a0"]))
    .domain(configs.map((c) => c.name));

  document.getElementById("title").textContent =
    `zksim compare: ${configs.length} configurations, seeds ${report.seeds.start}..${report.seeds.end}`;
  document.getElementById("about").textContent = `Spread: ${report.spread}.`;

  // ---- the table ----
  const spread = (s) => (s ? { v: fmt(s.median), iv: `${fmt(s.p2_5)} – ${fmt(s.p97_5)}` } : null);
  const columns = [
    ["configuration", (c) => ({ v: c.name })],
    ["pass/fail/unkn", (c) => ({ v: `${c.pass}/${c.fail}/${c.unknown}`, bad: c.fail + c.unknown > 0 })],
    ["w p50", (c) => spread(c.write_latency_ms.p50)],
    ["w p99", (c) => spread(c.write_latency_ms.p99)],
    ["r p50", (c) => spread(c.read_latency_ms.p50)],
    ["r p99", (c) => spread(c.read_latency_ms.p99)],
    ["ops/s", (c) => spread(c.throughput_ops_per_s)],
    ["given up", (c) => spread(c.given_up_per_run)],
    ["msg/entry", (c) => (c.write_cost ? spread(c.write_cost.messages_per_entry) : null)],
    ["theory", (c) => (c.write_cost ? { v: `${c.write_cost.theory_messages}`, iv: c.write_cost.formula } : null)],
    ["all msg/txn", (c) => (c.write_cost ? spread(c.write_cost.all_messages_per_txn) : null)],
    ["B/txn", (c) => (c.write_cost ? spread(c.write_cost.bytes_per_txn) : null)],
    ["elections", (c) => spread(c.elections)],
    ["lost", (c) => ({ v: c.unavailability.losses, iv: `${c.unavailability.crashes} crashed` })],
    ["→leader", (c) => spread(c.unavailability.to_leader_ms)],
    ["→write", (c) => spread(c.unavailability.to_write_ms)],
  ];
  const table = d3.select("#figures");
  table.append("thead").append("tr").selectAll("th").data(columns).join("th").text((d) => d[0]);
  table.append("tbody").selectAll("tr").data(configs).join("tr")
    .selectAll("td").data((c) => columns.map((col) => col[1](c))).join("td")
    .classed("bad", (d) => d && d.bad)
    .each(function (d) {
      const td = d3.select(this);
      if (!d) { td.text("–"); return; }
      td.append("span").text(d.v);
      if (d.iv) td.append("span").attr("class", "iv").text(d.iv);
    });
  document.getElementById("figures-note").textContent =
    "w/r p50, p99: write and read latency in ms of operations answered ok, per seed then over seeds. ops/s: answered operations per second. Given up: operations per run that ended in info (timeout, connection loss). " +
    "msg/entry, theory, all msg/txn, B/txn: see the chart below (B/txn: write-path bytes per transaction). Elections: leaders established per run; lost: leaderships lost over every seed. " +
    "Write-path messages: the kinds the protocol's theory counts, per committed log entry (a transaction, or a no-op such as Paxos's sync barrier). " +
    "→ leader, → write: in each seed, the longest time from a lost leader to the next established leader, and to the first write a client had answered under it.";

  // ---- latency CDFs ----
  const scenarios = Array.from(new Set(configs.map((c) => c.scenario)));
  const pick = d3.select("#cdf-scenario");
  pick.selectAll("option").data(["every scenario"].concat(scenarios)).join("option")
    .attr("value", (d, i) => (i === 0 ? "" : d)).text((d) => d);
  const hidden = new Set();
  function drawCdf() {
    const cls = document.getElementById("cdf-class").value;
    const scen = pick.property("value");
    const shown = configs.filter((c) => !scen || c.scenario === scen);
    const key = cls === "write" ? "write_latency_cdf_ms" : "read_latency_cdf_ms";
    const svg = d3.select("#cdf");
    svg.selectAll("*").remove();
    const width = svg.node().clientWidth || 900, height = 460;
    const m = { top: 10, right: 20, bottom: 46, left: 64 };
    const all = shown.flatMap((c) => c[key].map((p) => p[1])).filter((v) => v > 0);
    const x = d3.scaleLog().domain([Math.max(d3.min(all) || 0.1, 0.05), d3.max(all) || 1]).nice()
      .range([m.left, width - m.right]);
    const y = d3.scaleLinear().domain([0, 1]).range([height - m.bottom, m.top]);
    svg.append("g").attr("class", "grid").attr("transform", `translate(0,${height - m.bottom})`)
      .call(d3.axisBottom(x).ticks(10).tickSize(-(height - m.top - m.bottom)).tickFormat(""));
    svg.append("g").attr("class", "grid").attr("transform", `translate(${m.left},0)`)
      .call(d3.axisLeft(y).tickValues([0.25, 0.5, 0.75, 0.9, 0.99]).tickSize(-(width - m.left - m.right)).tickFormat(""));
    svg.append("g").attr("class", "axis").attr("transform", `translate(0,${height - m.bottom})`)
      .call(d3.axisBottom(x).ticks(10, "~g"));
    svg.append("g").attr("class", "axis").attr("transform", `translate(${m.left},0)`)
      .call(d3.axisLeft(y).tickValues([0, 0.25, 0.5, 0.75, 0.9, 1]).tickFormat(d3.format(".0~%")));
    svg.append("text").attr("x", (m.left + width - m.right) / 2).attr("y", height - 8)
      .attr("text-anchor", "middle").text(`${cls} latency (ms, log scale)`);
    svg.append("text").attr("transform", `translate(16,${(height - m.bottom) / 2}) rotate(-90)`)
      .attr("text-anchor", "middle").text("fraction answered within");
    const line = d3.line().curve(d3.curveStepBefore).x((p) => x(Math.max(p[1], x.domain()[0]))).y((p) => y(p[0]));
    svg.append("g").selectAll("path").data(shown.filter((c) => !hidden.has(c.name) && c[key].length)).join("path")
      .attr("fill", "none").attr("stroke-width", 2).attr("stroke", (c) => colour(c.name))
      .attr("d", (c) => line(c[key]))
      .append("title").text((c) => c.name);
    const legend = d3.select("#cdf-legend");
    legend.selectAll("div").data(shown, (c) => c.name).join("div")
      .classed("off", (c) => hidden.has(c.name))
      .html("")
      .on("click", (e, c) => { hidden.has(c.name) ? hidden.delete(c.name) : hidden.add(c.name); drawCdf(); })
      .call((div) => {
        div.append("span").attr("class", "swatch").style("background", (c) => colour(c.name));
        div.append("span").text((c) => c.name);
      });
  }
  d3.select("#cdf-class").on("change", drawCdf);
  pick.on("change", drawCdf);
  drawCdf();

  // ---- unavailability strips ----
  (function () {
    // Crashes only: a crash is timed from the crash; other losses from when the protocol noticed.
    const crashesOf = (c) => c.unavailability.windows.filter((w) => w.crashed);
    const lost = configs.filter((c) => crashesOf(c).length);
    const svg = d3.select("#strips");
    const others = d3.sum(configs, (c) => c.unavailability.losses - c.unavailability.crashes);
    const otherNote = others ? ` ${others} leaderships lost otherwise (stepped down, lost its quorum) are timed from when the protocol noticed, not drawn here; see the table and compare.json.` : "";
    if (!lost.length) {
      svg.attr("height", 0);
      document.getElementById("strips-note").textContent = "No leader crashed." + otherNote;
      return;
    }
    const width = Math.max(900, 120 * lost.length + 120), height = 420;
    svg.attr("width", width).attr("height", height);
    const m = { top: 30, right: 20, bottom: 110, left: 64 };
    const x = d3.scaleBand().domain(lost.map((c) => c.name)).range([m.left, width - m.right]).padding(0.15);
    const vals = lost.flatMap((c) => crashesOf(c).flatMap((w) => [w.to_leader_ms, w.to_write_ms])).filter((v) => v !== null);
    const y = d3.scaleLinear().domain([0, d3.max(vals) * 1.08]).nice().range([height - m.bottom, m.top]);
    svg.append("g").attr("class", "grid").attr("transform", `translate(${m.left},0)`)
      .call(d3.axisLeft(y).tickSize(-(width - m.left - m.right)).tickFormat(""));
    svg.append("g").attr("class", "axis").attr("transform", `translate(${m.left},0)`).call(d3.axisLeft(y));
    svg.append("g").attr("class", "axis").attr("transform", `translate(0,${height - m.bottom})`).call(d3.axisBottom(x))
      .selectAll("text").attr("transform", "rotate(-25)").attr("text-anchor", "end");
    svg.append("text").attr("transform", `translate(16,${(height - m.bottom) / 2}) rotate(-90)`)
      .attr("text-anchor", "middle").text("ms after the leader was lost");
    const kinds = [["to_leader_ms", "#1f77b4", "to a new established leader", 0.3], ["to_write_ms", "#ff7f0e", "to the first write answered under it", 0.7]];
    kinds.forEach(([k, c, label], i) => {
      const g = svg.append("g").attr("transform", `translate(${m.left + 10 + i * 260},14)`);
      g.append("circle").attr("r", 6).attr("fill", c);
      g.append("text").attr("x", 12).attr("dy", "0.35em").text(label);
    });
    const golden = 0.61803398875;
    for (const c of lost) {
      for (const [k, col, , at] of kinds) {
        const cx = x(c.name) + x.bandwidth() * at;
        const vs = crashesOf(c).map((w) => [w[k], w]).filter((p) => p[0] !== null);
        svg.append("g").selectAll("circle").data(vs).join("circle")
          .attr("cx", (p, i) => cx + ((i * golden) % 1 - 0.5) * x.bandwidth() * 0.28)
          .attr("cy", (p) => y(p[0])).attr("r", 3.5).attr("fill", col).attr("fill-opacity", 0.55)
          .append("title").text((p) => `seed ${p[1].seed}: ${fmt(p[0])} ms${p[1].crashed ? " (leader crashed)" : ""}`);
        const med = d3.median(vs, (p) => p[0]);
        if (med !== undefined) {
          svg.append("line").attr("x1", cx - x.bandwidth() * 0.18).attr("x2", cx + x.bandwidth() * 0.18)
            .attr("y1", y(med)).attr("y2", y(med)).attr("stroke", "#222").attr("stroke-width", 3);
          svg.append("text").attr("x", cx + x.bandwidth() * 0.19).attr("y", y(med)).attr("dy", "0.35em")
            .attr("font-size", 11).text(fmt(med));
        }
      }
    }
    const unrecovered = d3.sum(lost, (c) => crashesOf(c).filter((w) => w.to_leader_ms === null).length);
    document.getElementById("strips-note").textContent =
      `${d3.sum(lost, (c) => c.unavailability.crashes)} leader crashes over every seed, each timed from the crash.` +
      (unrecovered ? ` ${unrecovered} with no new leader before the run ended (not drawn).` : "") + otherNote;
  })();

  // ---- messages per write against theory ----
  (function () {
    const rows = configs.filter((c) => c.write_cost && c.write_cost.messages_per_entry);
    const svg = d3.select("#cost");
    const row = 34, m = { top: 10, right: 260, bottom: 40, left: 260 };
    const width = 1100, height = m.top + m.bottom + row * rows.length;
    svg.attr("width", width).attr("height", height);
    const top = d3.max(rows, (c) => Math.max(c.write_cost.all_messages_per_txn ? c.write_cost.all_messages_per_txn.median : 0,
      c.write_cost.messages_per_entry.p97_5, c.write_cost.theory_messages)) || 1;
    const x = d3.scaleLinear().domain([0, top * 1.05]).nice().range([m.left, width - m.right]);
    const y = d3.scaleBand().domain(rows.map((c) => c.name)).range([m.top, height - m.bottom]).padding(0.12);
    svg.append("g").attr("class", "grid").attr("transform", `translate(0,${height - m.bottom})`)
      .call(d3.axisBottom(x).tickSize(-(height - m.top - m.bottom)).tickFormat(""));
    svg.append("g").attr("class", "axis").attr("transform", `translate(0,${height - m.bottom})`).call(d3.axisBottom(x));
    svg.append("g").attr("class", "axis").attr("transform", `translate(${m.left},0)`).call(d3.axisLeft(y));
    svg.append("text").attr("x", (m.left + width - m.right) / 2).attr("y", height - 6).attr("text-anchor", "middle")
      .text("replica messages per committed write");
    for (const c of rows) {
      const w = c.write_cost, y0 = y(c.name), h = y.bandwidth();
      if (w.all_messages_per_txn) {
        svg.append("rect").attr("x", x(0)).attr("y", y0).attr("height", h)
          .attr("width", x(w.all_messages_per_txn.median) - x(0)).attr("fill", "#bed0e4")
          .append("title").text(`every replica message: ${fmt(w.all_messages_per_txn.median)} per transaction`);
      }
      const e = w.messages_per_entry;
      svg.append("rect").attr("x", x(0)).attr("y", y0 + h * 0.22).attr("height", h * 0.56)
        .attr("width", x(e.median) - x(0)).attr("fill", "#4678b4")
        .append("title").text(`${w.kinds.join(" + ")}: ${fmt(e.median)} per entry [${fmt(e.p2_5)} – ${fmt(e.p97_5)}]`);
      svg.append("line").attr("x1", x(e.p2_5)).attr("x2", x(e.p97_5)).attr("y1", y0 + h / 2).attr("y2", y0 + h / 2)
        .attr("stroke", "#000").attr("stroke-width", 2);
      svg.append("line").attr("x1", x(w.theory_messages)).attr("x2", x(w.theory_messages)).attr("y1", y0 - 2).attr("y2", y0 + h + 2)
        .attr("stroke", "#000").attr("stroke-width", 3);
      const right = Math.max(w.all_messages_per_txn ? w.all_messages_per_txn.median : 0, w.theory_messages, e.p97_5);
      svg.append("text").attr("x", x(right) + 6).attr("y", y0 + h / 2).attr("dy", "0.35em").attr("font-size", 12)
        .text(`${fmt(e.median)} vs theory ${w.formula} = ${w.theory_messages}`);
    }
  })();

  // ---- pass/fail matrix ----
  (function () {
    const rowKey = (c) => `${c.protocol} ${c.variant}`;
    const rowNames = Array.from(new Set(configs.map(rowKey)));
    const table = d3.select("#matrix");
    table.append("thead").append("tr").selectAll("th").data(["protocol variant"].concat(scenarios)).join("th").text((d) => d);
    const body = table.append("tbody");
    for (const r of rowNames) {
      const tr = body.append("tr");
      tr.append("td").text(r);
      for (const s of scenarios) {
        const c = configs.find((c) => rowKey(c) === r && c.scenario === s);
        const td = tr.append("td");
        if (!c) { td.text("–"); continue; }
        const bad = c.fail + c.unknown;
        td.attr("class", c.fail ? "fail" : c.unknown ? "unknown" : "pass");
        td.append("span").text(`${bad} / ${c.seeds}`);
        if (c.first_failing_seed !== null) {
          td.append("small").text(`first: seed ${c.first_failing_seed} (after ${c.seeds_to_first_failure} seeds)`);
        }
        const checks = Object.entries(c.failed_checks).map(([k, n]) => `${k} ×${n}`).join(", ");
        if (checks) td.append("small").text(checks);
      }
    }
    const failing = configs.filter((c) => c.failing_seeds.length);
    const box = d3.select("#failures");
    if (failing.length) {
      box.append("h3").text("Replay the first failing seeds");
      box.append("pre").text(failing.map((c) => `# ${c.name}\n` + c.failing_seeds.join("\n")).join("\n"));
    } else {
      box.append("p").attr("class", "note").text("Every seed of every configuration passed every check.");
    }
  })();

  d3.select("#coincidence").selectAll("li").data(report.coincidence).join("li").text((d) => d);
})();

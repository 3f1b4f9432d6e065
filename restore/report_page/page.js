/* The report's timeline as SVG: a row per step, its operations in rows below it; hovering
   (or focusing) a bar shows its details and ARM requests. Reads the embedded report. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var WIDTH = 1200, LABEL = 330, RIGHT = 44, TOP = 26, STEP_ROW = 24, OP_ROW = 17;
  var chart = document.getElementById("timeline");
  var tooltip = document.getElementById("tooltip");
  var data;
  try {
    data = JSON.parse(document.getElementById("report-data").textContent);
  } catch (e) {
    chart.textContent = "The timeline cannot be drawn: the page's report data is unreadable.";
    return;
  }
  var report = data.report, config = data.config;

  function clock(seconds) {
    var whole = Math.round(seconds);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return Math.floor(whole / 3600) + ":" + pad(Math.floor(whole % 3600 / 60)) + ":" +
      pad(whole % 60);
  }

  function seconds(value) {
    return clock(value) + " (" + value.toFixed(1) + " s" + (config.simulated ? " simulated" : "") + ")";
  }

  function lastPart(armId) {
    var parts = String(armId || "").split("/");
    return parts[parts.length - 1];
  }

  function svg(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function text(content, attrs, parent) {
    var node = svg("text", attrs, parent);
    node.textContent = content;
    return node;
  }

  /* Each step with its operations (in the report's order); operations of a step the
     report does not list (none expected) get a group of their own, with no step bar. */
  function groups() {
    var byStep = {}, order = [];
    report.steps.forEach(function (step, i) {
      var group = {step: step, name: step.name, colour: config.palette[i % config.palette.length], ops: []};
      byStep[step.name] = byStep[step.name] || group;
      order.push(group);
    });
    report.operations.forEach(function (op, i) {
      var group = byStep[op.step];
      if (!group) {
        group = byStep[op.step] = {step: null, name: op.step, colour: "#6e7781", ops: []};
        order.push(group);
      }
      group.ops.push({op: op, index: i});
    });
    return order;
  }

  /* What a bar's tooltip says: a title, facts, and the ARM requests it made. */
  function describe(kind, item, opsCount) {
    var facts = [];
    if (kind === "operation") {
      facts.push(["step", item.step], ["resource", item.resource]);
    }
    facts.push(["start", seconds(item.start_s)], ["end", seconds(item.end_s)],
               ["duration", (item.end_s - item.start_s).toFixed(1) + " s"],
               ["status", item.status], ["attempts", String(item.attempts)]);
    if (kind === "step") {
      facts.push(["retries", String(item.retries || 0)], ["operations", String(opsCount)]);
    } else {
      if (item.retry_wait_s) { facts.push(["waited", item.retry_wait_s.toFixed(1) + " s before retries"]); }
      if (item.errors && item.errors.length) { facts.push(["errors", item.errors.join(", ")]); }
      if (item.error_code && item.status !== "succeeded") { facts.push(["error", item.error_code]); }
    }
    return {title: kind === "step" ? "step " + item.name : item.step + " / " + item.op,
            facts: facts, requests: item.arm_requests || null};
  }

  function plainText(described) {
    var lines = [described.title];
    described.facts.forEach(function (fact) { lines.push(fact[0] + ": " + fact[1]); });
    if (described.requests) {
      lines.push("ARM requests (" + described.requests.length + "):");
      described.requests.forEach(function (request) { lines.push("  " + request); });
    }
    return lines.join("\n");
  }

  function showTooltip(described, x, y) {
    tooltip.textContent = "";
    var title = document.createElement("h3");
    title.textContent = described.title;
    var list = document.createElement("dl");
    described.facts.forEach(function (fact) {
      var term = document.createElement("dt"), value = document.createElement("dd");
      term.textContent = fact[0];
      value.textContent = fact[1];
      list.appendChild(term);
      list.appendChild(value);
    });
    tooltip.appendChild(title);
    tooltip.appendChild(list);
    if (described.requests) {
      var heading = document.createElement("h3"), requests = document.createElement("ol");
      heading.textContent = "ARM requests (" + described.requests.length + ")";
      described.requests.forEach(function (request) {
        var line = document.createElement("li");
        line.textContent = request;
        requests.appendChild(line);
      });
      tooltip.appendChild(heading);
      tooltip.appendChild(requests);
    }
    tooltip.hidden = false;
    var box = tooltip.getBoundingClientRect();
    tooltip.style.left = Math.max(4, Math.min(x + 14, window.innerWidth - box.width - 8)) + "px";
    tooltip.style.top = Math.max(4, Math.min(y + 14, window.innerHeight - box.height - 8)) + "px";
  }

  function hideTooltip() { tooltip.hidden = true; }

  function interactive(bar, described) {
    bar.setAttribute("data-tooltip", plainText(described));
    bar.setAttribute("tabindex", "0");
    bar.addEventListener("mouseover", function (event) {
      bar.classList.add("active");
      showTooltip(described, event.clientX, event.clientY);
    });
    bar.addEventListener("mouseout", function () { bar.classList.remove("active"); hideTooltip(); });
    bar.addEventListener("focus", function () {
      var box = bar.getBoundingClientRect();
      showTooltip(described, box.left, box.bottom);
    });
    bar.addEventListener("blur", hideTooltip);
  }

  function colourOf(status, colour) {
    return config.status_colours[status] || colour;
  }

  function tickStep(total) {
    var steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    for (var i = 0; i < steps.length; i++) {
      if (total / steps[i] <= 10) { return steps[i]; }
    }
    return Math.ceil(total / 10 / 86400) * 86400;
  }

  function axis(root, total, x, height) {
    var group = svg("g", {"class": "axis"}, root), step = tickStep(total);
    for (var t = 0; t <= total + 1e-9; t += step) {
      svg("line", {"class": "grid", x1: x(t), x2: x(t), y1: TOP - 6, y2: height}, group);
      text(clock(t), {x: x(t), y: TOP - 10, "text-anchor": "middle"}, group);
    }
  }

  function bar(root, item, y, rowHeight, fill, css) {
    var node = svg("rect", {"class": css, x: item.x, y: y + 3, width: item.width,
                            height: rowHeight - 6, fill: fill, rx: 2}, root);
    return node;
  }

  function draw() {
    var all = groups();
    if (!report.steps.length && !report.operations.length) {
      chart.textContent = "No steps ran: there is no timeline to draw.";
      return;
    }
    var ends = [report.duration_s || 0];
    report.steps.concat(report.operations).forEach(function (item) { ends.push(item.end_s); });
    var total = Math.max.apply(null, ends) || 1;
    var span = WIDTH - LABEL - RIGHT;
    var x = function (t) { return LABEL + t / total * span; };
    var place = function (item) {
      return {x: x(item.start_s), width: Math.max(2, (item.end_s - item.start_s) / total * span)};
    };
    var rows = 0;
    all.forEach(function (group) { rows += 1 + group.ops.length; });
    var height = TOP + all.length * STEP_ROW + (rows - all.length) * OP_ROW + 8;
    var root = svg("svg", {viewBox: "0 0 " + WIDTH + " " + height, width: WIDTH, height: height,
                           role: "img", "aria-label": "Timeline of " + report.steps.length +
                           " steps and " + report.operations.length + " operations"});
    axis(root, total, x, height);
    var y = TOP;
    all.forEach(function (group, g) {
      var rowsHeight = STEP_ROW + group.ops.length * OP_ROW;
      if (g % 2 === 0) { svg("rect", {"class": "band", x: 0, y: y, width: WIDTH, height: rowsHeight}, root); }
      var stepRow = svg("g", {"class": "row-step"}, root);
      text(group.name, {x: 6, y: y + STEP_ROW / 2 + 4}, stepRow);
      if (group.step) {
        var stepBar = bar(stepRow, place(group.step), y, STEP_ROW,
                          colourOf(group.step.status, group.colour), "bar step-bar");
        stepBar.setAttribute("data-step", group.step.name);
        stepBar.setAttribute("data-status", group.step.status);
        interactive(stepBar, describe("step", group.step, group.ops.length));
      }
      y += STEP_ROW;
      group.ops.forEach(function (entry) {
        var op = entry.op, row = svg("g", {"class": "row-op"}, root), at = place(op);
        var label = op.op + " " + lastPart(op.resource);
        text(label.length > 46 ? label.slice(0, 45) + "\u2026" : label, {x: 22, y: y + OP_ROW / 2 + 4}, row);
        var retried = op.attempts > 1;
        var opBar = bar(row, at, y, OP_ROW, colourOf(op.status, group.colour),
                        "bar op-bar" + (retried ? " retried" : ""));
        opBar.setAttribute("fill-opacity", config.status_colours[op.status] ? "1" : "0.62");
        opBar.setAttribute("data-op-index", String(entry.index));
        opBar.setAttribute("data-status", op.status);
        opBar.setAttribute("data-attempts", String(op.attempts));
        interactive(opBar, describe("operation", op));
        if (retried) {
          text("\u00d7" + op.attempts, {"class": "retry-mark", x: at.x + at.width + 4, y: y + OP_ROW / 2 + 4}, row);
        }
        y += OP_ROW;
      });
    });
    chart.textContent = "";
    chart.appendChild(root);
  }

  draw();
})();

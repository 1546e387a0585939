/* The service-level history page: the figures of GET /api/metrics/service-level for the
   chosen range, drawn with uPlot (the goal as a line) and listed; the CSV button is the
   same request with format=csv. */
(function () {
  "use strict";
  var H = window.Hotline, format = H.format;
  var form = document.getElementById("history-filters");
  var labels = JSON.parse(document.getElementById("history-labels").textContent);
  var goal = parseFloat(form.getAttribute("data-goal"));
  var chart = null;

  function isoDay(date) {
    // the date as the hotline's calendar shows it (en-CA writes YYYY-MM-DD)
    return date.toLocaleDateString("en-CA", { timeZone: H.timeZone });
  }

  function params() {
    var data = new FormData(form), query = new URLSearchParams();
    query.set("from", data.get("from") + "T00:00:00");
    query.set("to", data.get("to") + "T00:00:00");
    query.set("interval", data.get("interval"));
    if (data.get("queue")) query.set("queue", data.get("queue"));
    return query;
  }

  function cell(text, numeric) {
    var td = document.createElement("td");
    if (numeric) td.className = "num";
    td.textContent = text;
    return td;
  }

  function row(label, figures) {
    var tr = document.createElement("tr");
    tr.appendChild(cell(label));
    tr.appendChild(cell(format.number(figures.offered), true));
    tr.appendChild(cell(format.number(figures.answered), true));
    tr.appendChild(cell(format.number(figures.abandoned), true));
    var sl = cell(figures.sl == null ? "—" : format.percent(figures.sl / 100), true);
    sl.setAttribute("data-sl", figures.sl == null ? "" : figures.sl);
    if (figures.sl != null) sl.classList.add(figures.sl < goal ? "bad" : "ok");
    tr.appendChild(sl);
    tr.appendChild(cell(format.duration(figures.asa_s), true));
    tr.appendChild(cell(figures.abandon_rate == null ? "—" : format.percent(figures.abandon_rate / 100), true));
    tr.appendChild(cell(format.duration(figures.longest_wait_s), true));
    return tr;
  }

  function intervalLabel(start, interval) {
    var date = new Date(start);
    if (interval === "15m" || interval === "hour") return format.dateTime(date);
    return date.toLocaleDateString(H.lang, { timeZone: H.timeZone, dateStyle: "medium" });
  }

  function tickLabel(seconds, interval) {
    var date = new Date(seconds * 1000);
    var options = { timeZone: H.timeZone };
    if (interval === "15m" || interval === "hour") {
      options.hour = "2-digit";
      options.minute = "2-digit";
      return date.toLocaleTimeString(H.lang, options);
    }
    if (interval === "quarter") {
      options.month = "short";
      options.year = "numeric";
    } else {
      options.day = "numeric";
      options.month = "short";
    }
    return date.toLocaleDateString(H.lang, options);
  }

  function draw(body, queue) {
    var key = queue || "all";
    var xs = [], sls = [], goals = [], offered = [];
    var tbody = document.querySelector("#history-table tbody");
    var tfoot = document.querySelector("#history-table tfoot");
    tbody.textContent = "";
    tfoot.textContent = "";
    body.series.forEach(function (interval) {
      var figures = interval.queues[key];
      xs.push(Date.parse(interval.start) / 1000);
      sls.push(figures ? figures.sl : null);
      goals.push(goal);
      offered.push(figures ? figures.offered : 0);
      if (figures && figures.offered) {
        var tr = row(intervalLabel(interval.start, body.interval), figures);
        tr.setAttribute("data-start", interval.start);
        tbody.appendChild(tr);
      }
    });
    if (body.total[key]) tfoot.appendChild(row(labels.total, body.total[key]));
    if (!tbody.children.length) {
      var empty = document.createElement("tr");
      var td = cell(labels.empty);
      td.colSpan = 8;
      empty.appendChild(td);
      tbody.appendChild(empty);
    }
    var target = document.getElementById("history-chart");
    if (chart) chart.destroy();
    var width = Math.max(target.clientWidth, 320);
    chart = new uPlot({
      width: width,
      height: 320,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), H.timeZone); },
      scales: { "%": { range: [0, 100] }, n: { range: function (u, lo, hi) { return [0, Math.max(hi, 1)]; } } },
      axes: [
        { values: function (u, splits) { return splits.map(function (v) { return tickLabel(v, body.interval); }); } },
        { scale: "%", label: "%" },
        { scale: "n", side: 1, grid: { show: false } },
      ],
      series: [
        { label: labels.time, value: function (u, v) { return v == null ? "—" : intervalLabel(v * 1000, body.interval); } },
        { label: labels.sl, scale: "%", stroke: "#1d4ed8", width: 2, spanGaps: false, points: { show: xs.length < 60 } },
        { label: labels.goal, scale: "%", stroke: "#b91c1c", dash: [6, 4], width: 1.5, points: { show: false } },
        { label: labels.offered, scale: "n", stroke: "#9ca3af", fill: "rgba(156,163,175,.15)", paths: uPlot.paths.bars({ size: [0.6] }), points: { show: false } },
      ],
    }, [xs, sls, goals, offered], target);
    target.setAttribute("data-points", xs.length);
  }

  function fillQueues(queues) {
    var select = form.querySelector('[name="queue"]');
    var chosen = select.value;
    queues.forEach(function (name) {
      if (!select.querySelector('option[value="' + CSS.escape(name) + '"]')) {
        var option = document.createElement("option");
        option.value = option.textContent = name;
        select.appendChild(option);
      }
    });
    select.value = chosen;
  }

  function show() {
    var query = params(), error = document.getElementById("history-error");
    var csv = new URLSearchParams(query);
    csv.set("format", "csv");
    document.getElementById("history-csv").href = "/api/metrics/service-level?" + csv;
    error.hidden = true;
    return H.get("/api/metrics/service-level?" + query).then(function (body) {
      fillQueues(body.queues);
      draw(body, query.get("queue"));
    }).catch(function (exc) {
      error.textContent = Array.isArray(exc.detail) ? exc.detail.map(function (d) { return d.msg; }).join("; ") : exc.message;
      error.hidden = false;
    });
  }

  var today = new Date();
  form.elements.from.value = form.elements.from.value || isoDay(today);
  form.elements.to.value = form.elements.to.value || isoDay(new Date(today.getTime() + 86400000));
  form.addEventListener("submit", function (event) { event.preventDefault(); show(); });
  window.addEventListener("resize", function () {
    if (chart) chart.setSize({ width: Math.max(document.getElementById("history-chart").clientWidth, 320), height: 320 });
  });
  show();
})();

/* The agent report page: each agent's totals over the chosen days from GET
   /api/reports/agents (logged-in and paused time, pauses by reason, calls offered,
   answered and missed, talk and wrap-up, transfers, calls per day, occupancy); the CSV
   button is the same request with format=csv (a row per agent and day). */
(function () {
  "use strict";
  var H = window.Hotline, format = H.format;
  var form = document.getElementById("agent-filters");
  var labels = JSON.parse(document.getElementById("agents-labels").textContent);
  var table = document.getElementById("agents-table");

  function isoDay(date) { return date.toLocaleDateString("en-CA", { timeZone: H.timeZone }); }

  function params() {
    var data = new FormData(form), query = new URLSearchParams();
    query.set("from", data.get("from") + "T00:00:00");
    query.set("to", data.get("to") + "T00:00:00");
    query.set("interval", "day");
    if (data.get("agent")) query.set("agent", data.get("agent"));
    return query;
  }

  function cell(text, numeric) {
    var td = document.createElement("td");
    if (numeric) td.className = "num";
    td.textContent = text == null ? "" : text;
    return td;
  }

  function row(report) {
    var t = report.total, tr = document.createElement("tr");
    tr.setAttribute("data-agent", report.agent);
    tr.appendChild(cell(report.agent));
    tr.appendChild(cell(format.duration(t.logged_in_s), true));
    tr.appendChild(cell(format.duration(t.paused_s), true));
    tr.appendChild(cell(Object.keys(t.paused_by_reason).map(function (reason) {
      return (reason || labels.none) + " " + format.duration(t.paused_by_reason[reason]);
    }).join(", ")));
    tr.appendChild(cell(format.number(t.offered), true));
    tr.appendChild(cell(format.number(t.answered), true));
    tr.appendChild(cell(format.number(t.missed), true));
    tr.appendChild(cell(format.duration(t.talk_s), true));
    tr.appendChild(cell(format.duration(t.wrapup_s), true));
    tr.appendChild(cell(format.number(t.transfers), true));
    tr.appendChild(cell(format.number(t.contacts_per_day, 1), true));
    var occupancy = cell(t.occupancy == null ? "—" : format.percent(t.occupancy / 100), true);
    occupancy.setAttribute("data-occupancy", t.occupancy == null ? "" : t.occupancy);
    tr.appendChild(occupancy);
    return tr;
  }

  function show() {
    var query = params(), error = document.getElementById("agents-error");
    var csv = new URLSearchParams(query);
    csv.set("format", "csv");
    document.getElementById("agents-csv").href = "/api/reports/agents?" + csv;
    error.hidden = true;
    table.removeAttribute("data-loaded");
    return H.get("/api/reports/agents?" + query).then(function (body) {
      var tbody = table.querySelector("tbody");
      tbody.textContent = "";
      body.agents.forEach(function (report) { tbody.appendChild(row(report)); });
      if (!body.agents.length) {
        var tr = document.createElement("tr"), td = cell(labels.empty);
        td.colSpan = 12;
        tr.appendChild(td);
        tbody.appendChild(tr);
      }
      table.setAttribute("data-loaded", "yes");
    }).catch(function (exc) {
      error.textContent = Array.isArray(exc.detail) ? exc.detail.map(function (d) { return d.msg; }).join("; ") : exc.message;
      error.hidden = false;
      table.setAttribute("data-loaded", "error");
    });
  }

  var today = new Date();
  form.elements.from.value = form.elements.from.value || isoDay(new Date(today.getTime() - 6 * 86400000));
  form.elements.to.value = form.elements.to.value || isoDay(new Date(today.getTime() + 86400000));
  form.addEventListener("submit", function (event) { event.preventDefault(); show(); });
  show();
})();

/* Tickets at SLA risk: GET /api/sla/at-risk, the breached first, then by the share of the
   allowance used; refreshed every minute. */
(function () {
  "use strict";
  var H = window.Hotline, format = H.format;
  var labels = JSON.parse(document.getElementById("sla-labels").textContent);
  var tbody = document.querySelector("#sla-table tbody");

  function cell(text, numeric) {
    var td = document.createElement("td");
    if (numeric) td.className = "num";
    td.textContent = text == null ? "" : text;
    return td;
  }

  function load() {
    var error = document.getElementById("sla-error");
    return H.get("/api/sla/at-risk").then(function (tickets) {
      error.hidden = true;
      tickets.sort(function (a, b) {
        return (b.sla.breached - a.sla.breached) || ((b.sla.used_share || 0) - (a.sla.used_share || 0));
      });
      tbody.textContent = "";
      tickets.forEach(function (t) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-uin", t.uin);
        if (t.sla.breached) tr.className = "bad";
        tr.appendChild(cell(t.uin));
        tr.appendChild(cell(labels.statuses[t.status] || t.status));
        tr.appendChild(cell(labels.categories[t.category] || t.category));
        tr.appendChild(cell(t.priority, true));
        tr.appendChild(cell(t.line, true));
        tr.appendChild(cell(format.dateTime(t.sla.deadline)));
        tr.appendChild(cell(format.percent(t.sla.used_share, 0), true));
        tr.appendChild(cell(t.sla.breached ? labels.breached : (t.sla.paused ? labels.paused : labels.running)));
        tbody.appendChild(tr);
      });
      if (!tickets.length) {
        var tr = document.createElement("tr"), td = cell(labels.empty);
        td.colSpan = 8;
        tr.appendChild(td);
        tbody.appendChild(tr);
      }
      document.getElementById("sla-table").setAttribute("data-loaded", "yes");
    }).catch(function (exc) {
      error.textContent = exc.message;
      error.hidden = false;
    });
  }
  load();
  setInterval(load, 60000);
})();

/* The call log page: GET /api/calls with the form's filters, newest first, a page at a
   time (the keyset cursor); the CSV button is the same filters with format=csv. */
(function () {
  "use strict";
  var H = window.Hotline, format = H.format;
  var form = document.getElementById("call-filters");
  var labels = JSON.parse(document.getElementById("calls-labels").textContent);
  var tbody = document.querySelector("#calls-table tbody");
  var more = document.getElementById("calls-more");
  var cursor = null, shown = 0;

  function filters() {
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (value === "") return;
      // a datetime-local is the hotline's wall time: the API reads a naive time so
      query.set(name, value);
    });
    return query;
  }

  function cell(text, numeric) {
    var td = document.createElement("td");
    if (numeric) td.className = "num";
    td.textContent = text == null ? "" : text;
    return td;
  }

  function row(call) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-linkedid", call.linkedid);
    tr.appendChild(cell(format.dateTime(call.started_at)));
    var caller = call.caller_name && call.caller_number ? call.caller_name + " · " + call.caller_number : call.caller_name || call.caller_number || "";
    tr.appendChild(cell(caller));
    tr.appendChild(cell(call.uins.join(", ")));
    tr.appendChild(cell(call.queue_entries.map(function (e) { return e.queue; }).join(" → ")));
    tr.appendChild(cell(format.duration(call.wait_s), true));
    tr.appendChild(cell(call.agents.join(" → ")));
    var outcome = cell(labels.outcomes[call.outcome] || call.outcome);
    outcome.setAttribute("data-outcome", call.outcome);
    tr.appendChild(outcome);
    tr.appendChild(cell(format.duration(call.talk_s), true));
    tr.appendChild(cell(call.transfer_count, true));
    var survey = call.survey ? [call.survey.solved == null ? "" : (call.survey.solved ? labels.solved : labels.unsolved), call.survey.score == null ? "" : call.survey.score + "/5"].filter(Boolean).join(", ") : "";
    tr.appendChild(cell(survey));
    return tr;
  }

  function load(fresh) {
    var query = filters(), error = document.getElementById("calls-error");
    if (fresh) {
      cursor = null;
      shown = 0;
      var csv = new URLSearchParams(query);
      csv.set("format", "csv");
      document.getElementById("calls-csv").href = "/api/calls?" + csv;
    }
    if (cursor) query.set("cursor", cursor);
    query.set("limit", "50");
    error.hidden = true;
    return H.get("/api/calls?" + query).then(function (page) {
      if (fresh) tbody.textContent = "";
      page.calls.forEach(function (call) { tbody.appendChild(row(call)); });
      shown += page.calls.length;
      if (!shown) {
        var td = cell(labels.empty);
        td.colSpan = 10;
        var tr = document.createElement("tr");
        tr.appendChild(td);
        tbody.appendChild(tr);
      }
      cursor = page.next_cursor;
      more.hidden = !cursor;
      document.getElementById("calls-count").textContent = shown + " " + labels.shown;
      document.getElementById("calls-table").setAttribute("data-loaded", "yes");
    }).catch(function (exc) {
      error.textContent = Array.isArray(exc.detail) ? exc.detail.map(function (d) { return (d.loc || []).slice(-1) + ": " + d.msg; }).join("; ") : exc.message;
      error.hidden = false;
      document.getElementById("calls-table").setAttribute("data-loaded", "error");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    document.getElementById("calls-table").removeAttribute("data-loaded");
    load(true);
  });
  more.addEventListener("click", function () { load(false); });
  load(true);
})();

// The agent desk (/desk): queue login and pause, the screen pop, the context form,
// transfers, the ticket's lifecycle and SLA clock, search and the agent's calls today.
// Plain browser JavaScript over the CRM's JSON API; the session cookie authenticates and
// every unsafe request carries the page's CSRF token. No framework, no build step.
"use strict";

(() => {
  const page = document.getElementById("desk");
  if (!page || !window.Hotline) return;
  const H = window.Hotline;
  const AGENT = page.dataset.agent;
  const TODAY_FROM = page.dataset.todayFrom;
  const TEXT = JSON.parse(document.getElementById("desk-text").textContent);
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  // -- helpers ----------------------------------------------------------------------------
  function t(key, values = {}) {
    let text = TEXT[key] || key;
    for (const [name, value] of Object.entries(values)) text = text.replace(`{${name}}`, value);
    return text;
  }

  // Dates, numbers and durations as every page shows them (hotline.js: the page's
  // language, the hotline's time zone).
  const when = (iso, full = false) => (iso ? (full ? H.format.dateTime(iso) : H.format.time(iso)) : "—");
  const number = (value) => H.format.number(value);
  const duration = (seconds) => H.format.duration(seconds);
  // Business time left, as hours and minutes ("41 h 05 min").
  function hoursMinutes(seconds) {
    const minutes = Math.max(0, Math.floor((seconds || 0) / 60));
    return t("hours_minutes", { h: number(Math.floor(minutes / 60)), m: String(minutes % 60).padStart(2, "0") });
  }

  // The API's `detail`: a string, or FastAPI's list of {loc, msg} (a 422 names the fields).
  function detailText(detail, status) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).slice(-1)[0]}: ${d.msg}`).join("; ");
    return `HTTP ${status}`;
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detailText(detail, status));
      this.status = status;
      this.detail = detail;
    }
  }

  // Hotline.api: the session's CSRF token on unsafe requests, a 401 back to the login
  // with the page's form input kept.
  async function api(method, path, body) {
    try {
      return await H.api(method, path, body);
    } catch (error) {
      if (error instanceof H.ApiError) throw new ApiError(error.status, error.detail);
      throw error;
    }
  }

  function say(element, message, kind = "info") {
    if (!element) return;
    element.textContent = message || "";
    element.dataset.kind = kind;
  }

  function fill(element, value) {
    if (element) element.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
  }

  // -- INN: the FNS check digits, as core/inn.py checks them --------------------------------
  function innProblem(value) {
    const inn = value.replace(/\s+/g, "");
    if (!inn) return t("inn_required");
    if (!/^\d{10}$|^\d{12}$/.test(inn)) return t("inn_length");
    const d = Array.from(inn, Number);
    const check = (weights) => (weights.reduce((sum, w, i) => sum + w * d[i], 0) % 11) % 10;
    if (inn.length === 10) return check([2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[9] ? null : t("inn_checksum");
    const ok = check([7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[10]
      && check([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[11];
    return ok ? null : t("inn_checksum");
  }

  // -- queue login and pause --------------------------------------------------------------
  const queue = {
    state: null,
    render(state) {
      this.state = state;
      const status = $("#queue-state");
      page.dataset.queue = !state.logged_in ? "out" : state.paused ? "paused" : "in";
      if (!state.logged_in) say(status, t("queue_out"));
      else if (state.paused) {
        const since = state.members[0] && state.members[0].paused_since;
        say(status, t("queue_paused", { reason: state.reason, since: when(since) }), "warn");
      } else say(status, t("queue_in", { queues: state.members.map((m) => m.queue).join(", ") }), "ok");
      $("#queue-toggle").textContent = state.logged_in ? t("leave_queue") : t("join_queue");
      $("#pause-button").disabled = !state.logged_in || state.paused;
      $("#pause-reason").disabled = !state.logged_in || state.paused;
      $("#unpause-button").disabled = !state.paused;
      const last = state.last_pop;
      if (last && last.linkedid && last.linkedid !== call.linkedid) restoreCall(last);
    },
    async load() {
      try { this.render(await api("GET", `/api/agents/${AGENT}/queue`)); }
      catch (error) { say($("#queue-error"), error.message, "error"); }
    },
    async send(path, body) {
      say($("#queue-error"), "");
      try { this.render(await api("POST", path, body)); }
      catch (error) { say($("#queue-error"), error.message, "error"); }
    },
  };
  $("#queue-toggle").addEventListener("click", () =>
    queue.send(`/api/agents/${AGENT}/queue`, { joined: !(queue.state && queue.state.logged_in) }));
  $("#pause-button").addEventListener("click", () =>
    queue.send(`/api/agents/${AGENT}/pause`, { paused: true, reason: $("#pause-reason").value }));
  $("#unpause-button").addEventListener("click", () =>
    queue.send(`/api/agents/${AGENT}/pause`, { paused: false }));

  // -- the call on the desk: screen pop, context, transfers ---------------------------------
  const call = { linkedid: "", uin: "", limit: 2, count: 0, attended: false, handedOver: false };
  const form = $("#context-form");
  const inn = $("#org_inn");

  function markInn() {
    const problem = innProblem(inn.value);
    const shown = problem && inn.value.trim() ? problem : "";
    inn.setAttribute("aria-invalid", shown ? "true" : "false");
    inn.classList.toggle("invalid", Boolean(shown));
    say($("#inn-error"), shown, "error");
    return problem;
  }
  inn.addEventListener("input", markInn);

  function contextFields() {
    return {
      summary: form.elements.summary.value.trim(),
      caller_full_name: form.elements.caller_full_name.value.trim(),
      org_inn: inn.value.replace(/\s+/g, ""),
    };
  }

  // Every field filled and the INN valid; else the fields are marked and nothing is sent.
  function contextReady() {
    let ok = true;
    for (const name of ["summary", "caller_full_name"]) {
      const empty = !form.elements[name].value.trim();
      form.elements[name].classList.toggle("invalid", empty);
      form.elements[name].setAttribute("aria-invalid", empty ? "true" : "false");
      ok = ok && !empty;
    }
    const problem = markInn();
    if (problem) {
      inn.classList.add("invalid");
      inn.setAttribute("aria-invalid", "true");
      say($("#inn-error"), problem, "error");
    }
    return ok && !problem;
  }

  function markServerFields(error) {
    if (!Array.isArray(error.detail)) return;
    for (const d of error.detail) {
      const field = form.elements[(d.loc || []).slice(-1)[0]];
      if (field) { field.classList.add("invalid"); field.setAttribute("aria-invalid", "true"); }
      if (field === inn) say($("#inn-error"), d.msg, "error");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("#context-status");
    if (!call.linkedid) { say(status, t("no_call"), "error"); return; }
    if (!contextReady()) { say(status, t("context_invalid"), "error"); return; }
    try {
      const ctx = await api("PUT", `/api/calls/${encodeURIComponent(call.linkedid)}/context`, contextFields());
      say(status, t("context_saved", { at: when(new Date().toISOString()) }), "ok");
      showRemaining(ctx.count, ctx.remaining);
    } catch (error) {
      markServerFields(error);
      say(status, error.message, "error");
    }
  });

  function showRemaining(count, remaining) {
    call.count = count;
    const left = remaining === undefined ? Math.max(call.limit - count, 0) : remaining;
    fill($("#pop-remaining"), t("transfers_left", { left, limit: call.limit }));
    const blocked = !call.linkedid ? t("no_call")
      : left <= 0 ? t("limit_reached", { limit: call.limit })
      : call.handedOver ? t("handed_over") : "";
    for (const button of $$("#transfers button.transfer")) {
      button.disabled = Boolean(blocked);
      button.title = blocked;
    }
    say($("#transfer-reason"), call.linkedid ? blocked : "", "warn");
    $("#transfer-cancel").disabled = !call.attended;
  }

  function renderChain(pop) {
    const list = $("#pop-chain");
    list.replaceChildren();
    for (const step of pop.chain || []) {
      const item = document.createElement("li");
      item.textContent = t("chain_step", {
        n: step.n, from: step.from || "—", to: step.to_agent || step.to || "—",
      });
      list.append(item);
    }
    if (pop.summary || pop.caller_full_name) {
      const item = document.createElement("li");
      item.className = "memo";
      item.textContent = t("previous_context", {
        summary: pop.summary || "—", name: pop.caller_full_name || "—", inn: pop.org_inn || "—",
      });
      list.append(item);
    }
    $("#pop-previous").hidden = !list.children.length;
  }

  async function showPop(pop) {
    call.linkedid = pop.linkedid;
    call.uin = pop.uin || "";
    call.limit = pop.limit || call.limit;
    call.attended = false;
    call.handedOver = false;
    page.dataset.linkedid = pop.linkedid;
    $("#pop").hidden = false;
    $("#no-call").hidden = true;
    $("#pop").dataset.uin = call.uin;
    fill($("#pop-uin"), call.uin);
    page.dataset.poppedAt = String(Date.now()); // when the agent could read the UIN
    fill($("#pop-ticket"), pop.ticket_id);
    fill($("#pop-caller"), [pop.caller_num, pop.caller_name].filter(Boolean).join(" · "));
    fill($("#pop-inn"), pop.org_inn);
    fill($("#pop-org"), "");
    fill($("#pop-rang"), when(new Date().toISOString()));
    fill($("#pop-from"), pop.from_agent ? t("transferred_from", { agent: pop.from_agent, n: pop.n }) : pop.queue || "");
    renderChain(pop);
    form.elements.summary.value = pop.summary || "";
    form.elements.caller_full_name.value = pop.caller_full_name || "";
    inn.value = pop.org_inn || "";
    markInn();
    say($("#context-status"), "");
    say($("#transfer-status"), "");
    showRemaining(pop.transfers || 0);
    $("#new-ticket-submit").disabled = false;
    if (call.uin) await ticket.open(call.uin);
    myCalls();
  }

  // A desk opened (or reloaded, or reconnected) during a call: the call's context now,
  // instead of waiting for a screen pop that has already gone by.
  async function restoreCall(pop) {
    let ctx = null;
    try {
      ctx = await api("GET", `/api/calls/${encodeURIComponent(pop.linkedid)}/context`);
    } catch (error) { /* no context any more: the pop as it was */ }
    if (call.linkedid === pop.linkedid) return; // a fresh pop came meanwhile
    const now = ctx ? {
      summary: ctx.summary, caller_full_name: ctx.caller_full_name, org_inn: ctx.org_inn,
      chain: ctx.chain, transfers: ctx.count,
    } : {};
    await showPop({ ...pop, ...now });
    if (ctx && ctx.agent && ctx.agent !== AGENT) { // transferred away since
      call.handedOver = true;
      showRemaining(call.count);
    }
  }

  function listen() {
    const source = new EventSource(`/api/agents/${encodeURIComponent(AGENT)}/events`);
    let opened = false;
    source.onopen = () => {
      page.dataset.stream = "open";
      if (opened) queue.load(); // back after a break: a pop may have gone by meanwhile
      opened = true;
    };
    source.addEventListener("screen-pop", (event) => { showPop(JSON.parse(event.data)); });
    source.onerror = () => { page.dataset.stream = "reconnecting"; };
  }

  async function transfer(to, mode) {
    const status = $("#transfer-status");
    if (!contextReady()) { say(status, t("context_first"), "error"); return; }
    try {
      const done = await api("POST", `/api/calls/${encodeURIComponent(call.linkedid)}/transfers`,
        { to, mode, ...contextFields() });
      call.attended = mode === "attended";
      call.handedOver = done.counted; // a blind transfer: the caller has left this desk
      say(status, t(done.counted ? "transferred" : "consulting", { to, n: done.n, limit: call.limit }), "ok");
      showRemaining(done.counted ? done.n : call.count, done.counted ? done.remaining : undefined);
    } catch (error) {
      markServerFields(error);
      if (error.status === 409) showRemaining(call.limit, 0);
      say(status, error.message, "error");
    }
  }

  for (const button of $$("#transfers button.transfer")) {
    button.addEventListener("click", () =>
      transfer(button.dataset.to, $("input[name='transfer-mode']:checked").value));
  }
  $("#transfer-cancel").addEventListener("click", async () => {
    try {
      const ctx = await api("POST", `/api/calls/${encodeURIComponent(call.linkedid)}/transfers/cancel`);
      call.attended = false;
      say($("#transfer-status"), t("transfer_cancelled"), "ok");
      showRemaining(ctx.count, ctx.remaining);
    } catch (error) { say($("#transfer-status"), error.message, "error"); }
  });

  // -- the ticket: classification, lifecycle, SLA clock ---------------------------------------
  const ticket = {
    uin: "",
    async open(uin) {
      this.uin = uin;
      $("#ticket").hidden = false;
      say($("#ticket-error"), "");
      try {
        this.render(await api("GET", `/api/tickets/${encodeURIComponent(uin)}`));
        await this.clock();
      } catch (error) { say($("#ticket-error"), error.message, "error"); }
    },
    render(data) {
      this.data = data;
      $("#ticket").dataset.status = data.status;
      fill($("#ticket-uin"), data.uin);
      fill($("#ticket-status"), t(`status_${data.status}`));
      fill($("#ticket-summary"), data.summary);
      fill($("#ticket-caller"), [data.caller_phone, data.caller_name].filter(Boolean).join(" · "));
      fill($("#ticket-org"), [data.org_name, data.org_inn].filter(Boolean).join(" · "));
      if (data.uin === call.uin) {
        fill($("#pop-org"), data.org_name);
        if (data.org_inn) fill($("#pop-inn"), data.org_inn);
      }
      $("#category").value = data.category;
      $("#priority").value = String(data.priority);
      allowedPriorities();
      const open = !["closed", "refused", "withdrawn"].includes(data.status);
      for (const el of $$("#ticket .lifecycle button, #ticket .lifecycle select, #ticket .lifecycle input, #ticket .lifecycle textarea")) {
        el.disabled = !open;
      }
      $("#resume-button").disabled = data.status !== "suspended";
      $("#confirm-button").disabled = data.status !== "resolved";
      $("#classify-save").disabled = !open;
    },
    async clock() {
      if (!this.uin) return;
      const sla = await api("GET", `/api/tickets/${encodeURIComponent(this.uin)}/sla`);
      const box = $("#sla");
      box.dataset.state = sla.breached ? "breached" : sla.paused ? "paused" : "running";
      let line;
      if (sla.allowance_s === null) line = t("sla_by_agreement");
      else if (sla.breached) line = t("sla_breached", { deadline: when(sla.deadline, true) });
      else line = t(sla.paused ? "sla_paused" : "sla_running", {
        left: hoursMinutes(sla.remaining_s), deadline: when(sla.deadline, true),
      });
      say(box, line, sla.breached ? "error" : sla.paused ? "warn" : "ok");
      const share = sla.used_share === null ? 0 : Math.min(sla.used_share, 1);
      $("#sla-bar").value = share;
    },
    async step(path, body) {
      say($("#ticket-error"), "");
      try {
        this.render(await api("POST", `/api/tickets/${encodeURIComponent(this.uin)}/${path}`, body));
        await this.clock();
        return true;
      } catch (error) { say($("#ticket-error"), error.message, "error"); return false; }
    },
  };

  // Table 2: a consultation is never priority 1.
  function allowedPriorities() {
    const consultation = $("#category").value === "ZnK";
    const first = $("#priority option[value='1']");
    first.disabled = consultation;
    if (consultation && $("#priority").value === "1") $("#priority").value = "2";
  }
  $("#category").addEventListener("change", allowedPriorities);

  $("#classify-save").addEventListener("click", async () => {
    say($("#ticket-error"), "");
    try {
      ticket.render(await api("PATCH", `/api/tickets/${encodeURIComponent(ticket.uin)}`, {
        category: $("#category").value, priority: Number($("#priority").value),
      }));
      await ticket.clock();
    } catch (error) { say($("#ticket-error"), error.message, "error"); }
  });

  $("#suspend-reason").addEventListener("change", () => {
    $("#suspend-ref-row").hidden = $("#suspend-reason").value !== "external_system";
  });
  $("#suspend-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { reason: $("#suspend-reason").value };
    const note = $("#suspend-note").value.trim();
    const ref = $("#suspend-ref").value.trim();
    if (note) body.note = note;
    if (body.reason === "external_system") body.external_ref = ref;
    if (await ticket.step("suspend", body)) event.target.reset();
  });
  $("#resume-button").addEventListener("click", () => ticket.step("resume"));
  $("#resolve-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await ticket.step("resolve", { solution: $("#solution").value })) event.target.reset();
  });
  $("#confirm-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await ticket.step("confirm", { note: $("#confirm-note").value })) event.target.reset();
  });
  $("#refuse-reason").addEventListener("change", () => {
    $("#refuse-dup-row").hidden = $("#refuse-reason").value !== "duplicate";
  });
  $("#refuse-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { reason: $("#refuse-reason").value };
    const note = $("#refuse-note").value.trim();
    if (note) body.note = note;
    if (body.reason === "duplicate") body.duplicate_of = $("#refuse-dup").value.trim();
    if (await ticket.step("refuse", body)) event.target.reset();
  });

  // -- a new ticket for a new question in the same call --------------------------------------
  $("#new-ticket").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("#new-ticket-status");
    if (!call.linkedid) { say(status, t("no_call"), "error"); return; }
    const f = event.target.elements;
    const body = {
      channel: "phone", summary: f.summary.value.trim(), category: f.category.value,
      priority: Number(f.priority.value),
    };
    if (contextFields().caller_full_name) body.caller_name = contextFields().caller_full_name;
    if (!innProblem(inn.value)) body.org_inn = contextFields().org_inn;
    try {
      const created = await api("POST", `/api/calls/${encodeURIComponent(call.linkedid)}/tickets`, body);
      say(status, t("ticket_created", { uin: created.uin }), "ok");
      event.target.reset();
      await ticket.open(created.uin);
    } catch (error) { say(status, error.message, "error"); }
  });

  // -- search --------------------------------------------------------------------------------
  $("#search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = $("#q").value.trim();
    const list = $("#search-results");
    list.replaceChildren();
    if (!q) return;
    try {
      const found = await api("GET", `/api/tickets?q=${encodeURIComponent(q)}&page_size=20`);
      say($("#search-status"), t("found", { n: number(found.total) }));
      for (const item of found.items) {
        const row = document.createElement("li");
        const open = document.createElement("button");
        open.type = "button";
        open.className = "link";
        open.textContent = item.uin;
        open.addEventListener("click", () => ticket.open(item.uin));
        row.append(open, ` ${t(`status_${item.status}`)} · ${item.summary || "—"} · ${item.caller_phone || ""}`);
        list.append(row);
      }
    } catch (error) { say($("#search-status"), error.message, "error"); }
  });

  // -- the agent's own calls today --------------------------------------------------------------
  async function myCalls() {
    const body = $("#my-calls tbody");
    try {
      const page_ = await api("GET", `/api/calls?agent=${encodeURIComponent(AGENT)}&from=${encodeURIComponent(TODAY_FROM)}&limit=100`);
      body.replaceChildren();
      for (const c of page_.calls) {
        const row = document.createElement("tr");
        for (const value of [
          when(c.started_at), [c.caller_number, c.caller_name].filter(Boolean).join(" · ") || "—",
          c.uins.join(", ") || "—", duration(c.wait_s), duration(c.talk_s),
          t(`outcome_${c.outcome}`), number(c.transfer_count),
        ]) {
          const cell = document.createElement("td");
          cell.textContent = value;
          row.append(cell);
        }
        body.append(row);
      }
      say($("#my-calls-status"), page_.calls.length ? "" : t("no_calls_today"));
    } catch (error) { say($("#my-calls-status"), error.message, "error"); }
  }
  $("#my-calls-refresh").addEventListener("click", myCalls);

  // -- start ------------------------------------------------------------------------------------
  showRemaining(0);
  $("#new-ticket-submit").disabled = true;
  listen();
  queue.load();
  myCalls();
  setInterval(() => { ticket.clock().catch(() => {}); }, 30000);
  setInterval(myCalls, 60000);
  // The phone's codes (*71, *72, *73N) change the membership too: read it again now and then.
  setInterval(() => { if (!document.hidden) queue.load(); }, 60000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) queue.load(); });
})();

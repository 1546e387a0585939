/* Hotline's pages: `Hotline.api` calls the JSON API with the session's CSRF token, htmx
   requests carry it too; a request answered 401 (the session expired) goes to the login
   page, keeping the page's form input for when the person comes back; dates and numbers
   in the page's language, times in the hotline's time zone. */
(function () {
  "use strict";
  var root = document.documentElement;
  var lang = root.lang || "ru";
  var timeZone = root.getAttribute("data-timezone") || undefined;
  var KEPT = "hotline.kept-form";
  var UNSAFE = { POST: 1, PUT: 1, PATCH: 1, DELETE: 1 };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* The page's form fields (never passwords or tokens), by form id or position. */
  function keepForms() {
    var fields = {};
    document.querySelectorAll("form input, form textarea, form select").forEach(function (el) {
      if (!el.name || el.type === "password" || el.type === "hidden" || el.name === "csrf_token") return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      fields[el.name] = el.value;
    });
    try {
      sessionStorage.setItem(KEPT, JSON.stringify({ path: location.pathname, fields: fields }));
    } catch (e) { /* storage full or off: nothing kept */ }
  }

  function fill(fields) {
    Object.keys(fields).forEach(function (name) {
      document.querySelectorAll('form [name="' + CSS.escape(name) + '"]').forEach(function (el) {
        if (el.type === "password" || el.type === "hidden") return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = el.value === fields[name];
        else el.value = fields[name];
      });
    });
  }

  /* Put back what `keepForms` (or the server, for a plain form post) kept for this page. */
  function restoreForms() {
    var kept = null;
    var fromServer = document.getElementById("kept-form");
    if (fromServer) kept = JSON.parse(fromServer.textContent);
    try {
      var stored = sessionStorage.getItem(KEPT);
      if (stored && !kept) kept = JSON.parse(stored);
      if (stored && JSON.parse(stored).path === location.pathname) sessionStorage.removeItem(KEPT);
    } catch (e) { /* nothing stored */ }
    if (kept && kept.path === location.pathname && location.pathname !== "/login") fill(kept.fields || {});
  }

  function toLogin() {
    keepForms();
    location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
  }

  function ApiError(status, detail) {
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.message = typeof detail === "string" ? detail : JSON.stringify(detail);
  }
  ApiError.prototype = Object.create(Error.prototype);

  /* `Hotline.api("POST", "/api/tickets", {...})`: the parsed reply, or an ApiError with the
     status and the API's `detail` (a 422's list names the fields). */
  function api(method, url, body) {
    method = method.toUpperCase();
    var headers = { Accept: "application/json" };
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (UNSAFE[method]) headers["X-CSRF-Token"] = csrfToken();
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      if (response.status === 401) {
        toLogin();
        throw new ApiError(401, "login required");
      }
      var type = response.headers.get("content-type") || "";
      var read = type.indexOf("json") >= 0 ? response.json() : response.text();
      return read.then(function (data) {
        if (!response.ok) {
          throw new ApiError(response.status, data && data.detail !== undefined ? data.detail : data);
        }
        return data;
      });
    });
  }

  function date(value) { return value instanceof Date ? value : new Date(value); }

  var format = {
    time: function (value) {
      return value == null ? "" : date(value).toLocaleTimeString(lang, { timeZone: timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit" });
    },
    dateTime: function (value) {
      return value == null ? "" : date(value).toLocaleString(lang, { timeZone: timeZone, dateStyle: "short", timeStyle: "short" });
    },
    number: function (value, digits) {
      if (value == null) return "—";
      digits = digits || 0;
      return Number(value).toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    },
    /* A share 0..1 as a percentage. */
    percent: function (share, digits) {
      if (share == null) return "—";
      digits = digits === undefined ? 1 : digits;
      return Number(share).toLocaleString(lang, { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits });
    },
    /* Seconds as m:ss (h:mm:ss from an hour). */
    duration: function (seconds) {
      if (seconds == null) return "—";
      var s = Math.max(0, Math.floor(seconds));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(r);
    },
  };

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 401) keepForms();
  });

  window.Hotline = {
    api: api,
    get: function (url) { return api("GET", url); },
    post: function (url, body) { return api("POST", url, body); },
    patch: function (url, body) { return api("PATCH", url, body); },
    put: function (url, body) { return api("PUT", url, body); },
    csrfToken: csrfToken,
    ApiError: ApiError,
    format: format,
    lang: lang,
    timeZone: timeZone,
    keepForms: keepForms,
    restoreForms: restoreForms,
    toLogin: toLogin,
  };
  restoreForms();
})();

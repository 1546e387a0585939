/* The wallboard between two boards: every `[data-since]` counts on each second (a wait, a
   state's time), a waiting caller turns red once past T, and the clock shows the hotline's
   time. The figures themselves come only from the server's boards (htmx's SSE swap). */
(function () {
  "use strict";
  var format = window.Hotline.format;
  var skewMs = 0; // server clock minus this browser's, from the latest board

  function readSkew() {
    var board = document.querySelector(".board[data-at]");
    if (board) skewMs = parseFloat(board.getAttribute("data-at")) * 1000 - Date.now();
  }

  function tick() {
    var now = (Date.now() + skewMs) / 1000;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = format.duration(now - parseFloat(el.getAttribute("data-since")));
    });
    document.querySelectorAll("[data-turns]").forEach(function (el) {
      if (now > parseFloat(el.getAttribute("data-turns"))) {
        var row = el.closest(".caller");
        if (row) row.classList.add("bad");
      }
    });
    var clock = document.querySelector("[data-clock]");
    if (clock) clock.textContent = format.time(new Date(now * 1000));
  }

  document.body.addEventListener("htmx:afterSwap", function () { readSkew(); tick(); });
  document.body.addEventListener("htmx:sseOpen", function () {
    document.body.setAttribute("data-live", "yes");
    document.body.classList.remove("offline");
  });
  // The stream reconnects by itself; the board shows it is waiting for it meanwhile.
  document.body.addEventListener("htmx:sseError", function () {
    document.body.removeAttribute("data-live");
    document.body.classList.add("offline");
    // An ended session also breaks the stream: the API answers 401 and Hotline.api goes
    // to the login (and back here after it); any other failure waits for the reconnect.
    window.Hotline.get("/api/wallboard").catch(function () { /* shown as offline */ });
  });
  document.body.addEventListener("htmx:sseMessage", function () {
    document.body.classList.remove("offline");
    readSkew();
    tick();
  });
  readSkew();
  tick();
  setInterval(tick, 1000);
})();

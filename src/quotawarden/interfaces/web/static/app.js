/* Progressive enhancement: the pages work without it. Theme toggle, self-refresh, ack without reload. */
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("qw-theme"); } catch (e) { saved = null; }
  if (saved) { root.setAttribute("data-theme", saved); }

  function toggleTheme() {
    var dark = root.getAttribute("data-theme") === "dark" ||
      (!root.getAttribute("data-theme") && window.matchMedia("(prefers-color-scheme: dark)").matches);
    var next = dark ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { localStorage.setItem("qw-theme", next); } catch (e) { /* private mode */ }
    if (window.qwchart) { window.qwchart.drawAll(); }
  }

  function refresh() {
    if (document.hidden || document.activeElement && /INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName)) {
      return;
    }
    fetch(location.href, {headers: {"X-Requested-With": "fetch"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main"), cur = document.querySelector("main");
        if (fresh && cur) { cur.innerHTML = fresh.innerHTML; if (window.qwchart) { window.qwchart.drawAll(cur); } }
        var stamp = doc.getElementById("updated"), mine = document.getElementById("updated");
        if (stamp && mine) { mine.textContent = stamp.textContent; }
      })
      .catch(function () { /* the daemon restarting: try again next time */ });
  }

  function onSubmit(ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-ack]")) { return; }
    ev.preventDefault();
    var csrf = form.querySelector("input[name=csrf]");
    fetch(form.action, {method: "POST", headers: {"X-Requested-With": "fetch", "Accept": "application/json",
                                                  "X-CSRF-Token": csrf ? csrf.value : ""},
                        credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (alert) {
        var row = form.closest("tr");
        if (row && alert.state) {
          var cell = row.querySelector("[data-state]");
          if (cell) { cell.textContent = alert.state; }
          form.replaceWith(document.createTextNode("acknowledged"));
        }
      })
      .catch(function () { form.submit(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var btn = document.getElementById("theme");
    if (btn) { btn.addEventListener("click", toggleTheme); }
    document.addEventListener("submit", onSubmit);
    document.addEventListener("qw-refresh", refresh);
    var every = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
    if (every > 0) { setInterval(refresh, every * 1000); }
  });
})();

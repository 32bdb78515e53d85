// codemend view: renders the problem list from window.CODEMEND_INDEX (data/index.js), 100 rows a
// page, with search and outcome filters kept in the URL hash; on a trajectory page, expand/collapse.
(function () {
  "use strict";
  var PAGE = 100;
  var LABELS = { solved: "solved", unsolved: "unsolved", fixed: "fixed by repair",
                 broken: "broken by repair", infra: "infrastructure error" };

  function el(name, attrs, children) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function state() {
    var params = new URLSearchParams(location.hash.slice(1));
    return { q: params.get("q") || "", f: params.get("f") || "all", p: parseInt(params.get("p") || "0", 10) || 0 };
  }

  function save(s) {
    var params = new URLSearchParams();
    if (s.q) params.set("q", s.q);
    if (s.f !== "all") params.set("f", s.f);
    if (s.p) params.set("p", String(s.p));
    history.replaceState(null, "", "#" + params.toString());
  }

  function matches(row, s) {
    if (s.f !== "all" && row.c.indexOf(s.f) < 0) return false;
    if (!s.q) return true;
    var hay = (row.id + " " + row.stop + " " + row.sr + " " + row.c.join(" ") + " " + (row.err || "")).toLowerCase();
    return s.q.toLowerCase().split(/\s+/).every(function (w) { return hay.indexOf(w) >= 0; });
  }

  function rounds(row, count) {
    var cells = [];
    for (var r = 0; r < count; r++) {
      var v = row.r ? row.r[r] : null;
      var kind = v === 1 ? "pass" : v === 0 ? "fail" : "none";
      cells.push(el("span", { "class": "chip " + kind, title: "after round " + r }, ["r" + r]));
    }
    return el("span", { "class": "rounds" }, cells);
  }

  function renderList(data) {
    var s = state();
    var shown = data.rows.filter(function (row) { return matches(row, s); });
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    s.p = Math.min(s.p, pages - 1);
    var count = data.rounds === null ? Math.max.apply(null, [1].concat(data.rows.map(function (r) {
      return r.r ? r.r.length : 0; }))) : data.rounds + 1;
    var head = el("tr", {}, ["problem", "sample", "outcome", "hidden verdict by round", "stop reason",
                             "steps", "tokens", "wall s", "final reward"].map(function (h) {
      return el("th", {}, [h]); }));
    var body = shown.slice(s.p * PAGE, (s.p + 1) * PAGE).map(function (row) {
      var badges = row.c.map(function (c) { return el("span", { "class": "badge " + c }, [LABELS[c] || c]); });
      return el("tr", { "class": "row", "data-id": row.id, "data-categories": row.c.join(" ") }, [
        el("td", {}, [el("a", { href: row.h, "class": "problem-link" }, [row.id])]),
        el("td", { "class": "num" }, [String(row.s)]),
        el("td", {}, badges),
        el("td", {}, [rounds(row, count)]),
        el("td", { title: row.sr }, [row.stop]),
        el("td", { "class": "num" }, [String(row.n)]),
        el("td", { "class": "num" }, [String(row.tok)]),
        el("td", { "class": "num" }, [row.w.toFixed(2)]),
        el("td", { "class": "num" }, [row.fr === null ? "" : row.fr.toFixed(3)])
      ]);
    });
    var table = el("table", { "class": "list" }, [el("thead", {}, [head]), el("tbody", {}, body)]);
    var list = document.getElementById("problem-list");
    list.replaceChildren(table);
    var pager = document.getElementById("pager");
    var prev = el("button", { type: "button", id: "prev-page" }, ["‹ previous"]);
    var next = el("button", { type: "button", id: "next-page" }, ["next ›"]);
    prev.disabled = s.p === 0; next.disabled = s.p >= pages - 1;
    prev.onclick = function () { s.p -= 1; save(s); renderList(data); };
    next.onclick = function () { s.p += 1; save(s); renderList(data); };
    var info = el("span", { id: "list-count", "class": "muted" },
                  [shown.length + " of " + data.rows.length + " trajectories · page " + (s.p + 1) + " of " + pages]);
    pager.replaceChildren(prev, info, next);
    document.querySelectorAll("[data-filter]").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-filter") === s.f);
    });
  }

  function setupIndex(data) {
    var search = document.getElementById("search");
    search.value = state().q;
    search.addEventListener("input", function () {
      var s = state(); s.q = search.value; s.p = 0; save(s); renderList(data);
    });
    document.querySelectorAll("[data-filter]").forEach(function (b) {
      b.addEventListener("click", function () {
        var s = state(); s.f = b.getAttribute("data-filter"); s.p = 0; save(s); renderList(data);
      });
    });
    renderList(data);
  }

  function setupToggles() {
    document.querySelectorAll("[data-toggle]").forEach(function (b) {
      b.addEventListener("click", function () {
        var open = b.getAttribute("data-toggle") === "open";
        document.querySelectorAll(".steps details").forEach(function (d) { d.open = open; });
      });
    });
  }

  if (window.CODEMEND_INDEX && document.getElementById("problem-list")) setupIndex(window.CODEMEND_INDEX);
  setupToggles();
})();

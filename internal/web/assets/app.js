// expectct: the budget's totals as the person types. The server computes
// them too, and the API checks them at submission: this only helps.
(function () {
  "use strict";
  var box = document.getElementById("budget-totals");
  if (!box) { return; }
  var prefix = box.getAttribute("data-prefix") || "";
  var share = parseInt(box.getAttribute("data-share"), 10) || 0;
  function cents(name) {
    var el = document.getElementsByName(prefix + name)[0];
    if (!el) { return 0; }
    var v = el.value.replace(/[\s\u00a0\u202f€]/g, "");
    if (v.indexOf(",") >= 0) { v = v.replace(/\./g, "").replace(",", "."); }
    if (!/^\d+(\.\d{1,2})?$/.test(v)) { return 0; }
    var parts = v.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }
  function euros(c) { return Math.floor(c / 100) + "." + ("0" + (c % 100)).slice(-2); }
  function update() {
    var cost = cents("budget.travel") + cents("budget.accommodation") + cents("budget.daily_allowances") + cents("budget.other");
    var funded = cents("budget.requested") + cents("budget.own_share");
    document.getElementById("total-cost").textContent = euros(cost);
    document.getElementById("max-share").textContent = euros(Math.floor(cost * share / 100));
    document.getElementById("funded").textContent = euros(funded);
  }
  document.querySelectorAll("[data-money]").forEach(function (el) { el.addEventListener("input", update); });
})();

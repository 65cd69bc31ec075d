/* The rule-set administration pages (规则管理): policy, preview, assessments grid, vetoes.
 * Pages are rendered by the server; every change goes through the JSON API (/api/v1) with the
 * session cookie and the X-CSRFToken header, then the page reloads to show what was saved. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var T = K.i18n();
  var $ = function (id) { return document.getElementById(id); };

  function showError(box, message) {
    if (box) { box.textContent = message; box.hidden = false; }
    K.banner.show(message, "error");
  }

  function clearError(box) {
    if (box) { box.textContent = ""; box.hidden = true; }
    K.banner.hide();
  }

  /* Send a write; on success show "已保存" and reload, on refusal show the Chinese message. */
  function save(method, url, body, opts) {
    opts = opts || {};
    var button = opts.button;
    var label = button ? button.textContent : "";
    if (button) { button.disabled = true; button.textContent = T.saving; }
    clearError(opts.errorBox);
    return K.api(method, url, body).then(function (resp) {
      if (resp.ok) {
        K.banner.show(T.saved, "info");
        if (opts.onOk) { opts.onOk(resp.data); }
        else { window.setTimeout(function () { window.location.reload(); }, 400); }
        return resp;
      }
      var e = resp.data && resp.data.error;
      if (e && e.code === "csrf_failed") { window.location.reload(); return resp; }
      if (opts.onError && opts.onError(e)) { return resp; }
      showError(opts.errorBox, e && e.message ? e.message : T.server_error);
      return resp;
    }, function (err) {
      showError(opts.errorBox, err && err.network ? T.network_error : T.server_error);
    }).then(function (resp) {
      if (button) { button.disabled = false; button.textContent = label; }
      return resp;
    });
  }

  /* Full-width digits (０-９) and minus to ASCII, trimmed: an IME in full-width mode types those. */
  function toAscii(value) {
    return String(value || "").replace(/[\uFF10-\uFF19\uFF0D]/g, function (ch) {
      return String.fromCharCode(ch.charCodeAt(0) - 0xFEE0);
    }).trim();
  }

  function intOrNull(value) {
    var s = String(value === undefined || value === null ? "" : value).trim();
    if (s === "") { return null; }
    return /^-?\d+$/.test(s) ? parseInt(s, 10) : NaN;
  }

  /* ---------------- policy ---------------- */
  function policyPage() {
    var dataEl = $("policy-data");
    if (!dataEl) { return; }
    var policy = JSON.parse(dataEl.textContent);

    // Preset buttons: show that preset's rules, with "preview" and "use this" below.
    document.querySelectorAll(".preset-btn").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var key = btn.getAttribute("data-preset");
        document.querySelectorAll(".preset-btn").forEach(function (b) {
          b.classList.toggle("selected", b === btn);
        });
        document.querySelectorAll(".preset-detail").forEach(function (d) {
          d.hidden = d.id !== "preset-" + key;
        });
      });
    });
    document.querySelectorAll(".use-preset").forEach(function (btn) {
      var armed = false;
      var label = btn.textContent;
      btn.addEventListener("click", function () {
        // First tap asks, second tap switches: no browser dialog on a kiosk.
        if (!armed) {
          armed = true;
          btn.textContent = K.format(T.confirm_preset, { name: btn.getAttribute("data-name") });
          btn.classList.add("btn-armed");
          return;
        }
        armed = false;
        btn.classList.remove("btn-armed");
        btn.textContent = label;
        save("PUT", "/api/v1/policy", { preset: btn.getAttribute("data-preset") }, { button: btn });
      });
    });

    var form = $("policy-form");
    if (!form) { return; }
    var window_ = policy.window || {};
    var gate = policy.gate;

    $("f-name").value = policy.name || "";
    $("f-points_per_yuan").value = policy.points_per_yuan;
    $("f-reserved_base").value = policy.reserved_base || 0;
    $("f-base_grant").value = policy.base_grant || 0;
    $("f-gate-on").checked = !!gate;
    $("f-gate-min_score").value = gate ? gate.min_score : 85;
    $("f-gate-consecutive_periods").value = gate ? gate.consecutive_periods : 2;
    $("f-tier_basis").value = policy.tier_basis || "score";
    $("f-veto").value = policy.veto || "none";
    ["holder", "spend", "cycle", "period"].forEach(function (key) { $("f-" + key).value = policy[key]; });
    var conversion = policy.conversion;
    $("f-conversion-on").checked = !!conversion;
    $("f-conversion-numerator").value = conversion ? conversion.numerator : 1;
    $("f-conversion-denominator").value = conversion ? conversion.denominator : 10;
    var labels = JSON.parse($("policy-labels").textContent);
    var kind = window_.kind || "always";
    form.querySelectorAll("input[name=window_kind]").forEach(function (r) { r.checked = r.value === kind; });
    form.querySelectorAll("input[name=month]").forEach(function (c) {
      c.checked = (window_.months || []).indexOf(parseInt(c.value, 10)) >= 0;
    });
    $("f-market_days").value = (window_.market_days || []).join(",");
    $("f-every_months").value = window_.every_months || 1;

    function syncVisibility() {
      var k = form.querySelector("input[name=window_kind]:checked");
      k = k ? k.value : "always";
      $("window-months").hidden = k !== "months";
      $("window-market").hidden = k !== "last_market_day";
      var on = $("f-gate-on").checked;
      $("f-gate-min_score").disabled = !on;
      $("f-gate-consecutive_periods").disabled = !on;
      var conv = $("f-conversion-on").checked;
      $("f-conversion-numerator").disabled = !conv;
      $("f-conversion-denominator").disabled = !conv;
    }
    form.addEventListener("change", syncVisibility);

    function tierRow(t) {
      var tr = K.el("tr", "tier-row");
      [["name", "text", t.name], ["min_value", "number", t.min_value], ["max_value", "number", t.max_value],
        ["quota_yuan", "number", t.quota_yuan]].forEach(function (f) {
        var td = K.el("td");
        var input = K.el("input");
        input.type = f[1];
        input.className = "tier-" + f[0];
        if (f[1] === "number") { input.setAttribute("inputmode", "numeric"); input.min = "0"; }
        input.value = f[2] === null || f[2] === undefined ? "" : f[2];
        td.appendChild(input);
        tr.appendChild(td);
      });
      var del = K.el("button", "btn btn-danger remove-tier", "×");
      del.type = "button";
      del.addEventListener("click", function () { tr.parentNode.removeChild(tr); });
      var td = K.el("td"); td.appendChild(del); tr.appendChild(td);
      $("tier-rows").appendChild(tr);
    }
    (policy.tiers || []).forEach(tierRow);

    /* A restricted item (寨里's 长者食堂): one card of labelled fields, as the validator names them. */
    var RESTRICTION_FIELDS = [["key", "text"], ["label", "text"], ["min_age", "number"],
      ["max_age", "number"], ["min_score", "number"], ["min_tier", "text"],
      ["per_period_limit", "number"]];
    function restrictionRow(r) {
      var card = K.el("div", "restriction-card");
      var grid = K.el("div", "param-grid");
      RESTRICTION_FIELDS.forEach(function (f) {
        var label = K.el("label", "field", labels["restriction." + f[0]]);
        var input = K.el("input");
        input.type = f[1];
        input.className = "restriction-" + f[0];
        if (f[1] === "number") { input.setAttribute("inputmode", "numeric"); input.min = "0"; }
        var value = r[f[0]];
        input.value = value === null || value === undefined ? "" : value;
        label.appendChild(input);
        grid.appendChild(label);
      });
      card.appendChild(grid);
      var actions = K.el("div", "restriction-actions");
      var free = K.el("label", "check");
      var box = K.el("input");
      box.type = "checkbox";
      box.className = "restriction-free";
      box.checked = !!r.free;
      free.appendChild(box);
      free.appendChild(document.createTextNode(" " + labels["restriction.free"]));
      actions.appendChild(free);
      var del = K.el("button", "btn btn-danger remove-restriction", "×");
      del.type = "button";
      del.addEventListener("click", function () { card.parentNode.removeChild(card); });
      actions.appendChild(del);
      card.appendChild(actions);
      $("restriction-rows").appendChild(card);
    }
    (policy.restrictions || []).forEach(restrictionRow);
    $("add-restriction").addEventListener("click", function () {
      restrictionRow({ free: false });
    });
    $("add-tier").addEventListener("click", function () {
      tierRow({ name: "", min_value: "", max_value: "", quota_yuan: "" });
    });
    syncVisibility();

    function readForm() {
      var p = JSON.parse(JSON.stringify(policy));
      p.name = $("f-name").value.trim();
      p.points_per_yuan = intOrNull($("f-points_per_yuan").value);
      p.reserved_base = intOrNull($("f-reserved_base").value) || 0;
      p.base_grant = intOrNull($("f-base_grant").value) || 0;
      p.gate = $("f-gate-on").checked ? {
        min_score: intOrNull($("f-gate-min_score").value),
        consecutive_periods: intOrNull($("f-gate-consecutive_periods").value)
      } : null;
      ["holder", "spend", "cycle", "period"].forEach(function (key) { p[key] = $("f-" + key).value; });
      p.conversion = $("f-conversion-on").checked ? {
        numerator: intOrNull($("f-conversion-numerator").value),
        denominator: intOrNull($("f-conversion-denominator").value)
      } : null;
      p.restrictions = [];
      document.querySelectorAll("#restriction-rows .restriction-card").forEach(function (card) {
        var r = {};
        RESTRICTION_FIELDS.forEach(function (f) {
          var raw = card.querySelector(".restriction-" + f[0]).value;
          r[f[0]] = f[1] === "number" ? intOrNull(raw) : (raw.trim() || null);
        });
        r.free = card.querySelector(".restriction-free").checked;
        p.restrictions.push(r);
      });
      p.tier_basis = $("f-tier_basis").value;
      p.tiers = [];
      document.querySelectorAll("#tier-rows .tier-row").forEach(function (tr) {
        p.tiers.push({
          name: tr.querySelector(".tier-name").value.trim(),
          min_value: intOrNull(tr.querySelector(".tier-min_value").value),
          max_value: intOrNull(tr.querySelector(".tier-max_value").value),
          quota_yuan: intOrNull(tr.querySelector(".tier-quota_yuan").value)
        });
      });
      var k = form.querySelector("input[name=window_kind]:checked");
      var w = JSON.parse(JSON.stringify(policy.window || {}));
      w.kind = k ? k.value : "always";
      w.months = [];
      form.querySelectorAll("input[name=month]:checked").forEach(function (c) { w.months.push(parseInt(c.value, 10)); });
      w.market_days = $("f-market_days").value.split(/[,，、\s]+/).filter(function (x) { return x; })
        .map(function (x) { return intOrNull(toAscii(x)); });
      w.every_months = intOrNull($("f-every_months").value) || 1;
      p.window = w;
      p.veto = $("f-veto").value;
      return p;
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      save("PUT", "/api/v1/policy", { policy: readForm() },
        { button: $("save-policy"), errorBox: $("policy-error") });
    });
    $("save-toml").addEventListener("click", function () {
      save("PUT", "/api/v1/policy", { toml: $("policy-toml").value },
        { button: $("save-toml"), errorBox: $("toml-error") });
    });
  }

  /* ---------------- assessments ---------------- */
  function assessmentsPage() {
    var periodForm = $("period-form");
    if (periodForm) {
      periodForm.querySelectorAll("input[name=period]").forEach(function (r) {
        r.addEventListener("change", function () { periodForm.submit(); });
      });
    }
    var form = $("scores-form");
    if (!form || !$("save-scores")) { return; }
    var rows = Array.prototype.slice.call(form.querySelectorAll(".score-row"));

    function markRow(row, message) {
      row.classList.toggle("row-error", !!message);
      var status = row.querySelector(".row-status");
      if (message) { status.textContent = message; }
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var scores = [];
      var sent = [];
      var bad = false;
      rows.forEach(function (row) {
        markRow(row, "");
        var input = row.querySelector(".score-input");
        var raw = toAscii(input.value);
        if (raw === "") { return; }
        var score = intOrNull(raw);
        if (isNaN(score) || score === null || score < 0 || score > 100) {
          markRow(row, T.score_range);
          bad = true;
          return;
        }
        if (String(score) === row.getAttribute("data-current")) { return; }  // unchanged
        var item = { household_id: parseInt(row.getAttribute("data-household-id"), 10), score: score };
        var member = row.getAttribute("data-member-id");
        if (member) { item.member_id = parseInt(member, 10); }
        scores.push(item);
        sent.push(row);
      });
      var box = $("scores-error");
      if (bad) { showError(box, T.score_range); return; }
      if (!scores.length) { showError(box, T.nothing_to_save); return; }
      save("POST", "/api/v1/assessments/batch", { period: form.getAttribute("data-period"), scores: scores }, {
        button: $("save-scores"),
        errorBox: box,
        onError: function (e) {
          // details.field names the row ("scores[2].score"): mark that row in the grid.
          var m = e && e.details && /^scores\[(\d+)\]/.exec(e.details.field || "");
          if (!m || !sent[+m[1]]) { return false; }
          var row = sent[+m[1]];
          markRow(row, e.message);
          row.scrollIntoView({ block: "center" });
          showError(box, K.format(T.row_error, { n: rows.indexOf(row) + 1, message: e.message }));
          return true;
        }
      });
    });
  }

  /* ---------------- vetoes ---------------- */
  function vetoesPage() {
    var form = $("veto-form");
    if (!form) { return; }
    var members = JSON.parse($("veto-members").textContent);
    var household = $("veto-household");
    var member = $("veto-member");
    household.addEventListener("change", function () {
      member.textContent = "";
      var all = K.el("option", "", T.whole_household);
      all.value = "";
      member.appendChild(all);
      (members[household.value] || []).forEach(function (m) {
        var o = K.el("option", "", m.name + (m.relation ? "（" + m.relation + "）" : ""));
        o.value = m.id;
        member.appendChild(o);
      });
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!household.value) { showError($("veto-error"), T.choose_household); return; }
      var body = {
        household_id: parseInt(household.value, 10),
        on: $("veto-on").value,
        reason: $("veto-reason").value
      };
      if (member.value) { body.member_id = parseInt(member.value, 10); }
      save("POST", "/api/v1/vetoes", body, { button: $("save-veto"), errorBox: $("veto-error") });
    });
  }

  policyPage();
  assessmentsPage();
  vetoesPage();
})();

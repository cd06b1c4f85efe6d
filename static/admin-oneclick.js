/* OneClick admin: copy the new signing secret (no inline code: the CSP forbids it). */
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", async function () {
      const target = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        button.textContent = "Copied";
      } catch (error) {
        // No clipboard access (an insecure origin, a denied permission): select it for Ctrl+C.
        window.getSelection().selectAllChildren(target);
        button.textContent = "Press Ctrl+C to copy";
      }
    });
  });
})();

/* The button form follows the kind: a link button has no messaging, so its options are disabled (the
   server refuses them too). */
(function () {
  "use strict";
  const kind = document.getElementById("id_kind");
  if (!kind) return;
  const options = ["messaging_enabled", "messages_public", "do_not_log_http_responses", "disable_on_unread_error",
    "disable_on_any_unread"].map(function (name) { return document.getElementById("id_" + name); })
    .filter(Boolean);
  function follow() {
    const link = kind.value === "link";
    options.forEach(function (box) {
      if (link) box.checked = false;
      box.disabled = link;
      const row = box.closest(".form-row");
      if (row) row.classList.toggle("oneclick-off", link);
    });
  }
  kind.addEventListener("change", follow);
  follow();
})();

/* A test click's page: delivery state and what comes back, as it arrives, until the window closes. */
(function () {
  "use strict";
  const box = document.getElementById("test-click");
  if (!box) return;
  const TYPES = { info: "Info", success: "Success", warning: "Warning", error: "Error" };
  const SOURCES = { http_response: "HTTP response", custom: "Custom message" };
  const STATES = { pending: "Pending", delivered: "Delivered", failed: "Failed" };
  const endsAt = Date.parse(box.dataset.endsAt);
  const list = box.querySelector('[data-role="messages"]');

  function text(message) {
    // Messages are validated HTML; the admin shows their text, never their markup.
    const template = document.createElement("template");
    template.innerHTML = message.content;
    return (template.content.textContent || "").trim();
  }

  async function refresh() {
    let data = null;
    try {
      const answer = await fetch(box.dataset.eventUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (answer.ok) data = await answer.json();
    } catch (error) { data = null; }
    if (data) {
      box.querySelector('[data-role="delivery"]').textContent = STATES[data.delivery] || data.delivery;
      box.querySelector('[data-role="http"]').textContent = data.http_status ? "· HTTP " + data.http_status : "";
      const response = data.response;
      const answer = box.querySelector('[data-role="response"]');
      if (response && answer) { // text only: the body is the automation's, never markup here
        answer.hidden = false;
        answer.querySelector('[data-role="status"]').textContent = String(response.http_status);
        answer.querySelector('[data-role="body"]').textContent = response.body || "(empty)";
        answer.querySelector('[data-role="reason"]').textContent = response.replaced_because;
        answer.querySelector('[data-role="replaced"]').hidden = !response.replaced_because;
      }
      const items = (data.messages || []).slice().reverse().map(function (m) {
        const li = document.createElement("li");
        const kind = document.createElement("strong");
        kind.textContent = TYPES[m.message_type] || m.message_type;
        li.appendChild(kind);
        li.appendChild(document.createTextNode(" · " + (SOURCES[m.source] || m.source) + " · " + text(m)));
        return li;
      });
      if (items.length) list.replaceChildren.apply(list, items);
    }
    const open = Date.now() < endsAt + 3000;
    box.querySelector('[data-role="live"]').textContent = open ? "(updating)" : "(the window has closed)";
    if (open) window.setTimeout(refresh, 1000);
  }
  refresh();
})();

/* The button's fields: rows to add, remove and reorder over the JSON the form saves, and a preview of
   the form the user sees before the click. The server checks every rule again (buttons/fields.py). */
(function () {
  "use strict";
  const source = document.querySelector('textarea[data-fields-editor]');
  if (!source) return;
  const TYPES = ["text", "textarea", "number", "date", "email", "boolean", "select", "multiselect"];
  let rows = [];
  try { rows = JSON.parse(source.value || "[]"); } catch (error) { return; } // not JSON: left as it is
  if (!Array.isArray(rows)) return;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const editor = el("div", { class: "oneclick-fields" });
  const list = el("ol", { class: "oneclick-field-rows" });
  const add = el("button", { type: "button", class: "button" }, "Add a field");
  const preview = el("div", { class: "oneclick-preview", "aria-label": "Preview of the form" });
  editor.append(list, add, el("h4", {}, "Preview: what the user sees before the click"), preview);
  source.hidden = true;
  source.after(editor);

  function save() {
    source.value = JSON.stringify(rows.map(function (f) {
      const out = { key: f.key || "", label: f.label || "", kind: f.kind || "input" };
      if (out.kind === "record") { out.source = f.source || ""; } else {
        out.type = f.type || "text";
        out.required = Boolean(f.required);
        if (out.type === "select" || out.type === "multiselect") out.options = f.options || [];
      }
      return out;
    }), null, 1);
    drawPreview();
  }

  function input(f, name, label, attrs) {
    const wrap = el("label", { class: "oneclick-field-part" });
    wrap.append(el("span", {}, label));
    const box = el(attrs && attrs.tag || "input", Object.assign({}, attrs || {}, { tag: null }));
    box.removeAttribute("tag");
    if (box.type === "checkbox") box.checked = Boolean(f[name]); else box.value = name === "options"
      ? (f.options || []).join("\n") : (f[name] || "");
    box.addEventListener("input", function () {
      f[name] = box.type === "checkbox" ? box.checked : name === "options"
        ? box.value.split("\n").map(function (o) { return o.trim(); }).filter(Boolean) : box.value;
      if (name === "kind" || name === "type") draw(); else save();
    });
    box.addEventListener("change", function () { if (name === "kind" || name === "type") draw(); });
    wrap.append(box);
    return wrap;
  }

  function select(f, name, label, choices) {
    const wrap = el("label", { class: "oneclick-field-part" });
    wrap.append(el("span", {}, label));
    const box = el("select");
    choices.forEach(function (c) { const o = el("option", { value: c }, c); if ((f[name] || choices[0]) === c) o.selected = true; box.append(o); });
    box.addEventListener("change", function () { f[name] = box.value; draw(); });
    wrap.append(box);
    return wrap;
  }

  function draw() {
    list.replaceChildren();
    rows.forEach(function (f, n) {
      const item = el("li", { class: "oneclick-field-row" });
      item.append(input(f, "label", "Label"), select(f, "kind", "Kind", ["input", "record"]));
      if ((f.kind || "input") === "record") {
        item.append(input(f, "source", "CRM field key", { placeholder: "title, value, stage_id…" }));
      } else {
        item.append(select(f, "type", "Type", TYPES), input(f, "required", "Required", { type: "checkbox" }));
        if (f.type === "select" || f.type === "multiselect") {
          item.append(input(f, "options", "Options, one per line", { tag: "textarea", rows: "3" }));
        }
      }
      item.append(input(f, "key", "Key (empty: from the label)", { placeholder: "amount_eur" }));
      const tools = el("span", { class: "oneclick-field-tools" });
      [["↑", "Move up", -1], ["↓", "Move down", 1]].forEach(function (t) {
        const move = el("button", { type: "button", class: "button", "aria-label": t[1] + ": " + (f.label || "field " + (n + 1)) }, t[0]);
        move.disabled = (t[2] < 0 && n === 0) || (t[2] > 0 && n === rows.length - 1);
        move.addEventListener("click", function () { rows.splice(n + t[2], 0, rows.splice(n, 1)[0]); draw(); });
        tools.append(move);
      });
      const remove = el("button", { type: "button", class: "button", "aria-label": "Remove " + (f.label || "field " + (n + 1)) }, "Remove");
      remove.addEventListener("click", function () { rows.splice(n, 1); draw(); });
      tools.append(remove);
      item.append(tools);
      list.append(item);
    });
    add.disabled = rows.length >= 20;
    save();
  }

  function drawPreview() {
    preview.replaceChildren();
    if (!rows.length) { preview.append(el("p", { class: "help" }, "No fields: the click is sent at once (fields: null).")); return; }
    rows.forEach(function (f) {
      const line = el("div", { class: "oneclick-preview-field" });
      const label = (f.label || "(no label)") + (f.required ? " *" : "");
      if ((f.kind || "input") === "record") {
        line.append(el("strong", {}, label), el("span", { class: "help" }, " the record's " + (f.source || "?")));
      } else if (f.type === "boolean") {
        const box = el("input", { type: "checkbox", disabled: "" });
        line.append(box, el("span", {}, " " + label));
      } else {
        line.append(el("strong", {}, label));
        let control;
        if (f.type === "textarea") control = el("textarea", { rows: "2", disabled: "" });
        else if (f.type === "select" || f.type === "multiselect") {
          control = el("select", f.type === "multiselect" ? { multiple: "", disabled: "" } : { disabled: "" });
          (f.options || []).forEach(function (o) { control.append(el("option", {}, o)); });
        } else control = el("input", { type: { number: "number", date: "date", email: "email" }[f.type] || "text", disabled: "" });
        line.append(control);
      }
      preview.append(line);
    });
  }

  add.addEventListener("click", function () { rows.push({ label: "", kind: "input", type: "text" }); draw(); });
  draw();
})();

// The rule editor: once pipelines are ticked, the stages of the others are dimmed (a stage must belong
// to a ticked pipeline; the server says so too, with a sentence).
(function () {
  const pipelines = document.getElementById("id_vis_pipelines");
  const stages = document.getElementById("id_vis_stages");
  if (!pipelines || !stages || pipelines.tagName === "INPUT") return;
  function follow() {
    const ticked = new Set();
    pipelines.querySelectorAll("input:checked").forEach(function (box) {
      ticked.add(box.closest("label").textContent.trim());
    });
    stages.querySelectorAll(":scope > div").forEach(function (group) {
      const name = group.querySelector("label").textContent.trim();
      group.classList.toggle("oneclick-off", ticked.size > 0 && !ticked.has(name));
    });
  }
  pipelines.addEventListener("change", follow);
  follow();
})();

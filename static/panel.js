/* OneClick record panel: button clicks, the message log, read state and live updates.
 *
 * Plain script, no build step, no inline code (the CSP forbids it). The server renders the panel; this
 * file takes over. A message's `content` (validated HTML from the API) never goes into the page as
 * it is: safeFragment() parses it in an inert <template> and copies only the allowed tags, link
 * schemes and attributes into new nodes, so the page holds nothing the server's rules would refuse.
 *
 * Inside a CRM's frame (data-embed: "pipedrive" or "signed") no cookie is used: every call carries the
 * page's bearer credential, renewed through the CRM's signed token before it ends; the live stream is
 * read through fetch (EventSource cannot send the header); the frame is asked to fit the content, and
 * in Pipedrive the SDK (static vendor/app-extensions-sdk) initializes, resizes and follows the theme.
 */
(function () {
  "use strict";

  const panel = document.getElementById("panel");
  if (!panel) return;

  const record = {
    resource: panel.dataset.resource,
    objectId: panel.dataset.objectId,
    view: panel.dataset.view,
    title: panel.dataset.title,
  };
  const POLL_ACTIVE_MS = 1500; // while a click's window or the log is open, without a live stream
  const POLL_IDLE_MS = 20000;
  const WINDOW_MS = 45000; // a click's message window
  const STREAM_SAFETY_MS = 60000; // a lost notification is caught up at the latest this late
  // With buttons limited to pipelines or stages, the state is asked this often, so a deal moved in the CRM
  // shows the right buttons within a minute (the server caches a CRM record 30 s).
  const PLACE_REFRESH_MS = 25000;
  const READ_FLUSH_MS = 250;
  const PAGE_SIZE = 20;
  const TYPE_NAMES = { info: "Info", success: "Success", warning: "Warning", error: "Error" };
  const SOURCE_NAMES = { http_response: "HTTP response", custom: "Custom message" };
  const SVG = "http://www.w3.org/2000/svg";
  const eventsKey = "oneclick:events:" + record.resource + ":" + record.objectId;
  const embed = panel.dataset.embed || null; // "pipedrive" | "signed" inside a CRM's frame
  let access = panel.dataset.access || "";
  // In a CRM's list view the click carries the records selected there (a signed embed's host may post
  // its current selection; see startEmbed).
  let listSelection = (panel.dataset.selectedIds || "").split(",").filter(Boolean);

  // --- Small helpers --------------------------------------------------------------------------

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function authHeaders(headers) {
    if (embed) headers.Authorization = "Bearer " + access;
    return headers;
  }

  async function api(method, url, body, retried) {
    const options = {
      method: method, credentials: embed ? "omit" : "same-origin", headers: authHeaders({ Accept: "application/json" }),
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      if (!embed) options.headers["X-CSRFToken"] = csrfToken(); // a bearer credential needs none
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { ok: false, status: 0, data: { detail: "The server could not be reached. Check your connection." } };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (response.status === 401 && embed) { // the credential ended early (or the laptop slept)
      if (!retried && await renew()) return api(method, url, body, true);
      sessionEnded();
    } else if (response.status === 401) { // the session ended
      window.location.assign("/login/?next=" + encodeURIComponent(window.location.pathname));
    }
    return { ok: response.ok, status: response.status, data: data || {} };
  }

  function icon(name, className) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", className || "icon");
    svg.setAttribute("aria-hidden", "true");
    const use = document.createElementNS(SVG, "use");
    use.setAttribute("href", "#i-" + name);
    svg.appendChild(use);
    return svg;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A message's content is HTML as the automation sent it, validated on the way in against this same
  // allowlist. It is rebuilt here node by node, so nothing else reaches the page even if a stored
  // message predates a rule: <b> <i> <br> <div> keep no attributes; <a> keeps an http, https or mailto
  // href and a title, and always opens in a new tab without an opener; anything else is dropped.
  const ALLOWED_TAGS = new Set(["A", "B", "I", "BR", "DIV"]);
  const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]);

  function copyAllowed(from, to) {
    from.childNodes.forEach(function (node) {
      if (node.nodeType === Node.TEXT_NODE) {
        to.appendChild(document.createTextNode(node.nodeValue));
        return;
      }
      if (node.nodeType !== Node.ELEMENT_NODE || !ALLOWED_TAGS.has(node.tagName)) return;
      const copy = document.createElement(node.tagName.toLowerCase());
      if (node.tagName === "A") {
        let url = null;
        try { url = new URL(node.getAttribute("href") || "", window.location.href); } catch (error) { url = null; }
        // The parsed scheme, as the browser would follow it ("java\tscript:" parses as javascript:).
        if (url && node.getAttribute("href") && LINK_SCHEMES.has(url.protocol)) copy.href = url.href;
        if (node.hasAttribute("title")) copy.title = node.getAttribute("title");
        copy.target = "_blank";
        copy.rel = "noopener noreferrer";
      }
      copyAllowed(node, copy);
      to.appendChild(copy);
    });
  }

  function safeFragment(content) {
    // A <template> parses inertly: no script runs and nothing loads while the copy is made.
    const template = document.createElement("template");
    template.innerHTML = content;
    const fragment = document.createDocumentFragment();
    copyAllowed(template.content, fragment);
    return fragment;
  }

  function plainText(content) {
    return (safeFragment(content).textContent || "").trim();
  }

  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const exact = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

  function relativeTime(date) {
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    const abs = Math.abs(seconds);
    if (abs < 45) return "just now";
    if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return relative.format(Math.round(seconds / 3600), "hour");
    return relative.format(Math.round(seconds / 86400), "day");
  }

  function timeElement(iso) {
    const date = new Date(iso);
    const time = el("time", "", relativeTime(date));
    time.dateTime = iso;
    time.title = exact.format(date);
    return time;
  }

  function refreshTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (time) {
      time.textContent = relativeTime(new Date(time.dateTime));
    });
  }

  // --- Toasts ---------------------------------------------------------------------------------

  const toasts = document.getElementById("toasts");

  function toast(text, kind, link, seconds) {
    const type = kind || "info";
    const node = el("div", "toast toast-" + type);
    node.setAttribute("role", type === "error" ? "alert" : "status");
    node.appendChild(icon(type === "success" ? "success" : type === "info" ? "info" : type, "msg-icon"));
    const body = el("div", "toast-body");
    body.appendChild(el("div", "", text));
    if (link) {
      const a = el("a", "", link.text);
      a.href = link.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.addEventListener("click", function () { node.remove(); });
      body.appendChild(a);
    }
    node.appendChild(body);
    const close = el("button", "icon-button");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.appendChild(icon("close"));
    close.addEventListener("click", function () { node.remove(); });
    node.appendChild(close);
    toasts.appendChild(node);
    window.setTimeout(function () { node.remove(); }, (seconds || (link ? 30 : 7)) * 1000);
    return node;
  }

  // --- Buttons and their state ------------------------------------------------------------------

  const rows = new Map(); // identifier -> row

  function setupRow(node) {
    const row = {
      id: node.dataset.identifier,
      label: node.dataset.label,
      node: node,
      press: node.querySelector('[data-role="press"]'),
      hiddenLabel: node.querySelector('[data-role="hidden-label"]'),
      envelope: node.querySelector('[data-role="envelope"]'),
      badge: node.querySelector(".badge"),
      reason: node.querySelector(".reason"),
      status: node.querySelector(".btn-status"),
      busy: false,
      statusAt: 0, // when the message beside the button was written (0: none, or a working state)
      readApplied: 0, // the number of the newest read whose answer set this button's state
      current: null, // the event id of the button's newest click: only it sets the status and the busy lock
      asks: node.dataset.asks === "true",
      state: {
        envelope: node.dataset.envelope,
        unread: Number(node.dataset.unread),
        disabled: node.dataset.disabled === "true",
        disabled_reason: node.dataset.disabledReason || null,
        hidden: node.dataset.hidden === "true",
      },
    };
    rows.set(row.id, row);
    row.press.addEventListener("click", function () { press(row); });
    row.envelope.addEventListener("click", function () { openLog(row); });
    return row;
  }

  document.querySelectorAll("#button-list .btn-row").forEach(function (node) {
    if (node.dataset.kind === "webhook") setupRow(node);
  });

  // A button the panel state lists that the page does not show yet (the deal moved into its stage, or
  // the CRM answered again): a row made from the page's own template, in label order.
  function addRow(state) {
    const template = document.getElementById(state.kind === "link" ? "row-template-link" : "row-template");
    if (!template || document.querySelector('#button-list [data-identifier="' + state.identifier + '"]')) return;
    let list = document.getElementById("button-list");
    if (!list) {
      list = document.createElement("ul");
      list.className = "button-list";
      list.id = "button-list";
      const empty = panel.querySelector(".empty");
      if (empty) empty.replaceWith(list); else panel.append(list);
    }
    const node = template.content.firstElementChild.cloneNode(true);
    node.querySelectorAll("[id], [aria-describedby]").forEach(function (el) {
      ["id", "aria-describedby"].forEach(function (name) {
        const value = el.getAttribute(name);
        if (value) el.setAttribute(name, value.split("__id__").join(state.identifier));
      });
    });
    node.dataset.identifier = state.identifier;
    node.dataset.label = state.label;
    node.querySelectorAll(".action-label").forEach(function (el) { el.textContent = state.label; });
    if (state.kind === "link") node.querySelector("a").href = state.url;
    const after = Array.from(list.children).find(function (other) {
      return (other.dataset.label || "").localeCompare(state.label) > 0;
    });
    list.insertBefore(node, after || null);
    if (state.kind !== "webhook") return;
    const row = setupRow(node);
    row.asks = true; // not known here: the press asks the server for the form (nothing to ask: it clicks)
    applyState(row, state);
  }

  // --- Announcing a message of the user's own click while its log is closed ------------------------
  // Inside Pipedrive: its snackbar, plain text, at most 100 characters, at most one every 2 s (then a
  // count of what came meanwhile). Elsewhere: the envelope, and the unread count in the page's title.

  const baseTitle = document.title;
  const SNACKBAR_GAP_MS = 2000;
  let snackbarAt = 0;
  let snackbarHeld = 0;
  let snackbarTimer = null;

  function showTitleCount() {
    let unread = 0;
    rows.forEach(function (row) { unread += row.state.unread || 0; });
    const title = unread ? "(" + unread + ") " + baseTitle : baseTitle;
    if (document.title !== title) document.title = title;
  }

  function snackbar(text) {
    if (!sdk) return;
    sdk.execute(window.AppExtensionsSDK.Command.SHOW_SNACKBAR, { message: text }).catch(function () {});
    snackbarAt = Date.now();
  }

  const announced = new Set(); // message ids: the stream and a poll may both bring one
  const loadedAt = Date.now();

  function arrivedForMe(row, m) {
    if (announced.has(m.id) || Date.parse(m.created_at) < loadedAt - 5000) return; // not news to this page
    announced.add(m.id);
    if (embed !== "pipedrive" || !sdk || (dialog.open && log.row === row)) return;
    const wait = snackbarAt + SNACKBAR_GAP_MS - Date.now();
    if (wait <= 0 && !snackbarHeld) {
      let text = row.label + ": " + plainText(m.content);
      if (text.length > 100) text = text.slice(0, 99) + "…";
      snackbar(text);
      return;
    }
    snackbarHeld += 1;
    if (snackbarTimer) return;
    snackbarTimer = window.setTimeout(function () {
      snackbarTimer = null;
      const held = snackbarHeld;
      snackbarHeld = 0;
      snackbar(held === 1 ? "1 new message" : held + " new messages");
    }, Math.max(wait, 0));
  }

  function applyState(row, state) {
    row.state = state;
    const env = row.envelope;
    env.hidden = state.envelope === "none";
    env.className = "envelope envelope-" + state.envelope;
    row.node.dataset.envelope = state.envelope;
    row.node.dataset.unread = String(state.unread);
    row.badge.hidden = !state.unread;
    row.badge.textContent = String(state.unread);
    let label = "Messages of " + row.label + ": ";
    label += state.unread ? state.unread + " unread" + (state.envelope === "red" ? ", including errors" : "") : "all read";
    env.setAttribute("aria-label", label);
    env.title = state.unread ? state.unread + " unread message" + (state.unread === 1 ? "" : "s") : "Message log";
    row.node.dataset.disabled = String(state.disabled);
    // Hidden by its rules here (the deal moved on), listed for its messages: nothing to press.
    row.press.hidden = Boolean(state.hidden);
    row.hiddenLabel.hidden = !state.hidden;
    if (state.hidden) row.node.dataset.hidden = "true";
    else delete row.node.dataset.hidden;
    showTitleCount();
    if (state.disabled) {
      row.press.setAttribute("aria-disabled", "true");
      row.press.title = state.disabled_reason || "This button is disabled.";
      row.reason.textContent = state.disabled_reason || "";
      row.reason.hidden = false;
    } else {
      row.press.removeAttribute("aria-disabled");
      row.press.removeAttribute("title");
      row.reason.hidden = true;
      row.reason.textContent = "";
    }
  }

  let panelRefresh = null;
  let panelRefreshAgain = false;
  let readsSent = 0; // reads (of some messages, or all) sent from this page, numbered

  function applyReadState(row, seq, state) {
    if (seq < row.readApplied) return; // an earlier read's answer, landing after a later one's
    row.readApplied = seq;
    applyState(row, state);
  }

  async function refreshPanel() {
    // One request at a time; a call during a request runs once more after it.
    if (panelRefresh) {
      panelRefreshAgain = true;
      return panelRefresh;
    }
    panelRefresh = (async function () {
      let asked = 0;
      do {
        panelRefreshAgain = false;
        const reads = readsSent;
        const result = await api("GET", panel.dataset.stateUrl);
        // A read sent meanwhile may not be in this answer (the unread count, a lock until read): ask
        // again, twice at most (a reader scrolling on a slow link must not hold the refresh forever).
        if (reads !== readsSent && asked++ < 2) { panelRefreshAgain = true; continue; }
        if (result.ok && Array.isArray(result.data.buttons)) {
          const listed = new Set();
          result.data.buttons.forEach(function (state) {
            const row = rows.get(state.identifier);
            listed.add(state.identifier);
            if (row) applyState(row, state);
            else addRow(state);
          });
          // A button its rules now hide here, with no message to read: gone from the panel (back when
          // listed again).
          document.querySelectorAll("#button-list .btn-row").forEach(function (node) {
            node.hidden = !listed.has(node.dataset.identifier);
          });
          const notice = document.getElementById("panel-notice");
          if (notice) {
            notice.textContent = result.data.notice || "";
            notice.hidden = !result.data.notice;
          }
        }
      } while (panelRefreshAgain);
    })();
    try {
      await panelRefresh;
    } finally {
      panelRefresh = null;
    }
  }

  function setBusy(row, busy) {
    row.busy = busy;
    if (busy) row.press.setAttribute("aria-busy", "true");
    else row.press.removeAttribute("aria-busy");
  }

  function showStatus(row, message) {
    // A poll's answer can land after a newer message came by the stream: the status beside a button
    // only moves forward to a newer message, and back to a working state only on a new click.
    if (message && message.created_at) {
      const at = Date.parse(message.created_at);
      if (at < row.statusAt) return;
      row.statusAt = at;
    } else {
      row.statusAt = 0;
    }
    const status = row.status;
    status.replaceChildren();
    status.className = "btn-status";
    if (!message) return;
    if (message.working) {
      status.appendChild(el("span", "spinner"));
      status.appendChild(el("span", "btn-status-text", message.working));
      return;
    }
    if (message.done) {
      status.classList.add("status-success");
      status.appendChild(icon("success", "msg-icon"));
      status.appendChild(el("span", "btn-status-text", message.done));
      return;
    }
    status.classList.add("status-" + message.message_type);
    status.appendChild(icon(message.message_type, "msg-icon"));
    const text = el("div", "btn-status-text");
    text.appendChild(el("span", "sr-only", TYPE_NAMES[message.message_type] + ": "));
    text.appendChild(safeFragment(message.content));
    status.appendChild(text);
  }

  // --- Buttons that ask: a form before the click, or a confirmation ---------------------------------
  // The button's fields come from GET /api/buttons/<id>/form (record values read by the server from
  // the CRM, inputs empty); the click carries the inputs. Cancelling (the button, Escape) creates no
  // click and gives the focus back to the button.

  const askDialog = document.getElementById("ask");
  const askForm = askDialog ? askDialog.querySelector("form") : null;

  function fieldId(key) { return "ask-" + key; }

  function inputFor(f) {
    const id = fieldId(f.key);
    if (f.type === "textarea") {
      const area = el("textarea", "ask-input");
      area.id = id; area.name = f.key; area.rows = 3; area.maxLength = 5000;
      return area;
    }
    if (f.type === "select") {
      const select = el("select", "ask-input");
      select.id = id; select.name = f.key;
      const none = el("option", "", f.required ? "Choose…" : "—");
      none.value = "";
      select.appendChild(none);
      f.options.forEach(function (option) {
        const item = el("option", "", option);
        item.value = option;
        select.appendChild(item);
      });
      return select;
    }
    const input = el("input", f.type === "boolean" ? "ask-check" : "ask-input");
    input.id = id; input.name = f.key;
    input.type = { boolean: "checkbox", date: "date", email: "email", number: "number" }[f.type] || "text";
    if (f.type === "number") { input.step = "any"; input.inputMode = "decimal"; }
    if (f.type === "text") input.maxLength = 255;
    if (f.type === "email") input.autocomplete = "email";
    return input;
  }

  function fieldBlock(f) {
    const block = el("div", "ask-field ask-" + (f.kind === "record" ? "record" : f.type));
    block.dataset.key = f.key;
    const error = el("p", "ask-error");
    error.id = fieldId(f.key) + "-error";
    error.hidden = true;
    if (f.kind === "record") {
      block.appendChild(el("span", "ask-label", f.label));
      block.appendChild(el("span", "ask-value", f.value === null || f.value === undefined || f.value === ""
        ? "—" : (typeof f.value === "object" ? JSON.stringify(f.value) : String(f.value))));
      return block;
    }
    if (f.type === "multiselect") {
      const set = el("fieldset", "ask-options");
      set.id = fieldId(f.key);
      set.appendChild(el("legend", "ask-label", f.label + (f.required ? " *" : "")));
      f.options.forEach(function (option, n) {
        const line = el("label", "ask-option");
        const box = el("input", "ask-check");
        box.type = "checkbox"; box.name = f.key; box.value = option; box.id = fieldId(f.key) + "-" + n;
        line.appendChild(box);
        line.appendChild(el("span", "", option));
        set.appendChild(line);
      });
      set.setAttribute("aria-describedby", error.id);
      block.appendChild(set);
      block.appendChild(error);
      return block;
    }
    const input = inputFor(f);
    input.setAttribute("aria-describedby", error.id);
    if (f.required && f.type !== "boolean") input.required = true;
    if (f.required) input.setAttribute("aria-required", "true");
    const label = el("label", f.type === "boolean" ? "ask-check-label" : "ask-label");
    label.htmlFor = input.id;
    if (f.type === "boolean") {
      label.appendChild(input);
      label.appendChild(el("span", "", f.label + (f.required ? " *" : "")));
      block.appendChild(label);
    } else {
      label.textContent = f.label + (f.required ? " *" : "");
      block.appendChild(label);
      block.appendChild(input);
    }
    block.appendChild(error);
    return block;
  }

  function collect(fields) {
    const values = {};
    fields.forEach(function (f) {
      if (f.kind !== "input") return;
      if (f.type === "boolean") {
        values[f.key] = askForm.elements[f.key].checked;
      } else if (f.type === "multiselect") {
        values[f.key] = Array.from(askForm.querySelectorAll('input[name="' + f.key + '"]:checked'))
          .map(function (box) { return box.value; });
      } else {
        const value = askForm.elements[f.key].value.trim();
        values[f.key] = value === "" ? null : value;
      }
    });
    return values;
  }

  function showFieldError(key, sentence) {
    askForm.querySelectorAll(".ask-error").forEach(function (p) { p.hidden = true; p.textContent = ""; });
    askForm.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    const general = askForm.querySelector(".ask-general");
    general.hidden = true;
    const error = key ? document.getElementById(fieldId(key) + "-error") : null;
    if (!error) {
      general.textContent = sentence;
      general.hidden = false;
      return;
    }
    error.textContent = sentence;
    error.hidden = false;
    const input = document.getElementById(fieldId(key)) || askForm.querySelector('[name="' + key + '"]');
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }

  async function ask(row) {
    // What the button asks, or null when the user cancelled (or the form could not be had).
    const url = "/api/buttons/" + row.id + "/form?" + new URLSearchParams({
      resource: record.resource, object_id: record.objectId,
    });
    const result = await api("GET", url);
    if (!result.ok) {
      toast(result.data.detail || "The form could not be loaded (HTTP " + result.status + ").", "error");
      return null;
    }
    const form = result.data;
    if (!form.fields.length && !form.confirm) { // nothing to ask after all (a row added while open)
      const sent = await row.sendClick(null, false);
      return sent.ok ? {} : null;
    }
    const inputs = form.fields.filter(function (f) { return f.kind === "input"; });
    if (!form.fields.length && form.confirm && embed === "pipedrive" && sdk) {
      try {
        const answer = await sdk.execute(window.AppExtensionsSDK.Command.SHOW_CONFIRMATION, {
          title: form.confirm_text, okText: "Run", cancelText: "Cancel",
        });
        if (!answer || !answer.confirmed) return null; // cancelled: no click
        const sent = await row.sendClick(null, false);
        return sent.ok ? {} : null;
      } catch (error) { /* the host cannot: ask in the panel */ }
    }
    return new Promise(function (resolve) {
      let settled = false;
      const done = function (value) {
        if (settled) return;
        settled = true;
        askDialog.removeEventListener("close", onClose);
        askForm.removeEventListener("submit", onSubmit);
        if (askDialog.open) askDialog.close();
        row.press.focus(); // back where the user was
        fitFrame();
        resolve(value);
      };
      const onClose = function () { done(null); }; // Escape, or Cancel
      const onSubmit = async function (event) {
        event.preventDefault();
        lastGesture = Date.now(); // Run is the gesture a redirect's tab opens from
        const values = collect(form.fields);
        const submit = askForm.querySelector('[type="submit"]');
        submit.disabled = true;
        try {
          const outcome = await row.sendClick(inputs.length ? values : null, true);
          if (outcome.ok) { done({}); return; }
          showFieldError(outcome.field, outcome.detail);
        } finally {
          submit.disabled = false;
        }
      };
      askDialog.querySelector(".ask-title").textContent = form.fields.length ? row.label : form.confirm_text;
      const intro = askDialog.querySelector(".ask-intro");
      intro.textContent = form.fields.length && form.confirm ? form.confirm_text : "";
      intro.hidden = !intro.textContent;
      const body = askForm.querySelector(".ask-fields");
      body.replaceChildren.apply(body, form.fields.map(fieldBlock));
      askForm.querySelector(".ask-general").hidden = true;
      askForm.querySelector('[type="submit"]').textContent = form.fields.length ? "Run " + row.label : "Run";
      askDialog.addEventListener("close", onClose);
      askForm.addEventListener("submit", onSubmit);
      askDialog.querySelectorAll('[data-role="cancel"]').forEach(function (cancel) {
        cancel.onclick = function () { askDialog.close(); };
      });
      askDialog.showModal();
      const first = askForm.querySelector(".ask-input, .ask-check, [type='submit']");
      if (first) first.focus({ preventScroll: true });
      body.scrollTop = 0; // the record's values, first in the list, stay in view (showModal scrolled to the input)
      fitFrame();
    });
  }

  // --- Clicking: press, then follow the event for its window ------------------------------------

  const followed = new Map(); // event id -> {id, row, endsAt, seen:Set, delivery}
  let asking = false; // a button's form is loading or open

  async function press(row) {
    lastGesture = Date.now();
    if (row.busy) return;
    if (row.state.disabled) {
      toast(row.state.disabled_reason || "This button is disabled.", "warning");
      return;
    }
    const selected = record.view === "list" ? listSelection : [record.objectId];
    if (!selected.length) {
      toast("Select at least one " + record.resource + " in the list first: this button sends the selected records.",
        "warning");
      return;
    }
    // One form at a time: a second button pressed while the first one's form loads would otherwise
    // take over the dialog, and Run would send both clicks.
    if (row.asks && askDialog && asking) return;
    if (row.redirect) row.redirect.remove(); // a new click: the last one's page is no longer offered
    row.redirect = null;
    if (row.asks && askDialog) {
      // The form sends the click itself (its errors stay beside their fields); cancelled: nothing sent.
      asking = true;
      const previous = row.current;
      row.current = null; // while the form is open, an earlier click ending does not unlock the button
      setBusy(row, true);
      row.sendClick = function (fields, inForm) { return sendClick(row, selected, fields, inForm); };
      let sent = null;
      try {
        sent = await ask(row);
      } finally {
        asking = false;
        if (!sent) {
          if (row.current === null && followed.has(previous)) row.current = previous;
          setBusy(row, false);
        }
      }
      return;
    }
    setBusy(row, true);
    await sendClick(row, selected, null);
  }

  async function sendClick(row, selected, fields, inForm) {
    // The click; {ok} and, refused, the sentence (and the input it names) for a form to show.
    const previous = row.current;
    row.current = null; // the button's earlier clicks still log their messages, but no longer speak beside it
    showStatus(row, { working: "Sending…" });
    const result = await api("POST", "/api/buttons/" + row.id + "/click", {
      resource: record.resource, view: record.view, selectedIds: selected, fields: fields,
    });
    if (result.status === 202) {
      showStatus(row, { working: "Waiting for the automation…" });
      follow(row, result.data.event_id, result.data.window_ends_at);
      return { ok: true };
    }
    showStatus(row, null);
    if (row.current === null && followed.has(previous)) row.current = previous; // no newer click after all
    const detail = result.data.detail || "The click failed (HTTP " + result.status + ").";
    if (result.status === 409) {
      applyState(row, Object.assign({}, row.state, { disabled: true, disabled_reason: detail }));
      refreshPanel();
    }
    if (!inForm) {
      setBusy(row, false);
      toast(detail, "error");
    }
    return { ok: false, detail: detail, field: result.data.field || null };
  }

  function saveFollowed() {
    try {
      const list = [];
      followed.forEach(function (ev) { list.push({ id: ev.id, button: ev.row.id, endsAt: ev.endsAt }); });
      sessionStorage.setItem(eventsKey, JSON.stringify(list));
    } catch (error) { /* storage off: a reload forgets the click, nothing worse */ }
  }

  function follow(row, eventId, endsAt) {
    const ev = { id: eventId, row: row, endsAt: Date.parse(endsAt), seen: new Set(), delivery: "pending" };
    row.current = eventId;
    followed.set(eventId, ev);
    saveFollowed();
    pollEvent(ev);
    // Most automations answer within a second: look again soon rather than at the next tick, so their
    // answer shows at once (and a click still unsent after a second says it is queued).
    [300, 700, 1200, 2000].forEach(function (ms) {
      window.setTimeout(function () { if (ev.delivery === "pending") pollEvent(ev); }, ms);
    });
    schedule();
  }

  function resumeFollowed() {
    let list = [];
    try { list = JSON.parse(sessionStorage.getItem(eventsKey) || "[]"); } catch (error) { list = []; }
    list.forEach(function (item) {
      const row = rows.get(item.button);
      if (row && item.endsAt > Date.now()) {
        followed.set(item.id, { id: item.id, row: row, endsAt: item.endsAt, seen: new Set(), delivery: "pending" });
        const current = row.current ? followed.get(row.current) : null;
        if (!current || current.endsAt < item.endsAt) row.current = item.id; // the newest click
        setBusy(row, true);
      }
    });
    saveFollowed();
  }

  async function pollEvent(ev) {
    if (ev.polling) { ev.pollAgain = true; return; }
    ev.polling = true;
    try {
      do {
        ev.pollAgain = false;
        const result = await api("GET", "/api/events/" + ev.id + "/");
        if (!result.ok) {
          if (result.status === 404) stopFollowing(ev);
          return;
        }
        const data = result.data;
        ev.delivery = data.delivery;
        const fresh = (data.messages || []).filter(function (m) { return !ev.seen.has(m.id); });
        fresh.forEach(function (m) { ev.seen.add(m.id); });
        fresh.slice().reverse().forEach(function (m) { arrivedForMe(ev.row, m); }); // oldest first
        // An earlier click of a button clicked again logs its messages and its redirect still reaches the
        // user, but the status and the lock beside the button are the newer click's.
        const current = ev.row.current === ev.id;
        if (current && data.messages && data.messages.length) {
          showStatus(ev.row, data.messages[0]);
        } else if (current && data.delivery === "pending" && !ev.row.statusAt) {
          // Not sent a second after the click: the delivery workers are busy (or this company's share is).
          const waited = Date.now() - (ev.endsAt - WINDOW_MS);
          showStatus(ev.row, { working: data.queued && waited > 1000
            ? "Queued: OneClick is busy; your click goes out in a moment…" : "Waiting for the automation…" });
        }
        if (current && data.delivery !== "pending") setBusy(ev.row, false);
        if (data.delivery === "failed" && !data.messages.length && !ev.told) {
          ev.told = true;
          if (current) showStatus(ev.row, null);
          toast(current ? "The webhook could not be delivered."
            : "An earlier click of " + ev.row.label + " could not be delivered.", "error");
        } else if (current && data.delivery === "delivered" && !data.messages.length && !ev.row.statusAt) {
          showStatus(ev.row, { done: "Sent to the automation." });
        }
        if (data.redirect_url) openRedirect(ev, data.redirect_url);
        if (fresh.length) {
          refreshPanel();
          if (log.row === ev.row) loadNewest();
        }
      } while (ev.pollAgain);
    } finally {
      ev.polling = false;
    }
    if (Date.now() > ev.endsAt + 2000) stopFollowing(ev);
  }

  function stopFollowing(ev) {
    followed.delete(ev.id);
    saveFollowed();
    if (ev.row.current === ev.id) setBusy(ev.row, false);
    let other = false;
    followed.forEach(function (e) { if (e.row === ev.row) other = true; });
    if (!other) {
      const row = ev.row;
      window.setTimeout(function () {
        let again = false;
        followed.forEach(function (e) { if (e.row === row) again = true; });
        if (!again && !row.busy) showStatus(row, null); // not a new click's "Sending…" or form
      }, 10000);
    }
  }

  // --- Redirects ------------------------------------------------------------------------------
  // A browser opens a tab only within a few seconds of the user's gesture (about 5 s in Chromium) and
  // never from a frame that may not open popups. So: while the click's gesture still counts, the tab
  // opens by itself; otherwise, or when the browser says no, an "Open <host>" button beside the click's
  // status lets the user open it (a press is a gesture of its own). Inside Pipedrive a link to a record
  // of the same account navigates there through the SDK instead. Never an empty tab: the URL is opened
  // directly, not an about:blank sent on later.

  const ACTIVATION_MS = 5000; // where the browser cannot tell (no navigator.userActivation)
  const PIPEDRIVE_VIEWS = { deal: "DEALS", person: "CONTACTS", organization: "ORGANIZATIONS" };
  const crmDomain = panel.dataset.crmDomain || "";
  const offeredRedirects = new Set();
  let lastGesture = 0;

  function gestureStillCounts() {
    if (navigator.userActivation) return navigator.userActivation.isActive;
    return Date.now() - lastGesture < ACTIVATION_MS;
  }

  function pipedriveTarget(url) {
    // A deal, person or organization of the Pipedrive account this panel is in: https://<its host>/deal/7.
    if (embed !== "pipedrive" || !sdk || !crmDomain) return null;
    let parts = null;
    try { parts = new URL(url); } catch (error) { return null; }
    const match = parts.pathname.match(/^\/(deal|person|organization)\/(\d+)\/?$/);
    if (parts.protocol !== "https:" || parts.hostname !== crmDomain || !match) return null;
    return { view: window.AppExtensionsSDK.View[PIPEDRIVE_VIEWS[match[1]]], id: Number(match[2]) };
  }

  function redirectKey(ev, url) { return "oneclick:redirect:" + ev.id + ":" + url; }

  function redirectDone(ev, url) {
    try { sessionStorage.setItem(redirectKey(ev, url), "1"); } catch (error) { /* no storage: once per page */ }
  }

  async function openRedirect(ev, url) {
    // Once per event and URL, also across a reload of the page.
    const key = redirectKey(ev, url);
    if (offeredRedirects.has(key)) return;
    offeredRedirects.add(key);
    try { if (sessionStorage.getItem(key)) return; } catch (error) { /* no storage */ }
    const target = pipedriveTarget(url);
    if (target) {
      try {
        await sdk.execute(window.AppExtensionsSDK.Command.REDIRECT_TO, target);
        redirectDone(ev, url);
        return;
      } catch (error) { /* Pipedrive refused: the button below still takes the user there */ }
    }
    if (gestureStillCounts()) {
      let tab = null;
      try { tab = window.open(url, "_blank"); } catch (error) { tab = null; }
      if (tab) {
        try { tab.opener = null; } catch (error) { /* already cut off by the browser */ }
        redirectDone(ev, url);
        return;
      }
    }
    offerRedirect(ev, url);
  }

  function offerRedirect(ev, url) {
    const row = ev.row;
    if (row.redirect) row.redirect.remove();
    let host = url;
    try { host = new URL(url).host; } catch (error) { /* shown whole */ }
    const box = el("div", "btn-redirect");
    const open = el("a", "btn btn-primary btn-open");
    open.href = url;
    open.target = "_blank";
    open.rel = "noopener noreferrer";
    open.title = url;
    open.appendChild(icon("external"));
    open.appendChild(el("span", "", "Open " + host));
    const dismiss = el("button", "icon-button");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", "Dismiss the link to " + host);
    dismiss.appendChild(icon("close"));
    const done = function () {
      redirectDone(ev, url);
      box.remove();
      if (row.redirect === box) row.redirect = null;
      fitFrame();
    };
    open.addEventListener("click", function () { window.setTimeout(done, 0); });
    dismiss.addEventListener("click", function () { done(); row.press.focus(); });
    box.appendChild(open);
    box.appendChild(dismiss);
    row.status.after(box);
    row.redirect = box;
    fitFrame();
  }

  // --- The message log ---------------------------------------------------------------------------

  const dialog = document.getElementById("log");
  const log = {
    row: null,
    list: document.getElementById("log-list"),
    body: document.getElementById("log-body"),
    empty: document.getElementById("log-empty"),
    more: document.getElementById("log-more"),
    end: document.getElementById("log-end"),
    announcer: document.getElementById("log-announcer"),
    readAll: dialog.querySelector('[data-role="read-all"]'),
    items: new Map(), // message id -> li
    next: null,
    loadingOlder: false,
    newest: null,
    arrived: null, // ids the stream brought while the newest page was on its way (a Set), or null
    newestAgain: false,
    generation: 0,
    groups: new Map(), // click_id -> its group in the list
    queue: new Set(),
    flushTimer: null,
    opener: null,
  };

  const seenObserver = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting && entry.intersectionRatio >= 0.5 && document.visibilityState === "visible") {
        seenObserver.unobserve(entry.target);
        queueRead(Number(entry.target.dataset.id));
      }
    });
  }, { root: log.body, threshold: [0.5] });

  const olderObserver = new IntersectionObserver(function (entries) {
    if (entries.some(function (entry) { return entry.isIntersecting; })) loadOlder();
  }, { root: log.body, rootMargin: "0px 0px 200px 0px" });
  olderObserver.observe(log.more);

  function messageItem(m) {
    const li = el("li", "msg msg-" + m.message_type);
    li.dataset.id = String(m.id);
    li.dataset.type = m.message_type;
    li.appendChild(el("span", "msg-icon")).appendChild(icon(m.message_type, ""));
    const main = el("div", "msg-main");
    const meta = el("div", "msg-meta");
    meta.appendChild(el("span", "msg-type", TYPE_NAMES[m.message_type] || m.message_type));
    meta.appendChild(el("span", "sep", "·"));
    meta.appendChild(el("span", "msg-source", SOURCE_NAMES[m.source] || m.source));
    meta.appendChild(el("span", "sep", "·"));
    meta.appendChild(timeElement(m.created_at));
    meta.appendChild(el("span", "unread-pill", "Unread"));
    main.appendChild(meta);
    const content = el("div", "msg-content");
    content.appendChild(safeFragment(m.content));
    main.appendChild(content);
    clampLong(content, main);
    if (m.redirect_url && !plainText(m.content).includes(m.redirect_url)) {
      const a = el("a", "msg-redirect");
      a.href = m.redirect_url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.appendChild(icon("external"));
      a.appendChild(el("span", "", m.redirect_url));
      main.appendChild(a);
    }
    li.appendChild(main);
    if (!m.read) {
      li.classList.add("is-unread");
      seenObserver.observe(li);
    }
    return li;
  }

  // --- Messages grouped by the click they answer: newest click first, each click's newest first ---
  // A click's time is that of its first message (its webhook's answer, as a rule): messages carry the
  // click_id, not the click's own time.

  function groupOf(m) {
    let group = log.groups.get(m.click_id);
    if (!group) {
      const li = el("li", "click-group");
      const head = el("div", "click-head");
      const list = el("ul", "click-messages");
      li.appendChild(head);
      li.appendChild(list);
      group = { li: li, head: head, list: list, startedAt: Infinity, size: 0 };
      log.groups.set(m.click_id, group);
    }
    return group;
  }

  function placeMessage(m, li) {
    const at = Date.parse(m.created_at);
    li.dataset.at = String(at);
    const group = groupOf(m);
    // Within the click: newest first.
    const after = Array.from(group.list.children).find(function (other) { return Number(other.dataset.at) < at; });
    group.list.insertBefore(li, after || null);
    group.size += 1;
    if (at < group.startedAt) {
      group.startedAt = at;
      group.li.dataset.at = String(at);
      group.head.replaceChildren(el("span", "", "Click"), el("span", "sep", "·"), timeElement(m.created_at));
    }
    // Among the clicks: newest click first.
    group.li.remove();
    const next = Array.from(log.list.children).find(function (other) { return Number(other.dataset.at) < group.startedAt; });
    log.list.insertBefore(group.li, next || null);
  }

  function removeMessage(id) {
    const li = log.items.get(id);
    if (!li) return;
    seenObserver.unobserve(li);
    log.items.delete(id);
    log.groups.forEach(function (group, clickId) {
      if (!group.list.contains(li)) return;
      li.remove();
      group.size -= 1;
      if (!group.size) { group.li.remove(); log.groups.delete(clickId); }
    });
  }

  function clampLong(content, main) {
    // Messages may be 2,000 characters: a long one shows its first lines and a "Show more" button,
    // kept only if the text really overflows once the item is laid out.
    content.classList.add("is-clamped");
    content.id = "msg-content-" + Math.random().toString(36).slice(2);
    const more = el("button", "msg-more", "Show more");
    more.type = "button";
    more.setAttribute("aria-expanded", "false");
    more.setAttribute("aria-controls", content.id);
    more.addEventListener("click", function () {
      const open = content.classList.toggle("is-clamped") === false;
      more.textContent = open ? "Show less" : "Show more";
      more.setAttribute("aria-expanded", String(open));
    });
    main.appendChild(more);
    window.requestAnimationFrame(function () {
      if (content.scrollHeight <= content.clientHeight + 1) {
        content.classList.remove("is-clamped");
        more.remove();
      }
    });
  }

  function updateLogChrome() {
    log.empty.hidden = log.items.size > 0 || log.loadingOlder || log.next !== null;
    log.more.hidden = log.next === null;
    log.end.hidden = log.next !== null || log.items.size < PAGE_SIZE;
    log.readAll.disabled = !log.row || !log.row.state.unread;
  }

  function pageUrl(before) {
    const params = new URLSearchParams({ resource: record.resource, object_id: record.objectId, limit: String(PAGE_SIZE) });
    if (before) params.set("before", String(before));
    return "/api/buttons/" + log.row.id + "/messages?" + params.toString();
  }

  function sameOrigin(url) {
    const parsed = new URL(url, window.location.href);
    return parsed.pathname + parsed.search;
  }

  async function openLog(row) {
    log.opener = row.envelope;
    log.row = row;
    log.generation += 1;
    log.items.clear();
    log.groups.clear();
    log.list.replaceChildren();
    log.next = null;
    document.getElementById("log-subtitle").replaceChildren(
      el("span", "nowrap", row.label), el("span", "sep", " · "), el("span", "nowrap", record.title));
    dialog.dataset.button = row.id;
    updateLogChrome();
    if (!dialog.open) dialog.showModal();
    log.body.scrollTop = 0;
    log.loadingOlder = true;
    log.list.setAttribute("aria-busy", "true");
    const generation = log.generation;
    const result = await api("GET", pageUrl());
    log.loadingOlder = false;
    log.list.removeAttribute("aria-busy");
    if (generation !== log.generation) return;
    if (!result.ok) {
      toast(result.data.detail || "The message log could not be loaded.", "error");
      updateLogChrome();
      return;
    }
    result.data.results.forEach(function (m) {
      if (log.items.has(m.id)) return; // already brought by the stream, or by a newest page meanwhile
      const li = messageItem(m);
      log.items.set(m.id, li);
      if (log.arrived) log.arrived.add(m.id);
      placeMessage(m, li);
    });
    log.next = result.data.next;
    updateLogChrome();
    schedule();
  }

  async function loadOlder() {
    if (!log.row || !log.next || log.loadingOlder) return;
    log.loadingOlder = true;
    const generation = log.generation;
    const cursor = log.next;
    const result = await api("GET", sameOrigin(cursor));
    log.loadingOlder = false;
    // The log was cleared meanwhile (a newest page found it whole): this older page is gone too.
    if (generation !== log.generation || !result.ok || log.next !== cursor) return;
    result.data.results.forEach(function (m) {
      if (log.items.has(m.id)) return;
      const li = messageItem(m);
      log.items.set(m.id, li);
      placeMessage(m, li);
    });
    log.next = result.data.next;
    updateLogChrome();
    // The sentinel may still be in view (short pages): keep filling.
    if (log.next) window.requestAnimationFrame(function () {
      const box = log.more.getBoundingClientRect();
      const view = log.body.getBoundingClientRect();
      if (box.top < view.bottom + 200) loadOlder();
    });
  }

  function showArrived(m) {
    // A message the stream brought with it: on screen at once, no request (the API stays the source of
    // truth: the panel's state and the next page still come from it).
    if (log.items.has(m.id)) return;
    const li = messageItem(m);
    li.classList.add("is-new");
    log.items.set(m.id, li);
    if (log.arrived) log.arrived.add(m.id);
    placeMessage(m, li);
    log.announcer.textContent = "New " + (TYPE_NAMES[m.message_type] || "").toLowerCase() + " message: " +
      plainText(m.content);
    updateLogChrome();
  }

  async function loadNewest() {
    // New messages go on top; the newest page is enough (a burst of more than a page is rare and the
    // rest stays reachable by scrolling).
    if (!log.row) return;
    if (log.newest) { log.newestAgain = true; return; }
    log.newest = true;
    try {
      do {
        log.newestAgain = false;
        const generation = log.generation;
        log.arrived = new Set(); // what the stream brings while this page is on its way
        const result = await api("GET", pageUrl());
        const arrived = log.arrived;
        log.arrived = null;
        if (generation !== log.generation || !result.ok) {
          if (log.newestAgain && log.row) continue; // asked again, for the log open now
          return;
        }
        const results = result.data.results;
        if (results.length < PAGE_SIZE && !result.data.next) {
          // The newest page is the whole log: whatever the log shows beyond it was cleared meanwhile
          // (how a polling page learns of a Clear all messages), except what arrived after it was asked.
          const kept = new Set(results.map(function (m) { return m.id; }));
          Array.from(log.items.keys()).forEach(function (id) {
            if (!kept.has(id) && !arrived.has(id)) removeMessage(id);
          });
          log.next = null;
        }
        const fresh = results.filter(function (m) { return !log.items.has(m.id); });
        for (let i = fresh.length - 1; i >= 0; i--) {
          const m = fresh[i];
          const li = messageItem(m);
          li.classList.add("is-new");
          log.items.set(m.id, li);
          placeMessage(m, li);
        }
        if (log.items.size === fresh.length) log.next = result.data.next;
        if (fresh.length) {
          const latest = fresh[0];
          log.announcer.textContent = "New " + (TYPE_NAMES[latest.message_type] || "").toLowerCase() +
            " message: " + plainText(latest.content);
        }
        updateLogChrome();
      } while (log.newestAgain);
    } finally {
      log.newest = null;
    }
  }

  function markShownRead(ids) {
    ids.forEach(function (id) {
      const li = log.items.get(id);
      if (li && li.classList.contains("is-unread")) {
        li.classList.add("just-read");
        li.classList.remove("is-unread");
        seenObserver.unobserve(li);
      }
    });
  }

  function queueRead(id) {
    log.queue.add(id);
    if (!log.flushTimer) log.flushTimer = window.setTimeout(flushRead, READ_FLUSH_MS);
  }

  async function flushRead() {
    log.flushTimer = null;
    const row = log.row;
    if (!row || !log.queue.size) { log.queue.clear(); return; }
    const ids = Array.from(log.queue);
    log.queue.clear();
    const seq = ++readsSent;
    const result = await api("POST", "/api/buttons/" + row.id + "/messages/read", {
      resource: record.resource, object_id: record.objectId, ids: ids,
    });
    if (result.ok) {
      // Read on the server (the envelope and the disable rules follow at once), but the markers stay
      // until the reader leaves the log, so what was new is still visible while reading it.
      applyReadState(row, seq, result.data.button);
      if (log.row === row) updateLogChrome();
    } else {
      window.setTimeout(function () { // try again later, when still on screen
        ids.forEach(function (id) {
          const li = log.items.get(id);
          if (li && log.row === row) seenObserver.observe(li);
        });
      }, 5000);
    }
  }

  log.readAll.addEventListener("click", async function () {
    const row = log.row;
    if (!row) return;
    log.readAll.disabled = true;
    const shown = Array.from(log.items.keys()); // not what the stream brings while this is on its way
    const seq = ++readsSent;
    const result = await api("POST", "/api/buttons/" + row.id + "/messages/read-all", {
      resource: record.resource, object_id: record.objectId,
    });
    if (!result.ok) {
      toast(result.data.detail || "Could not mark the messages read.", "error");
      updateLogChrome();
      return;
    }
    applyReadState(row, seq, result.data.button);
    if (log.row === row) {
      markShownRead(shown);
      log.announcer.textContent = "All messages marked read.";
      updateLogChrome();
    }
  });

  dialog.querySelector('[data-role="close"]').addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  dialog.addEventListener("close", function () {
    if (log.flushTimer) { window.clearTimeout(log.flushTimer); flushRead(); }
    seenObserver.disconnect();
    log.row = null;
    log.generation += 1;
    delete dialog.dataset.button;
    if (log.opener && !log.opener.hidden) log.opener.focus();
    schedule();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    // Unread messages that were on screen while the tab was hidden are seen now.
    log.items.forEach(function (li) {
      if (li.classList.contains("is-unread")) { seenObserver.unobserve(li); seenObserver.observe(li); }
    });
    tick();
  });

  // --- Live updates: server-sent events, polling when they are unavailable -----------------------

  const live = document.getElementById("live");
  let streaming = false;
  let source = null;
  let timer = null;

  function setLive(state) {
    live.dataset.state = state;
    const text = live.querySelector(".live-text");
    if (state === "stream") { text.textContent = "Live"; live.title = "New messages appear as they arrive"; }
    else if (state === "poll") { text.textContent = "Auto-refresh"; live.title = "Checking for new messages every few seconds"; }
    else { text.textContent = "Connecting"; live.title = "Live updates are starting"; }
  }

  function pendingDelivery() {
    let pending = false;
    followed.forEach(function (ev) { if (ev.delivery === "pending") pending = true; });
    return pending;
  }

  function interval() {
    if (document.visibilityState !== "visible") return POLL_IDLE_MS;
    if (streaming) {
      if (pendingDelivery()) return POLL_ACTIVE_MS;
      return panel.dataset.placeRules === "true" ? PLACE_REFRESH_MS : STREAM_SAFETY_MS;
    }
    return followed.size || log.row ? POLL_ACTIVE_MS : POLL_IDLE_MS;
  }

  function schedule() {
    if (timer) window.clearTimeout(timer);
    if (ended) return; // an embedded panel whose credential could not be renewed waits for a reload
    timer = window.setTimeout(tick, interval());
  }

  async function tick() {
    if (timer) { window.clearTimeout(timer); timer = null; }
    const work = [];
    followed.forEach(function (ev) {
      if (!streaming || ev.delivery === "pending" || Date.now() > ev.endsAt) work.push(pollEvent(ev));
    });
    work.push(refreshPanel());
    if (log.row && !streaming) work.push(loadNewest());
    await Promise.allSettled(work);
    refreshTimes(document);
    schedule();
  }

  function onLog(data) {
    const row = rows.get(data.button);
    if (data.cleared) { // an admin cleared the button's messages: an open log of it empties now
      refreshPanel();
      if (row && log.row === row) openLog(row);
      return;
    }
    if (data.read) { refreshPanel(); return; }
    const m = data.message;
    if (row && m) {
      if (log.row === row && dialog.open) showArrived(m);
      if (data.mine) {
        arrivedForMe(row, m);
        followed.forEach(function (ev) {
          if (ev.row !== row || !m.event_id || m.event_id !== ev.id) return;
          if (row.current === ev.id) showStatus(row, m); // the click's newest word, without a request
          if (m.redirect_url) openRedirect(ev, m.redirect_url);
        });
      }
    }
    refreshPanel();
    if (row && log.row === row && !m) loadNewest();
    if (data.mine) {
      followed.forEach(function (ev) { if (!row || ev.row === row) pollEvent(ev); });
    }
  }

  function onReady(resumed) {
    const catchUp = !streaming || resumed;
    streaming = true;
    setLive("stream");
    if (!catchUp) return;
    // Whatever happened while the stream was down (or, resumed, while the server's Redis was away).
    refreshPanel();
    if (log.row) loadNewest();
    followed.forEach(function (ev) { pollEvent(ev); });
    schedule();
  }

  function onStreamEvent(type, text) {
    if (type === "ready") {
      let data = {};
      try { data = JSON.parse(text) || {}; } catch (error) { data = {}; }
      onReady(data.resumed === true);
      return;
    }
    if (type === "unavailable") { // Redis is down: poll, and try the stream again later
      if (source) source.close();
      fallBack();
      window.setTimeout(connect, 30000);
      return;
    }
    if (type !== "log") return;
    let data = null;
    try { data = JSON.parse(text); } catch (error) { return; }
    onLog(data);
  }

  function connect() {
    if (panel.dataset.live === "poll" || !("EventSource" in window)) {
      setLive("poll");
      schedule();
      return;
    }
    if (embed) { streamOverFetch(); return; }
    source = new EventSource(panel.dataset.streamUrl);
    ["ready", "log", "unavailable"].forEach(function (type) {
      source.addEventListener(type, function (event) { onStreamEvent(type, event.data); });
    });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        fallBack(); // e.g. 204: no live updates on this server
      } else {
        streaming = false; // reconnecting by itself; poll meanwhile
        setLive("poll");
        schedule();
      }
    };
  }

  // The same server-sent events read through fetch, which can send the bearer credential. It
  // reconnects as EventSource would (the server ends each stream after a few minutes).
  async function streamOverFetch() {
    const controller = new AbortController();
    let stopped = false;
    source = { close: function () { stopped = true; controller.abort(); } };
    let response = null;
    try {
      response = await fetch(panel.dataset.streamUrl, {
        headers: authHeaders({ Accept: "text/event-stream" }), credentials: "omit", cache: "no-store",
        signal: controller.signal,
      });
    } catch (error) {
      response = null;
    }
    if (response && response.status === 204) { fallBack(); return; } // no live updates on this server
    if (response && response.status === 401 && !(await renew())) { fallBack(); sessionEnded(); return; }
    if (response && response.ok && response.body) {
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      try {
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) break;
          buffer += chunk.value;
          let end = buffer.indexOf("\n\n");
          while (end >= 0) {
            let type = "message";
            const data = [];
            buffer.slice(0, end).split("\n").forEach(function (line) {
              if (line.startsWith("event:")) type = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
            });
            buffer = buffer.slice(end + 2);
            if (type !== "message" || data.length) onStreamEvent(type, data.join("\n"));
            end = buffer.indexOf("\n\n");
          }
        }
      } catch (error) { /* the connection dropped, or the page closed it */ }
    }
    if (stopped || ended) return;
    streaming = false; // poll meanwhile, then connect again
    setLive("poll");
    schedule();
    window.setTimeout(connect, 2000);
  }

  function fallBack() {
    streaming = false;
    setLive("poll");
    schedule();
  }

  // --- Inside a CRM's frame: the credential, the frame's size and the theme -----------------------

  const sessionNote = document.getElementById("embed-session");
  let sdk = null;
  let renewing = null;
  let renewTimer = null;
  let ended = false;

  function sessionEnded() {
    if (ended) return;
    ended = true;
    if (source) source.close();
    if (timer) window.clearTimeout(timer);
    if (sessionNote) {
      sessionNote.textContent = "This panel's session has ended. Reload the page to continue.";
      sessionNote.hidden = false;
    }
  }

  // A fresh token from the CRM: Pipedrive's SDK signs one; another host answers a postMessage.
  function crmToken() {
    if (embed === "pipedrive") {
      if (!sdk) return Promise.resolve(null);
      return sdk.execute(window.AppExtensionsSDK.Command.GET_SIGNED_TOKEN)
        .then(function (data) { return data && typeof data.token === "string" ? data.token : null; })
        .catch(function () { return null; });
    }
    return new Promise(function (resolve) {
      const done = function (token) {
        window.removeEventListener("message", onMessage);
        window.clearTimeout(timeout);
        resolve(token);
      };
      const onMessage = function (event) {
        const data = event.data;
        if (event.source === window.parent && data && data.type === "oneclick:token" && typeof data.token === "string") {
          done(data.token);
        }
      };
      const timeout = window.setTimeout(function () { done(null); }, 10000);
      window.addEventListener("message", onMessage);
      window.parent.postMessage({ type: "oneclick:token-request" }, "*");
    });
  }

  function scheduleRenewal(seconds) {
    if (renewTimer) window.clearTimeout(renewTimer);
    // Well before the end, so a slow CRM or a retry still has time.
    renewTimer = window.setTimeout(renew, Math.max(10, Number(seconds) * 0.8) * 1000);
  }

  function renew() {
    if (!embed || ended) return Promise.resolve(false);
    if (renewing) return renewing;
    renewing = (async function () {
      const token = await crmToken();
      if (!token) return false;
      try {
        const response = await fetch(panel.dataset.sessionUrl, {
          method: "POST", credentials: "omit",
          headers: { Accept: "application/json", "Content-Type": "application/json" },
          body: JSON.stringify({ token: token }),
        });
        const data = await response.json();
        if (!response.ok || typeof data.access !== "string") return false;
        access = data.access;
        scheduleRenewal(data.expires_in);
        return true;
      } catch (error) {
        return false;
      }
    })();
    renewing.finally(function () { renewing = null; });
    return renewing;
  }

  const MIN_HEIGHT = 100; // what Pipedrive allows a custom panel
  const MAX_HEIGHT = 750;
  const LOG_HEIGHT = 560; // the open log fills the frame: this much room at least
  let askedHeight = 0;
  let sizing = false;

  function contentHeight() {
    const main = document.getElementById("main");
    let height = Math.ceil(main.getBoundingClientRect().height);
    if (dialog.open) height = Math.max(height, LOG_HEIGHT);
    // The form needs its whole height in the CRM's frame (Pipedrive allows up to 750 px).
    if (askDialog && askDialog.open) {
      // Its natural height: the frame's as it is, with the scrolled field list at full length.
      const frame = askDialog.querySelector(".ask-frame");
      const list = askDialog.querySelector(".ask-fields");
      height = Math.max(height, frame.scrollHeight - list.clientHeight + list.scrollHeight + 32);
    }
    return Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, height));
  }

  function fitFrame() {
    if (sizing) return;
    sizing = true;
    window.requestAnimationFrame(function () {
      sizing = false;
      const height = contentHeight();
      if (height === askedHeight) return;
      askedHeight = height;
      if (embed === "pipedrive" && sdk) {
        sdk.execute(window.AppExtensionsSDK.Command.RESIZE, { height: height }).catch(function () {});
      } else if (embed === "signed") {
        window.parent.postMessage({ type: "oneclick:resize", height: height }, "*");
      }
    });
  }

  function applyTheme(theme) {
    if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
  }

  async function startEmbed() {
    if (!embed) return;
    scheduleRenewal(panel.dataset.expiresIn || 600);
    if ("ResizeObserver" in window) new ResizeObserver(fitFrame).observe(document.getElementById("main"));
    new MutationObserver(fitFrame).observe(dialog, { attributes: true, attributeFilter: ["open"] });
    if (askDialog) new MutationObserver(fitFrame).observe(askDialog, { attributes: true, attributeFilter: ["open"] });
    if (embed !== "pipedrive") { // the signed embed's host may pass its theme on
      window.addEventListener("message", function (event) {
        if (event.source !== window.parent || !event.data) return;
        if (event.data.type === "oneclick:theme") applyTheme(event.data.theme);
        if (event.data.type === "oneclick:selection" && record.view === "list" && Array.isArray(event.data.ids)) {
          listSelection = event.data.ids.filter(function (id) { return typeof id === "string" && id; });
        }
      });
      fitFrame();
      return;
    }
    if (!window.AppExtensionsSDK) return; // the SDK's file is missing (npm ci not run): no Pipedrive here
    try {
      // Pipedrive shows an error unless the panel initializes within 10 s: first thing, with its size.
      const extension = new window.AppExtensionsSDK({ identifier: panel.dataset.sdkId || undefined });
      sdk = await extension.initialize({ size: { height: contentHeight() } });
    } catch (error) {
      sdk = null;
      return;
    }
    askedHeight = contentHeight();
    applyTheme(sdk.userSettings && sdk.userSettings.theme);
    sdk.listen(window.AppExtensionsSDK.Event.USER_SETTINGS_CHANGE, function (message) {
      const settings = message && message.data && typeof message.data === "object" ? message.data : message;
      applyTheme(settings && settings.theme);
    });
    fitFrame();
  }

  window.addEventListener("pagehide", function () { if (source) source.close(); });

  startEmbed();
  resumeFollowed();
  connect();
  followed.forEach(function (ev) { pollEvent(ev); });
  window.setInterval(function () { refreshTimes(dialog); }, 30000);
})();

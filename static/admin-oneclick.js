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

/* The host side of an embedded OneClick panel, as the demo CRM (buttons/demo_crm.py) plays it; the
 * browser tests' host pages load it too.
 *
 * Two hosts, picked by the frame's data-host:
 * - "pipedrive": answers what Pipedrive's app-extensions SDK sends from the frame, as Pipedrive does.
 *   Each message is {id, payload: {type: "command" | "listener" | "track", command, args, event}} with a
 *   MessagePort for the answer ({data} or {error}); a listener's port later carries its events.
 * - "signed": the signed embed's small protocol: the panel posts {type: "oneclick:resize", height}
 *   and {type: "oneclick:token-request"}; the host answers {type: "oneclick:token", token} (and may post
 *   {type: "oneclick:theme", theme}, and in a list view {type: "oneclick:selection", ids}: the ticked records).
 * A fresh token comes from the host's own server (data-token-url), never from the page itself.
 * Everything the panel asked for is listed in #host-log, and kept in window.oneclickHost.received.
 */
(function () {
  "use strict";

  const frame = document.getElementById("crm-panel");
  if (!frame) return;
  const host = frame.dataset.host;
  const appOrigin = frame.dataset.appOrigin;
  const hostLog = document.getElementById("host-log");
  const themeButton = document.getElementById("crm-theme");
  const settingsPorts = []; // Pipedrive: the SDK's user_settings_change listeners
  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");
  // No theme chosen: the page follows the system's, and so does the panel (its URL names none).
  let chosen = frame.dataset.theme === "dark" || frame.dataset.theme === "light" ? frame.dataset.theme : null;
  let theme = chosen || (systemDark.matches ? "dark" : "light");
  const received = [];
  window.oneclickHost = { received: received };

  function note(text, detail) {
    received.push(Object.assign({ text: text }, detail || {}));
    if (!hostLog) return;
    const item = document.createElement("li");
    item.textContent = new Date().toLocaleTimeString() + "  " + text;
    hostLog.appendChild(item);
    hostLog.scrollTop = hostLog.scrollHeight;
  }

  let snackbarTimer = null;

  function showSnackbar(text) {
    // As Pipedrive shows it: a short line at the bottom of the page, for a few seconds, as plain text.
    let bar = document.getElementById("crm-snackbar");
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "crm-snackbar";
      bar.className = "crm-snackbar";
      bar.setAttribute("role", "status");
      document.body.appendChild(bar);
    }
    bar.textContent = text;
    bar.hidden = false;
    if (snackbarTimer) window.clearTimeout(snackbarTimer);
    snackbarTimer = window.setTimeout(function () { bar.hidden = true; }, 5000);
  }

  function setHeight(height) {
    const value = Number(height);
    if (value >= 100 && value <= 750) frame.style.height = value + "px";
  }

  async function freshToken() {
    const response = await fetch(frame.dataset.tokenUrl, { headers: { Accept: "application/json" } });
    const data = await response.json();
    if (!response.ok || typeof data.token !== "string") throw new Error(data.detail || "No token");
    return data.token;
  }

  function answerPipedrive(payload, port) {
    if (payload.type === "track") { note("track " + payload.event, { kind: "track", event: payload.event }); return; }
    if (payload.type === "listener") {
      note("listen " + payload.event, { kind: "listener", event: payload.event });
      if (payload.event === "user_settings_change" && port) settingsPorts.push(port);
      return;
    }
    if (payload.type !== "command" || !port) return;
    const args = payload.args || {};
    note(payload.command + (Object.keys(args).length ? " " + JSON.stringify(args) : ""),
      { kind: "command", command: payload.command, args: args });
    if (payload.command === "initialize") {
      setHeight(args.size && args.size.height);
      port.postMessage({ data: {} });
    } else if (payload.command === "resize") {
      setHeight(args.height);
      port.postMessage({ data: {} });
    } else if (payload.command === "redirect_to" && args.view === "deals" && /^\d+$/.test(String(args.id))) {
      port.postMessage({ data: {} });
      const query = new URLSearchParams(window.location.search);
      query.set("deal", String(args.id));
      window.location.search = query.toString(); // the CRM's own page of that deal
    } else if (payload.command === "show_confirmation" && typeof args.title === "string") {
      // Pipedrive shows its own dialog; the demo uses the browser's (plain text only either way).
      const confirmed = window.confirm(args.title + (args.description ? "\n\n" + args.description : ""));
      note("confirmation " + (confirmed ? "accepted" : "cancelled"), { kind: "confirmation", confirmed: confirmed });
      port.postMessage({ data: { confirmed: confirmed } });
    } else if (payload.command === "show_snackbar" && typeof args.message === "string") {
      port.postMessage({ data: {} });
      showSnackbar(args.message);
    } else if (payload.command === "get_signed_token") {
      freshToken().then(function (token) { port.postMessage({ data: { token: token } }); },
        function (error) { port.postMessage({ error: error.message }); });
    } else {
      port.postMessage({ error: "The demo CRM does not do " + payload.command + "." });
    }
  }

  function answerSigned(data) {
    if (data.type === "oneclick:resize") {
      note("resize " + data.height, { kind: "resize", height: data.height });
      setHeight(data.height);
    } else if (data.type === "oneclick:token-request") {
      note("token request", { kind: "token-request" });
      freshToken().then(function (token) {
        frame.contentWindow.postMessage({ type: "oneclick:token", token: token }, appOrigin);
      }, function () { /* no answer: the panel says its session ended */ });
    }
  }

  window.addEventListener("message", function (event) {
    // Only the panel's own frame, from the app's origin, is listened to.
    if (event.source !== frame.contentWindow || event.origin !== appOrigin) return;
    const data = event.data;
    if (!data || typeof data !== "object") return;
    if (host === "pipedrive" && data.payload && typeof data.payload === "object") {
      answerPipedrive(data.payload, event.ports && event.ports[0]);
    } else if (host === "signed" && typeof data.type === "string") {
      answerSigned(data);
    }
  });

  function showThemeButton() {
    if (themeButton) themeButton.textContent = theme === "dark" ? "Light theme" : "Dark theme";
  }

  function setTheme(next) {
    theme = next;
    document.documentElement.dataset.crmTheme = theme;
    showThemeButton();
    if (host === "pipedrive") {
      settingsPorts.forEach(function (port) { port.postMessage({ data: { theme: theme } }); });
    } else {
      frame.contentWindow.postMessage({ type: "oneclick:theme", theme: theme }, appOrigin);
    }
    note("theme " + theme + " sent", { kind: "theme", theme: theme });
  }

  showThemeButton();
  systemDark.addEventListener("change", function (event) {
    if (!chosen) setTheme(event.matches ? "dark" : "light");
  });
  if (themeButton) {
    themeButton.addEventListener("click", function () {
      chosen = theme === "dark" ? "light" : "dark";
      setTheme(chosen);
    });
  }
  window.oneclickHost.setTheme = setTheme;

  // The list of deals: what is ticked goes to the panel, whose list buttons send those ids.
  const list = document.getElementById("deal-list");
  if (list) {
    const boxes = Array.from(list.querySelectorAll('input[name="deal"]'));
    const all = document.getElementById("select-all");
    const said = document.getElementById("selection");
    const sendSelection = function () {
      const ids = boxes.filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
      all.checked = ids.length === boxes.length;
      all.indeterminate = ids.length > 0 && ids.length < boxes.length;
      said.textContent = ids.length ? ids.length + " deal" + (ids.length === 1 ? "" : "s") + " selected: #" +
        ids.join(", #") + "." : "No deals selected. Tick some, then press the sidebar's list button: its webhook carries their ids.";
      frame.contentWindow.postMessage({ type: "oneclick:selection", ids: ids }, appOrigin);
    };
    boxes.forEach(function (box) { box.addEventListener("change", sendSelection); });
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      sendSelection();
    });
    frame.addEventListener("load", sendSelection); // a panel (re)loaded gets the ticks it missed
  }
})();

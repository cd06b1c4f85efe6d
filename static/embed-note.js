/* A sentence page inside Pipedrive (a refused token, a company that has not installed OneClick):
 * Pipedrive replaces a custom panel that does not initialize its SDK within 10 s with an error of its
 * own, so this page initializes it too, at its own height, for the reader to see the sentence. */
(function () {
  "use strict";
  if (!window.AppExtensionsSDK || !new URLSearchParams(window.location.search).get("id")) return;
  const note = document.querySelector(".embed-note");
  const height = Math.min(750, Math.max(100, Math.ceil((note ? note.getBoundingClientRect().bottom : 0) + 16)));
  try {
    new window.AppExtensionsSDK().initialize({ size: { height: height } }).catch(function () {});
  } catch (error) { /* no identifier: not inside Pipedrive */ }
})();

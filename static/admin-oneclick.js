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

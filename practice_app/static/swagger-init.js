// Starts Swagger UI on /api/docs from its container's data attributes, so the
// page needs no inline script (its Content-Security-Policy allows none).
"use strict";
(function () {
  var container = document.getElementById("swagger-ui-container");
  var config = JSON.parse(container.dataset.config || "{}");
  config.url = container.dataset.url;
  config.dom_id = "#swagger-ui-container";
  // The highlighter's "agate" colours: swagger-theme.css darkens their background,
  // so that each of them is 4.5:1 against it.
  if (config.syntaxHighlight === undefined) {
    config.syntaxHighlight = { activated: true, theme: "agate" };
  }
  window.ui = window.SwaggerUIBundle(config);

  // Swagger UI leaves a few of its controls without a name (icon buttons, the
  // request body's field), and its scrolling code blocks out of the keyboard's
  // reach: name them, and make those blocks focusable, as they appear.
  var NAMES = [
    [".copy-to-clipboard > button", "Copy to clipboard"],
    [".close-modal", "Close the dialog"],
    ["textarea.body-param__text", "Request body"],
    ["textarea.curl", "curl command"],
  ];
  var SCROLLING = ".highlight-code > .microlight, .curl-command .curl";

  function label(root) {
    NAMES.forEach(function (pair) {
      root.querySelectorAll(pair[0]).forEach(function (element) {
        if (!element.hasAttribute("aria-label")) {
          element.setAttribute("aria-label", pair[1]);
        }
      });
    });
    root.querySelectorAll(SCROLLING).forEach(function (element) {
      if (!element.hasAttribute("tabindex")) {
        element.setAttribute("tabindex", "0");
      }
    });
    // Each operation's responses are a region: named by their operation, they are
    // told apart ("Responses of POST /api/problems").
    root.querySelectorAll(".responses-table[role=region]").forEach(function (table) {
      var control = table.closest(".opblock");
      control = control && control.querySelector(".opblock-summary-control");
      if (table.hasAttribute("aria-label") || !control) {
        return;
      }
      var words = (control.getAttribute("aria-label") || "").replace(/\u200b/g, "").split(" ");
      words[0] = words[0].toUpperCase();
      table.setAttribute("aria-label", "Responses of " + words.join(" "));
    });
  }

  var pending = false;
  new MutationObserver(function () {
    if (pending) {
      return;
    }
    pending = true;
    window.setTimeout(function () {
      pending = false;
      label(container);
    }, 0);
  }).observe(container, { childList: true, subtree: true });
})();

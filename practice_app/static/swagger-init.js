// Starts Swagger UI on /api/docs from its container's data attributes, so the
// page needs no inline script (its Content-Security-Policy allows none).
"use strict";
(function () {
  var container = document.getElementById("swagger-ui-container");
  var config = JSON.parse(container.dataset.config || "{}");
  config.url = container.dataset.url;
  config.dom_id = "#swagger-ui-container";
  window.ui = window.SwaggerUIBundle(config);
})();

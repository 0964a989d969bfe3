// Starts Swagger UI on /api/docs with this server's OpenAPI document. A file of
// its own, not an inline script: the page runs under default-src 'self'.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
  });
});

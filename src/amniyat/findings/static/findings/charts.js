// Renders every Vega-Lite specification on the page: <script type="application/json"
// data-vega-for="ID"> holds the spec, #ID is where the chart goes. No spec is fetched.
(function () {
  function render() {
    document.querySelectorAll("script[data-vega-for]").forEach(function (node) {
      var target = document.getElementById(node.getAttribute("data-vega-for"));
      if (!target || target.dataset.rendered) return;
      target.dataset.rendered = "1";
      var spec = JSON.parse(node.textContent);
      vegaEmbed(target, spec, { actions: { export: true, source: false, compiled: false, editor: false }, renderer: "svg" })
        .catch(function (error) { target.textContent = String(error); });
    });
  }
  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:afterSettle", render);
})();

// Renders every Vega-Lite specification on the page: an element with data-vega-spec="ID" is
// where the chart goes, and the <script type="application/json" id="ID"> that Django's
// json_script filter wrote holds its spec. No spec is fetched.
//
// The Content-Security-Policy forbids eval, so Vega's expressions are parsed to syntax trees
// and run by the interpreter bundled in vega-embed (ast: true) instead of being compiled
// with the Function constructor.
(function () {
  function render() {
    document.querySelectorAll("[data-vega-spec]").forEach(function (target) {
      if (target.dataset.rendered) return;
      var source = document.getElementById(target.dataset.vegaSpec);
      if (!source) return;
      target.dataset.rendered = "1";
      var spec = JSON.parse(source.textContent);
      vegaEmbed(target, spec, {
        ast: true,
        actions: { export: true, source: false, compiled: false, editor: false },
        renderer: "svg",
      }).catch(function (error) { target.textContent = String(error); });
    });
  }
  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:afterSettle", render);
})();

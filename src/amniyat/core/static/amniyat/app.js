// Behaviour every page shares, kept out of the markup: the Content-Security-Policy allows no
// inline script, so no onchange= or onsubmit= attributes. Listeners sit on the document, so
// content that htmx swaps in behaves the same.
//   <select data-submit-on-change>  submits its form when a choice is made
//   <form data-confirm="Question?">  asks before it is sent
(function () {
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-submit-on-change") && field.form) {
      field.form.submit();
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();

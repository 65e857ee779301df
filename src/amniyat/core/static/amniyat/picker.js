// The picker (core/picker.py): a search answers with inputs of the field's name, in the
// picker's results. Ticking one moves it among the chosen, so that the next search, which
// replaces the results, keeps it; a single choice keeps only the one ticked (and "none").
// Without this script a ticked result is still sent, as long as no other search replaces it.
(function () {
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.checked) return;
    var results = input.closest(".picker-results");
    var picker = input.closest("[data-picker]");
    if (!results || !picker) return;
    var chosen = picker.querySelector(".picker-chosen");
    var item = input.closest("li");
    if (!chosen || !item) return;
    Array.prototype.forEach.call(chosen.querySelectorAll("input"), function (other) {
      var same = other.value === input.value;
      var replaced = input.type === "radio" && other.value !== "";
      if (same || replaced) other.closest("li").remove();
    });
    Array.prototype.forEach.call(item.querySelectorAll("button"), function (button) {
      button.remove();
    });
    chosen.appendChild(item);
    input.focus();
  });
})();

// The coding page. Every leaf of #source-text (a ".seg") carries data-start/data-end, its
// character offsets in the source's text, so a selection of words maps to exact offsets:
// the first selected leaf's start plus the offset inside it, to the last one's. Codes are
// applied with a POST marked HX-Request; the server answers with the coding area
// re-rendered (or 422 and a message), which replaces #coding. Without this script the page
// still works: pick a passage (the radio before it), tick codes, apply.
(function () {
  "use strict";

  function coding() { return document.getElementById("coding"); }

  function say(text, isError) {
    var box = document.getElementById("coding-message");
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("hidden", !text);
    box.classList.toggle("error", !!isError);
  }

  // The offsets [start, end) of the current selection inside #source-text, or null.
  function selectedSpan() {
    var selection = window.getSelection();
    var root = document.getElementById("source-text");
    if (!selection || selection.isCollapsed || !root || selection.rangeCount === 0) return null;
    var range = selection.getRangeAt(0);
    if (!root.contains(range.commonAncestorContainer) && range.commonAncestorContainer !== root) {
      return null;
    }
    var leaves = Array.prototype.filter.call(root.querySelectorAll(".seg"), function (seg) {
      return range.intersectsNode(seg);
    });
    if (!leaves.length) return null;
    var first = leaves[0];
    var last = leaves[leaves.length - 1];
    var start = +first.dataset.start;
    var end = +last.dataset.end;
    if (first.contains(range.startContainer) && range.startContainer.nodeType === 3) {
      start += range.startOffset;
    }
    if (last.contains(range.endContainer) && range.endContainer.nodeType === 3) {
      end = +last.dataset.start + range.endOffset;
    }
    if (end <= start) return null;
    return { start: start, end: end, text: selection.toString() };
  }

  function setSpan(span) {
    var startInput = document.getElementById("sel-start");
    var endInput = document.getElementById("sel-end");
    var info = document.getElementById("selection-info");
    if (!startInput || !endInput) return;
    startInput.value = span ? span.start : "";
    endInput.value = span ? span.end : "";
    // The "flag a missed personal detail" form takes the same words.
    var flagStart = document.getElementById("flag-start");
    var flagEnd = document.getElementById("flag-end");
    if (flagStart && flagEnd) {
      flagStart.value = span ? span.start : "";
      flagEnd.value = span ? span.end : "";
    }
    document.querySelectorAll("#source-text .passage.picked").forEach(function (p) {
      p.classList.remove("picked");
    });
    if (info) {
      if (span) {
        var words = span.text.replace(/\s+/g, " ").trim();
        if (words.length > 90) words = words.slice(0, 87) + "…";
        info.textContent = info.dataset.chosen + ": “" + words + "” (" + span.start + "–" + span.end + ")";
      } else {
        info.textContent = info.dataset.empty;
      }
    }
  }

  function pickPassage(passage) {
    var radio = document.getElementById("pick-" + passage.dataset.passage);
    if (!radio) return;
    radio.checked = true;
    setSpan({ start: +passage.dataset.start, end: +passage.dataset.end, text: passage.textContent });
    passage.classList.add("picked");
  }

  document.addEventListener("mouseup", function (event) {
    var root = document.getElementById("source-text");
    if (!root || !root.contains(event.target)) return;
    var span = selectedSpan();
    if (span) {
      document.querySelectorAll("#source-text .pick").forEach(function (r) { r.checked = false; });
      setSpan(span);
    } else {
      var passage = event.target.closest(".passage");
      if (passage) pickPassage(passage);
    }
  });

  document.addEventListener("keyup", function (event) {
    // Keyboard selection (shift + arrows) inside the text.
    var root = document.getElementById("source-text");
    if (!root || !event.shiftKey) return;
    var span = selectedSpan();
    if (span) setSpan(span);
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.classList && target.classList.contains("pick")) {
      var passage = document.getElementById("passage-" + target.value);
      if (passage) pickPassage(passage);
    }
    if (target.id === "coder-switch") target.form.submit();
  });

  function send(form) {
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    return fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "HX-Request": "true" },
      credentials: "same-origin",
    }).then(function (response) {
      return response.text().then(function (body) {
        if (response.ok) {
          var area = coding();
          if (area) area.outerHTML = body;
          var message = document.getElementById("coding-message");
          if (message && message.textContent.trim()) message.classList.remove("hidden");
        } else if (response.status === 422) {
          if (button) button.disabled = false;
          say(body, true);
        } else {
          form.submit(); // let the server show whatever went wrong as a page
        }
      });
    }).catch(function () {
      if (button) button.disabled = false;
      form.submit();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!coding() || !coding().contains(form)) return;
    if (form.id === "apply-form" || form.classList.contains("js-coding")) {
      event.preventDefault();
      if (form.id === "apply-form") {
        var hasSpan = document.getElementById("sel-start").value !== "";
        var hasPick = form.querySelector(".pick:checked");
        if (!hasSpan && !hasPick) {
          say(document.getElementById("selection-info").dataset.empty, true);
          return;
        }
        if (!form.querySelector("input[name=code]:checked")) {
          say(form.querySelector("#codebook").dataset.none || "", true);
          return;
        }
      }
      send(form);
    }
  });

  // Pointing at an excerpt in the margin lights up its words in the text, and back.
  function light(ids, on) {
    ids.forEach(function (id) {
      document.querySelectorAll("#source-text .seg[data-excerpts]").forEach(function (seg) {
        if (seg.dataset.excerpts.split(" ").indexOf(id) !== -1) seg.classList.toggle("lit", on);
      });
      var item = document.getElementById("excerpt-" + id);
      if (item) item.classList.toggle("lit", on);
    });
  }
  ["mouseover", "mouseout"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (!event.target.closest) return;
      var on = type === "mouseover";
      var item = event.target.closest("#excerpt-margin .excerpt");
      if (item) { light([item.dataset.excerpt], on); return; }
      var seg = event.target.closest("#source-text .seg[data-excerpts]");
      if (seg) light(seg.dataset.excerpts.split(" "), on);
    });
  });
})();

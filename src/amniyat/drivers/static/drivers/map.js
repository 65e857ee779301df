/* The driver-map editor: select, add, link, edit, drag and delete factors and links, each
   change saved at once through the map's JSON endpoint, which answers with the map drawn
   again.

   No drawing library: the server lays out and draws the map (drivers/maps/svg.py, the same
   drawing readers see, with the labels as written and every factor and link a focusable group
   named in data-id), and this script only moves what the person drags until the new drawing
   arrives. Cytoscape.js, which drew the editor before, is 136 kB gzipped on its own: more
   than a page may weigh for a facilitator's phone over 3G (150 kB, issue #14).

   No markup is built here from data: texts go in through textContent and DOM calls, and the
   only markup put into the page is the server's drawing, escaped there and parsed here as
   XML. Every text comes from the page (json_script "map-strings"), in the person's language,
   with the language's quotation marks and list words (strings.quotes, strings.list: «…» in
   Russian and Tajik, “…” in Uzbek); labels are the map's own data and are shown as entered.

   The element with id "map-canvas" holds the drawing and names, in data attributes, the
   json_script ids of the map's factors and links, the configuration and the strings. */
(function () {
  "use strict";

  var DRAG_START = 4; // px a press moves before it is a drag rather than a tap
  var KEY_STEP = 10; // map units an arrow key moves a selected factor (with Shift: 5×)
  var SAVE_DELAY = 400; // ms after the last arrow key before the places are saved
  var SAME_PLACE = 0.6; // map units: closer than this, a factor is where it is drawn

  function readJson(id) {
    var node = id && document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function format(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole;
    });
  }

  // A name in the reader's quotation marks, and names joined as the reader's language joins
  // a list ("a, b ва c"), as core/text.py writes them on the server.
  function quote(strings, text) {
    var marks = strings.quotes || ["“", "”"];
    return marks[0] + text + marks[1];
  }

  function joinList(strings, items) {
    var words = strings.list || { pair: " and ", middle: ", ", last: " and " };
    if (items.length < 2) return items.join("");
    if (items.length === 2) return items[0] + words.pair + items[1];
    return items.slice(0, -1).join(words.middle) + words.last + items[items.length - 1];
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function round(value) {
    return Math.round(value * 10) / 10;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function start(canvas) {
    var strings = readJson(canvas.dataset.strings) || {};
    var config = readJson(canvas.dataset.config) || {};
    var items = {}; // "f12" / "l5" -> {group: "nodes" | "edges", data: {…}}
    var places = {}; // "f12" -> {x, y}: where the person put it (the drawing follows)
    (readJson(canvas.dataset.elements) || []).forEach(function (element) {
      items[element.data.id] = { group: element.group, data: element.data };
      if (element.position) places[element.data.id] = { x: element.position.x, y: element.position.y };
    });
    var status = document.getElementById("map-status");
    var selected = []; // ids, in the order chosen
    var linkMode = false;
    var linkSource = null;
    var drag = null;
    var waitingDrawing = null; // a drawing that came during a drag
    var sent = 0; // requests sent, to put in only the newest drawing
    var drawn = 0; // the request whose drawing is shown
    var pending = 0;
    var keyMoved = {};
    var keyTimer = null;

    function setStatus(text, isError) {
      if (!status) return;
      status.textContent = text;
      status.classList.toggle("error", Boolean(isError));
    }

    function isFactor(id) {
      return Boolean(items[id]) && items[id].group === "nodes";
    }

    function drawing() {
      return canvas.querySelector("svg.driver-map");
    }

    function groupOf(id) {
      var svg = drawing();
      return svg ? svg.querySelector('[data-id="' + CSS.escape(id) + '"]') : null;
    }

    // A point of the screen in the drawing's own units (what the server stores).
    function toMap(clientX, clientY) {
      var svg = drawing();
      var matrix = svg && svg.getScreenCTM();
      if (!matrix) return { x: 0, y: 0 };
      return new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
    }

    function nameOf(id) {
      var item = items[id];
      if (!item) return "";
      if (item.group === "nodes") return quote(strings, item.data.label);
      var source = items[item.data.source], target = items[item.data.target];
      return quote(strings, (source ? source.data.label : "") + " → " + (target ? target.data.label : ""));
    }

    /* The drawing. ------------------------------------------------------------------- */

    // Each factor drawn where the person put it: moved by a transform until the server's
    // drawing has it there too; the links of a moved factor fade until then.
    function showPlaces() {
      var svg = drawing();
      if (!svg) return;
      var stale = {};
      svg.querySelectorAll("g.factor[data-id]").forEach(function (group) {
        var id = group.dataset.id;
        var place = places[id];
        var dx = place ? place.x - Number(group.dataset.x) : 0;
        var dy = place ? place.y - Number(group.dataset.y) : 0;
        if (Math.abs(dx) < SAME_PLACE && Math.abs(dy) < SAME_PLACE) {
          group.removeAttribute("transform");
        } else {
          group.setAttribute("transform", "translate(" + round(dx) + " " + round(dy) + ")");
          stale[id] = true;
        }
      });
      svg.querySelectorAll("g.link[data-id]").forEach(function (group) {
        var link = items[group.dataset.id];
        group.classList.toggle("stale", Boolean(link && (stale[link.data.source] || stale[link.data.target])));
      });
    }

    function showSelected() {
      var svg = drawing();
      if (!svg) return;
      svg.querySelectorAll("[data-id]").forEach(function (group) {
        var on = selected.indexOf(group.dataset.id) >= 0;
        group.classList.toggle("selected", on);
        group.setAttribute("aria-pressed", on ? "true" : "false");
        group.classList.toggle("link-source", group.dataset.id === linkSource);
      });
    }

    // Put in the drawing the server answered with, keeping the part of the map in view where
    // it was, and the keyboard where it was.
    function putDrawing(markup) {
      var old = drawing();
      var parsed = new DOMParser().parseFromString(markup, "image/svg+xml");
      var fresh = parsed.documentElement;
      if (!old || fresh.localName !== "svg" || parsed.getElementsByTagName("parsererror").length) return;
      var box = canvas.getBoundingClientRect();
      var corner = toMap(box.left, box.top);
      var focused = document.activeElement && old.contains(document.activeElement)
        ? document.activeElement.closest("[data-id]") : null;
      var focusedId = focused ? focused.dataset.id : null;
      var svg = document.importNode(fresh, true);
      old.replaceWith(svg);
      var matrix = svg.getScreenCTM();
      if (matrix) {
        var now = new DOMPoint(corner.x, corner.y).matrixTransform(matrix);
        canvas.scrollLeft += now.x - box.left;
        canvas.scrollTop += now.y - box.top;
      }
      showPlaces();
      showSelected();
      if (focusedId && groupOf(focusedId)) groupOf(focusedId).focus({ preventScroll: true });
    }

    function takeDrawing(markup, number) {
      if (!markup || number < drawn) return;
      drawn = number;
      if (drag) waitingDrawing = markup;
      else putDrawing(markup);
    }

    function redraw() {
      var number = ++sent;
      fetch(config.graphUrl + "?drawing=1", { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) { takeDrawing(answer.drawing, number); })
        .catch(function () { /* the drawing stays as it was */ });
    }

    /* Saving. ------------------------------------------------------------------------ */

    function send(op) {
      var number = ++sent;
      pending += 1;
      setStatus(strings.saving, false);
      return fetch(config.graphUrl + "?drawing=1", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(op)
      })
        .then(function (response) {
          return response.json().catch(function () {
            return { ok: false, message: strings.offline };
          });
        }, function () {
          return { ok: false, message: strings.offline };
        })
        .then(function (answer) {
          pending -= 1;
          if (!answer.ok) {
            setStatus(format(strings.failed, { message: answer.message || "" }), true);
            return answer;
          }
          if (answer.message) {
            var loop = answer.loop || [];
            setStatus(format(strings.loopClosed, { loop: loop.concat(loop.slice(0, 1)).join(" → ") }), false);
          } else if (pending === 0) {
            setStatus(strings.saved, false);
          }
          takeDrawing(answer.drawing, number);
          document.body.dispatchEvent(new Event("map-changed"));
          return answer;
        });
    }

    function savePlaces(ids) {
      var positions = ids.filter(function (id) { return places[id]; }).map(function (id) {
        return { id: items[id].data.pk, x: round(places[id].x), y: round(places[id].y) };
      });
      if (!positions.length) return;
      send({ op: "factors_move", positions: positions }).then(function (answer) {
        if (!answer.ok) {
          // Back to where the server has them.
          ids.forEach(function (id) { delete places[id]; });
          redraw();
        }
      });
    }

    /* Selecting, and the panel beside the map. --------------------------------------- */

    var panel = document.getElementById("map-selection");
    var form = document.getElementById("selection-form");
    var empty = document.getElementById("selection-empty");
    var heading = document.getElementById("selected-name");
    var evidence = document.getElementById("selected-evidence");

    function select(id, adding) {
      if (!id) selected = [];
      else if (!adding) selected = [id];
      else if (selected.indexOf(id) >= 0) selected = selected.filter(function (s) { return s !== id; });
      else selected = selected.concat([id]);
      showSelected();
      showSelection(selected.length === 1 ? selected[0] : null);
      if (id && !adding && panel && window.matchMedia("(max-width: 800px)").matches) {
        // On a phone the panel is under the map: bring it up to where it can be read.
        panel.scrollIntoView({ block: "nearest" });
      }
    }

    function showSelection(id) {
      if (!form || !evidence) return;
      evidence.textContent = "";
      var item = id && items[id];
      if (!item) {
        form.hidden = true;
        if (heading) heading.hidden = true;
        if (empty) empty.hidden = false;
        return;
      }
      if (empty) empty.hidden = true;
      form.hidden = false;
      if (heading) {
        heading.hidden = false;
        heading.textContent = nameOf(id);
      }
      var isNode = item.group === "nodes";
      var data = item.data;
      var label = document.getElementById("selected-label");
      label.value = isNode ? data.label : "";
      label.closest(".field").hidden = !isNode;
      document.getElementById("selected-kind-field").hidden = !isNode;
      document.getElementById("selected-link-kind-field").hidden = isNode;
      document.getElementById("selected-strength-field").hidden = isNode;
      if (isNode) {
        document.getElementById("selected-kind").value = data.kind;
      } else {
        document.getElementById("selected-link-kind").value = data.kind;
        document.getElementById("selected-strength").value = String(data.strength);
      }
      document.getElementById("selected-note").value = data.note || "";

      evidence.appendChild(el("h3", "", strings.evidence));
      var quotes = data.evidence || [];
      if (!quotes.length) {
        evidence.appendChild(el("p", "muted", strings.noEvidence));
      } else {
        var list = el("ul", "evidence-list");
        quotes.forEach(function (entry) {
          var li = el("li", "quote", quote(strings, entry.quote));
          if (entry.source) li.appendChild(el("small", "muted", " — " + entry.source));
          li.appendChild(removeButton(function () { change(id, "evidence_detach", { excerpts: [entry.id] }); }));
          list.appendChild(li);
        });
        evidence.appendChild(list);
      }
      var indicators = {};
      (config.indicators || []).forEach(function (option) { indicators[option.key] = option; });
      if ((data.indicators || []).length) {
        evidence.appendChild(el("h4", "", strings.indicators));
        var figures = el("ul", "indicator-list");
        data.indicators.forEach(function (key) {
          var option = indicators[key];
          var li = el("li", "indicator", (option ? option.label : key) + " — " + (option && option.value ? option.value : strings.noValue));
          li.dataset.indicator = key;
          li.appendChild(removeButton(function () { change(id, "evidence_detach", { indicator_keys: [key] }); }));
          figures.appendChild(li);
        });
        evidence.appendChild(figures);
      }
      attachControls(id);
    }

    /* Evidence: attach coded excerpts and survey indicators to the selected factor or link,
       and remove them, each change saved at once like every other. */
    function change(id, name, fields) {
      var item = items[id];
      if (!item) return Promise.resolve();
      var op = { op: name, item: item.group === "nodes" ? "factor" : "link", id: item.data.pk };
      Object.keys(fields).forEach(function (k) { op[k] = fields[k]; });
      return send(op).then(function (answer) {
        if (!answer.ok || !answer.item || !items[id]) return;
        items[id].data.evidence = answer.item.evidence;
        items[id].data.indicators = answer.item.indicators;
        if (selected.length === 1 && selected[0] === id) showSelection(id);
      });
    }

    function removeButton(onClick) {
      var button = el("button", "link evidence-remove", strings.remove);
      button.type = "button";
      button.addEventListener("click", onClick);
      return button;
    }

    function control(controlId, caption, options, onAttach) {
      var wrap = el("div", "field attach");
      var label = el("label", "", caption);
      label.htmlFor = controlId;
      var choice = el("select");
      choice.id = controlId;
      var first = el("option", "", strings.choose);
      first.value = "";
      choice.appendChild(first);
      options.forEach(function (option) {
        var entry = el("option", "", option.text);
        entry.value = option.value;
        choice.appendChild(entry);
      });
      var button = el("button", "", strings.attach);
      button.type = "button";
      button.id = controlId + "-add";
      button.addEventListener("click", function () { if (choice.value) onAttach(choice.value); });
      wrap.appendChild(label);
      wrap.appendChild(choice);
      wrap.appendChild(button);
      return wrap;
    }

    function attachControls(id) {
      var data = items[id].data;
      var attached = data.indicators || [];
      var choices = (config.indicators || []).filter(function (o) { return attached.indexOf(o.key) < 0; })
        .map(function (o) { return { value: o.key, text: o.label + (o.value ? " — " + o.value : "") }; });
      if (choices.length) {
        evidence.appendChild(control("attach-indicator", strings.attachIndicator, choices, function (key) {
          change(id, "evidence_attach", { indicator_keys: [key] });
        }));
      }
      // Coded excerpts: those of the factor's code, fetched when the factor is selected.
      var holder = el("div");
      evidence.appendChild(holder);
      var code = items[id].group === "nodes" ? (data.code || "") : "";
      fetch(config.graphUrl + "?quotes=" + encodeURIComponent(code), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (!holder.isConnected) return;
          var have = (data.evidence || []).map(function (e) { return e.id; });
          var quotes = (answer.quotes || []).filter(function (q) { return have.indexOf(q.id) < 0; });
          if (!quotes.length) {
            holder.appendChild(el("p", "muted", strings.noQuotes));
            return;
          }
          holder.appendChild(control("attach-quote", strings.attachQuote, quotes.map(function (q) {
            return { value: String(q.id), text: quote(strings, q.quote) + " — " + q.source + " (" + q.code + ")" };
          }), function (excerpt) {
            change(id, "evidence_attach", { excerpts: [Number(excerpt)] });
          }));
        })
        .catch(function () { /* the rest of the panel still works */ });
    }

    /* Adding a factor. --------------------------------------------------------------- */

    // The free place nearest the middle of what the box shows, searched on rings of a grid
    // the size of a factor, so that a new factor never hides another one.
    function freeSpot() {
      var box = canvas.getBoundingClientRect();
      var centre = toMap(box.left + box.width / 2, box.top + box.height / 2);
      var boxes = [];
      var svg = drawing();
      if (svg) {
        svg.querySelectorAll("g.factor[data-id]").forEach(function (group) {
          var size = group.getBBox();
          var at = places[group.dataset.id] || { x: Number(group.dataset.x), y: Number(group.dataset.y) };
          boxes.push({ x1: at.x - size.width / 2, x2: at.x + size.width / 2, y1: at.y - size.height / 2, y2: at.y + size.height / 2 });
        });
      }
      var stepX = 240, stepY = 130;
      function free(p) {
        return boxes.every(function (b) {
          return p.x + stepX / 2 < b.x1 || p.x - stepX / 2 > b.x2 || p.y + stepY / 2 < b.y1 || p.y - stepY / 2 > b.y2;
        });
      }
      for (var ring = 0; ring < 12; ring++) {
        for (var i = -ring; i <= ring; i++) {
          for (var j = -ring; j <= ring; j++) {
            if (Math.max(Math.abs(i), Math.abs(j)) !== ring) continue;
            var p = { x: Math.round(centre.x + i * stepX), y: Math.round(centre.y + j * stepY) };
            if (free(p)) return p;
          }
        }
      }
      return { x: Math.round(centre.x), y: Math.round(centre.y) };
    }

    var factorForm = document.getElementById("factor-form");
    if (factorForm) {
      factorForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var input = document.getElementById("factor-label");
        var label = input.value.trim();
        if (!label) { input.focus(); return; }
        var spot = freeSpot();
        send({ op: "factor_add", label: label, kind: document.getElementById("factor-kind").value, x: spot.x, y: spot.y })
          .then(function (answer) {
            if (!answer.ok) return;
            var f = answer.factor;
            items[f.id] = { group: "nodes", data: { id: f.id, pk: f.pk, label: f.label, kind: f.kind, note: f.note, code: f.code, indicators: f.indicators, evidence: [] } };
            places[f.id] = { x: f.x, y: f.y };
            input.value = "";
            input.focus();
          });
      });
    }

    /* Linking: in link mode the first factor chosen is where the link starts, the second
       where it leads. */
    var linkButton = document.getElementById("link-mode");
    function setLinkMode(on) {
      linkMode = on;
      linkSource = null;
      canvas.classList.toggle("link-mode", on);
      if (linkButton) linkButton.setAttribute("aria-pressed", on ? "true" : "false");
      showSelected();
      setStatus(on ? strings.linkModeOn : strings.linkModeOff, false);
    }
    if (linkButton) linkButton.addEventListener("click", function () { setLinkMode(!linkMode); });

    function pickForLink(id) {
      if (!linkSource) {
        linkSource = id;
        showSelected();
        setStatus(format(strings.linkPickTarget, { label: items[id].data.label }), false);
        return;
      }
      var source = linkSource;
      linkSource = null;
      showSelected();
      send({
        op: "link_add",
        source: items[source].data.pk,
        target: items[id].data.pk,
        kind: document.getElementById("link-kind").value,
        strength: Number(document.getElementById("link-strength").value)
      }).then(function (answer) {
        if (!answer.ok) return;
        var k = answer.link;
        items[k.id] = { group: "edges", data: { id: k.id, pk: k.pk, source: k.source, target: k.target, kind: k.kind, strength: k.strength, note: k.note, indicators: k.indicators, evidence: [], sourceLabel: items[source].data.label, targetLabel: items[id].data.label } };
      });
    }

    // A tap, a click or Enter on a factor or link: pick it for a link, or select it (with
    // Shift, Ctrl or ⌘, add it to the selection or take it out).
    function choose(id, adding) {
      if (!items[id]) return;
      if (linkMode) {
        if (isFactor(id)) pickForLink(id);
        return;
      }
      select(id, adding);
    }

    /* Tapping and dragging, with a mouse, a pen or a finger. A press that hardly moves is a
       tap: it chooses the factor or link under it (or, on the background, selects nothing).
       A press on a factor that moves drags it, and every selected factor with a selected one.
       A finger elsewhere scrolls the box as usual; on a factor it must not, and Chromium
       ignores CSS touch-action inside an SVG, so the touch is held there by hand (which also
       stops the browser's own click: taps are read from the pointer events). */
    var press = null;
    canvas.addEventListener("touchstart", function (event) {
      var group = event.target.closest && event.target.closest("g.factor[data-id]");
      if (group && canvas.contains(group)) event.preventDefault();
    }, { passive: false });

    canvas.addEventListener("pointerdown", function (event) {
      // A second finger while one drags is ignored; any other earlier press is over.
      if (event.button !== 0 || (press && press.drag)) return;
      var group = event.target.closest && event.target.closest("[data-id]");
      if (group && !canvas.contains(group)) group = null;
      var id = group ? group.dataset.id : null;
      press = { pointer: event.pointerId, x: event.clientX, y: event.clientY, id: id, moved: false, drag: null };
      if (!id || !isFactor(id) || linkMode) return;
      var ids = selected.indexOf(id) >= 0 ? selected.filter(isFactor) : [id];
      var from = {};
      ids.forEach(function (each) {
        var shown = groupOf(each);
        from[each] = places[each] || (shown ? { x: Number(shown.dataset.x), y: Number(shown.dataset.y) } : { x: 0, y: 0 });
      });
      press.drag = { start: toMap(event.clientX, event.clientY), ids: ids, from: from };
      drag = press.drag;
      group.setPointerCapture(event.pointerId);
    });

    canvas.addEventListener("pointermove", function (event) {
      if (!press || event.pointerId !== press.pointer) return;
      if (!press.moved && Math.hypot(event.clientX - press.x, event.clientY - press.y) < DRAG_START) return;
      press.moved = true;
      if (!press.drag) return;
      canvas.classList.add("dragging");
      event.preventDefault();
      var moving = press.drag;
      var at = toMap(event.clientX, event.clientY);
      moving.ids.forEach(function (id) {
        places[id] = { x: moving.from[id].x + at.x - moving.start.x, y: moving.from[id].y + at.y - moving.start.y };
      });
      showPlaces();
    });

    function endPress(event, cancelled) {
      if (!press || event.pointerId !== press.pointer) return;
      var ended = press;
      press = null;
      drag = null;
      canvas.classList.remove("dragging");
      var moving = ended.drag;
      if (moving && ended.moved) {
        if (cancelled) {
          moving.ids.forEach(function (id) { places[id] = moving.from[id]; });
          showPlaces();
        } else {
          waitingDrawing = null; // the answer to this move brings a newer one
          savePlaces(moving.ids);
        }
      } else if (waitingDrawing) {
        var markup = waitingDrawing;
        waitingDrawing = null;
        putDrawing(markup);
      }
      if (cancelled || ended.moved) return;
      if (ended.id) choose(ended.id, event.shiftKey || event.ctrlKey || event.metaKey);
      else if (!linkMode) select(null);
    }
    canvas.addEventListener("pointerup", function (event) { endPress(event, false); });
    canvas.addEventListener("pointercancel", function (event) { endPress(event, true); });

    // The keyboard: Enter or Space chooses the focused factor or link; the arrow keys move a
    // selected factor, saved a moment after the last key.
    var ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    canvas.addEventListener("keydown", function (event) {
      var group = event.target.closest && event.target.closest("[data-id]");
      if (!group || !canvas.contains(group)) return;
      var id = group.dataset.id;
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        choose(id, event.shiftKey);
        return;
      }
      var arrow = ARROWS[event.key];
      if (!arrow || !isFactor(id) || selected.indexOf(id) < 0) return;
      event.preventDefault();
      var step = KEY_STEP * (event.shiftKey ? 5 : 1);
      selected.filter(isFactor).forEach(function (each) {
        var shown = groupOf(each);
        var at = places[each] || { x: Number(shown.dataset.x), y: Number(shown.dataset.y) };
        places[each] = { x: at.x + arrow[0] * step, y: at.y + arrow[1] * step };
        keyMoved[each] = true;
      });
      showPlaces();
      setStatus(strings.saving, false);
      clearTimeout(keyTimer);
      keyTimer = setTimeout(function () {
        var ids = Object.keys(keyMoved);
        keyMoved = {};
        savePlaces(ids);
      }, SAVE_DELAY);
    });

    /* Editing the selected factor or link. */
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (selected.length !== 1 || !items[selected[0]]) { setStatus(strings.nothingSelected, true); return; }
        var id = selected[0];
        var item = items[id];
        var note = document.getElementById("selected-note").value;
        var op;
        if (item.group === "nodes") {
          op = { op: "factor_update", id: item.data.pk, label: document.getElementById("selected-label").value, kind: document.getElementById("selected-kind").value, note: note };
        } else {
          op = { op: "link_update", id: item.data.pk, kind: document.getElementById("selected-link-kind").value, strength: Number(document.getElementById("selected-strength").value), note: note };
        }
        send(op).then(function (answer) {
          if (!answer.ok || !items[id]) return;
          var saved = answer.factor || answer.link;
          ["label", "kind", "note", "strength"].forEach(function (key) {
            if (saved[key] !== undefined) items[id].data[key] = saved[key];
          });
          if (heading && selected[0] === id) heading.textContent = nameOf(id);
        });
      });
    }

    /* Deleting what is selected (a factor takes its links with it), once confirmed. */
    function deleteSelected() {
      var chosen = selected.filter(function (id) { return items[id]; });
      if (!chosen.length) { setStatus(strings.nothingSelected, true); return; }
      var names = joinList(strings, chosen.map(nameOf));
      if (!window.confirm(format(strings.confirmDelete, { label: names }))) return;
      var factors = chosen.filter(isFactor);
      var links = chosen.filter(function (id) {
        var data = items[id].data;
        return !isFactor(id) && factors.indexOf(data.source) < 0 && factors.indexOf(data.target) < 0;
      });
      var chain = Promise.resolve();
      links.concat(factors).forEach(function (id) {
        chain = chain.then(function () {
          var op = { op: isFactor(id) ? "factor_delete" : "link_delete", id: items[id].data.pk };
          return send(op).then(function (answer) {
            if (!answer.ok) return;
            Object.keys(items).forEach(function (other) {
              var data = items[other].data;
              if (other === id || data.source === id || data.target === id) {
                delete items[other];
                delete places[other];
              }
            });
            select(null);
          });
        });
      });
    }
    var deleteButton = document.getElementById("delete-selected");
    if (deleteButton) deleteButton.addEventListener("click", deleteSelected);
    document.addEventListener("keydown", function (event) {
      var tag = (event.target.tagName || "").toLowerCase();
      if ((event.key === "Delete" || event.key === "Backspace") && ["input", "textarea", "select"].indexOf(tag) < 0) {
        if (selected.length) { event.preventDefault(); deleteSelected(); }
      }
      if (event.key === "Escape" && linkMode) setLinkMode(false);
    });

    // A map imported without positions was laid out by the server on opening: keep that.
    showPlaces();
    if (config.laidOut) {
      savePlaces(Object.keys(places).filter(isFactor));
    }
    canvas.dataset.ready = "true";
  }

  function begin() {
    var canvas = document.getElementById("map-canvas");
    if (canvas && canvas.dataset.elements) start(canvas);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", begin);
  } else {
    begin();
  }
})();

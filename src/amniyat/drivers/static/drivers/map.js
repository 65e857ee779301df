/* The driver-map editor, drawn with Cytoscape.js: add, drag, link, edit, delete — each change
   saved at once through the map's JSON endpoint. Readers never load this: they see the map
   drawn on the server (drivers/maps/svg.py), whose shapes, colours and sizes this follows.
   Every text comes from the page (json_script "map-strings"), in the person's language, with
   the language's quotation marks and list words (strings.quotes, strings.list: «…» in Russian
   and Tajik, “…” in Uzbek); labels are the map's own data and are shown as entered.

   Each element with class "map-canvas" names, in data attributes, the json_script ids of its
   elements, its configuration and the strings. The first map is window.amniyatMap; all are in
   window.amniyatMaps. */
(function () {
  "use strict";

  // As svg.py's FACTOR_STYLE and LINK_STYLE: a light fill with a border in the kind's colour
  // (dark text stays legible on every kind), and links grey, red or dashed green.
  var KIND_STYLE = {
    concern: { fill: "#f8dedb", border: "#c0392b", shape: "round-rectangle" },
    driver: { fill: "#fbe5cf", border: "#d35400", shape: "ellipse" },
    root_cause: { fill: "#ead9f1", border: "#6c3483", shape: "diamond" },
    effect: { fill: "#d8e7f4", border: "#2471a3", shape: "hexagon" }
  };
  var LINK_STYLE = {
    causes: { color: "#4d4d4d", line: "solid", arrow: "triangle" },
    worsens: { color: "#c0392b", line: "solid", arrow: "triangle" },
    mitigates: { color: "#1e8449", line: "dashed", arrow: "tee" }
  };
  var INK = "#1d2433";

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

  // Sizes as svg.py's wrap_label and factor_size: no font metrics, a character is taken as
  // CHAR_WIDTH wide and a label wraps at about LINE_CHARS characters.
  var FONT_SIZE = 13, LINE_HEIGHT = 16, CHAR_WIDTH = 7.4, LINE_CHARS = 18, MAX_LINES = 5;
  // Below this zoom a label is smaller than 12 px: on a phone the map opens no smaller, and
  // one moves about it instead.
  var READABLE_ZOOM = 12 / FONT_SIZE;

  function wrapLabel(label) {
    var lines = [], current = "";
    String(label || "").split(/\s+/).filter(Boolean).forEach(function (word) {
      while (word.length > LINE_CHARS) {
        if (current) { lines.push(current); current = ""; }
        lines.push(word.slice(0, LINE_CHARS));
        word = word.slice(LINE_CHARS);
      }
      if (!current) current = word;
      else if (current.length + 1 + word.length <= LINE_CHARS) current += " " + word;
      else { lines.push(current); current = word; }
    });
    if (current || !lines.length) lines.push(current);
    if (lines.length > MAX_LINES) {
      lines = lines.slice(0, MAX_LINES);
      lines[MAX_LINES - 1] = lines[MAX_LINES - 1].slice(0, LINE_CHARS - 1).replace(/\s+$/, "") + "…";
    }
    return lines;
  }

  function nodeSize(ele) {
    var lines = wrapLabel(ele.data("label"));
    var textWidth = Math.max(36, CHAR_WIDTH * Math.max.apply(null, lines.map(function (l) { return l.length; })));
    var textHeight = LINE_HEIGHT * lines.length;
    var shape = (KIND_STYLE[ele.data("kind")] || {}).shape;
    if (shape === "ellipse") return [textWidth * 1.3 + 20, textHeight * 1.3 + 18];
    if (shape === "diamond") return [textWidth * 1.5 + 24, textHeight * 1.7 + 24];
    if (shape === "hexagon") return [textWidth + textHeight + 28, textHeight + 16];
    return [textWidth + 24, textHeight + 14];
  }

  function nodeWidth(ele) { return nodeSize(ele)[0]; }
  function nodeHeight(ele) { return nodeSize(ele)[1]; }

  function mapStyle() {
    var style = [
      {
        selector: "node",
        style: {
          // Broken into lines here, as the server breaks them, so that the label fits the
          // shape sized for it and reads the same as on the map's page.
          label: function (ele) { return wrapLabel(ele.data("label")).join("\n"); },
          "text-wrap": "wrap",
          "text-max-width": "1000px",
          "text-valign": "center",
          "text-halign": "center",
          "font-size": FONT_SIZE + "px",
          "line-height": LINE_HEIGHT / FONT_SIZE,
          color: INK,
          "text-outline-width": 0,
          // Sized from the label: Cytoscape's own "label" sizing hides nodes once edges
          // are curved (3.34).
          width: nodeWidth,
          height: nodeHeight,
          "border-width": 2.5
        }
      },
      {
        selector: "edge",
        style: {
          "curve-style": "bezier",
          width: "mapData(strength, 1, 3, 1.5, 6)",
          "arrow-scale": 1
        }
      },
      { selector: ":selected", style: { "border-width": 4, "border-color": "#f1c40f", "overlay-opacity": 0 } },
      { selector: "edge:selected", style: { "line-color": "#f1c40f", "target-arrow-color": "#f1c40f" } },
      { selector: ".link-source", style: { "border-width": 5, "border-color": "#17a589" } }
    ];
    Object.keys(KIND_STYLE).forEach(function (kind) {
      style.push({
        selector: 'node[kind = "' + kind + '"]',
        style: {
          "background-color": KIND_STYLE[kind].fill,
          "border-color": KIND_STYLE[kind].border,
          shape: KIND_STYLE[kind].shape
        }
      });
    });
    Object.keys(LINK_STYLE).forEach(function (kind) {
      var s = LINK_STYLE[kind];
      style.push({
        selector: 'edge[kind = "' + kind + '"]',
        style: {
          "line-color": s.color,
          "line-style": s.line,
          "target-arrow-color": s.color,
          "target-arrow-shape": s.arrow
        }
      });
    });
    return style;
  }

  function createMap(container) {
    var elements = readJson(container.dataset.elements) || [];
    var config = readJson(container.dataset.config) || {};
    var strings = readJson(container.dataset.strings) || {};
    var editable = Boolean(config.editable);
    var cy = cytoscape({
      container: container,
      elements: elements,
      layout: { name: "preset" },
      style: mapStyle(),
      wheelSensitivity: 0.3,
      minZoom: 0.2,
      maxZoom: 3,
      autoungrabify: !editable,
      boxSelectionEnabled: editable
    });
    // Factors never placed were laid out by the server (as readers see them); the first
    // editor to open the map keeps that layout.
    var laidOut = Boolean(config.laidOut);
    cy.fit(undefined, 30);
    // A map of two or three factors would otherwise be blown up to fill the canvas, and a
    // large one on a phone shrunk until its labels cannot be read.
    var narrow = container.clientWidth < 600;
    if (cy.zoom() > 1.25) {
      cy.zoom(1.25);
      cy.center();
    } else if (narrow && cy.zoom() < READABLE_ZOOM) {
      cy.zoom(READABLE_ZOOM);
      cy.center();
    }
    cy.amniyat = { config: config, strings: strings, laidOut: laidOut };
    return cy;
  }

  /* The selection panel: what the selected factor or link says, and its evidence. */
  function showSelection(cy, element) {
    var strings = cy.amniyat.strings;
    var form = document.getElementById("selection-form");
    var empty = document.getElementById("selection-empty");
    var evidence = document.getElementById("selected-evidence");
    if (!form || !evidence) return;
    evidence.textContent = "";
    if (!element) {
      form.hidden = true;
      if (empty) empty.hidden = false;
      return;
    }
    if (empty) empty.hidden = true;
    form.hidden = false;
    var isNode = element.isNode();
    var data = element.data();
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

    var heading = document.createElement("h3");
    heading.textContent = strings.evidence;
    evidence.appendChild(heading);
    var quotes = data.evidence || [];
    if (!quotes.length) {
      var none = document.createElement("p");
      none.className = "muted";
      none.textContent = strings.noEvidence;
      evidence.appendChild(none);
    } else {
      var list = document.createElement("ul");
      list.className = "evidence-list";
      quotes.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "quote";
        li.textContent = quote(strings, item.quote);
        if (item.source) {
          var small = document.createElement("small");
          small.className = "muted";
          small.textContent = " — " + item.source;
          li.appendChild(small);
        }
        list.appendChild(li);
      });
      evidence.appendChild(list);
    }
    var indicators = {};
    (cy.amniyat.config.indicators || []).forEach(function (option) { indicators[option.key] = option; });
    if ((data.indicators || []).length) {
      var subheading = document.createElement("h4");
      subheading.textContent = strings.indicators;
      evidence.appendChild(subheading);
      var figures = document.createElement("ul");
      figures.className = "indicator-list";
      data.indicators.forEach(function (key) {
        var option = indicators[key];
        var li = document.createElement("li");
        li.className = "indicator";
        li.dataset.indicator = key;
        li.textContent = (option ? option.label : key) + " — " + (option && option.value ? option.value : strings.noValue);
        figures.appendChild(li);
      });
      evidence.appendChild(figures);
    }
    if (cy.amniyat.attach) cy.amniyat.attach(element, evidence);
  }

  /* For editors: attach coded excerpts and survey indicators to the selected factor or link,
     and remove them. Each change is saved at once, like every other edit. */
  function evidenceControls(cy, send) {
    var strings = cy.amniyat.strings;
    var config = cy.amniyat.config;

    function rerender(element, answer) {
      if (!answer.ok || !answer.item) return;
      element.data("evidence", answer.item.evidence);
      element.data("indicators", answer.item.indicators);
      showSelection(cy, element);
    }

    function change(element, name, fields) {
      var op = { op: name, item: element.isNode() ? "factor" : "link", id: element.data("pk") };
      Object.keys(fields).forEach(function (k) { op[k] = fields[k]; });
      return send(op).then(function (answer) { rerender(element, answer); });
    }

    function removeButton(onClick) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link evidence-remove";
      button.textContent = strings.remove;
      button.addEventListener("click", onClick);
      return button;
    }

    function control(id, label, options, onAttach) {
      var wrap = document.createElement("div");
      wrap.className = "field attach";
      var caption = document.createElement("label");
      caption.htmlFor = id;
      caption.textContent = label;
      var select = document.createElement("select");
      select.id = id;
      var first = document.createElement("option");
      first.value = "";
      first.textContent = strings.choose;
      select.appendChild(first);
      options.forEach(function (option) {
        var item = document.createElement("option");
        item.value = option.value;
        item.textContent = option.text;
        select.appendChild(item);
      });
      var button = document.createElement("button");
      button.type = "button";
      button.id = id + "-add";
      button.textContent = strings.attach;
      button.addEventListener("click", function () { if (select.value) onAttach(select.value); });
      wrap.appendChild(caption);
      wrap.appendChild(select);
      wrap.appendChild(button);
      return wrap;
    }

    return function (element, evidence) {
      // Remove buttons beside what is attached.
      evidence.querySelectorAll(".evidence-list li").forEach(function (li, index) {
        var item = (element.data("evidence") || [])[index];
        if (!item) return;
        li.appendChild(removeButton(function () { change(element, "evidence_detach", { excerpts: [item.id] }); }));
      });
      evidence.querySelectorAll(".indicator-list li").forEach(function (li) {
        li.appendChild(removeButton(function () { change(element, "evidence_detach", { indicator_keys: [li.dataset.indicator] }); }));
      });
      // Attach an indicator.
      var attached = element.data("indicators") || [];
      var choices = (config.indicators || []).filter(function (o) { return attached.indexOf(o.key) < 0; })
        .map(function (o) { return { value: o.key, text: o.label + (o.value ? " — " + o.value : "") }; });
      if (choices.length) {
        evidence.appendChild(control("attach-indicator", strings.attachIndicator, choices, function (key) {
          change(element, "evidence_attach", { indicator_keys: [key] });
        }));
      }
      // Attach a coded excerpt: those of the factor's code, fetched when asked for.
      var holder = document.createElement("div");
      evidence.appendChild(holder);
      var code = element.isNode() ? (element.data("code") || "") : "";
      fetch(config.graphUrl + "?quotes=" + encodeURIComponent(code), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          var have = (element.data("evidence") || []).map(function (e) { return e.id; });
          var quotes = (answer.quotes || []).filter(function (q) { return have.indexOf(q.id) < 0; });
          if (!quotes.length) {
            var none = document.createElement("p");
            none.className = "muted";
            none.textContent = strings.noQuotes;
            holder.appendChild(none);
            return;
          }
          holder.appendChild(control("attach-quote", strings.attachQuote, quotes.map(function (q) {
            return { value: String(q.id), text: quote(strings, q.quote) + " — " + q.source + " (" + q.code + ")" };
          }), function (id) {
            change(element, "evidence_attach", { excerpts: [Number(id)] });
          }));
        })
        .catch(function () { /* the rest of the panel still works */ });
    };
  }

  function setupEditor(cy) {
    var config = cy.amniyat.config;
    var strings = cy.amniyat.strings;
    var status = document.getElementById("map-status");
    var pending = 0;
    var linkMode = false;
    var linkSource = null;
    var moved = {};
    var moveTimer = null;

    function setStatus(text, isError) {
      if (!status) return;
      status.textContent = text;
      status.classList.toggle("error", Boolean(isError));
    }

    cy.amniyat.attach = evidenceControls(cy, function (op) { return send(op); });

    function send(op) {
      pending += 1;
      setStatus(strings.saving, false);
      return fetch(config.graphUrl, {
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
            setStatus(format(strings.loopClosed, { loop: (answer.loop || []).concat((answer.loop || []).slice(0, 1)).join(" → ") }), false);
          } else if (pending === 0) {
            setStatus(strings.saved, false);
          }
          document.body.dispatchEvent(new Event("map-changed"));
          return answer;
        });
    }

    // Where a new factor goes: the free place nearest the middle of the view, searched on
    // rings of a grid the size of a factor, so that it never hides another one.
    function freeSpot() {
      var extent = cy.extent();
      var centre = { x: extent.x1 + extent.w / 2, y: extent.y1 + extent.h / 2 };
      var boxes = cy.nodes().map(function (n) { return n.boundingBox(); });
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

    // Add a factor.
    var factorForm = document.getElementById("factor-form");
    if (factorForm) {
      factorForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var input = document.getElementById("factor-label");
        var label = input.value.trim();
        if (!label) { input.focus(); return; }
        var position = freeSpot();
        send({ op: "factor_add", label: label, kind: document.getElementById("factor-kind").value, x: position.x, y: position.y })
          .then(function (answer) {
            if (!answer.ok) return;
            var f = answer.factor;
            cy.add({ group: "nodes", data: { id: f.id, pk: f.pk, label: f.label, kind: f.kind, note: f.note, code: f.code, indicators: f.indicators, evidence: [] }, position: { x: f.x, y: f.y } });
            input.value = "";
            input.focus();
          });
      });
    }

    // Drag to move: positions are saved together a moment after the last drag.
    cy.on("dragfree", "node", function (event) {
      cy.$("node:selected").union(event.target).forEach(function (node) {
        var p = node.position();
        moved[node.data("pk")] = { id: node.data("pk"), x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10 };
      });
      clearTimeout(moveTimer);
      setStatus(strings.saving, false);
      moveTimer = setTimeout(function () {
        var positions = Object.keys(moved).map(function (k) { return moved[k]; });
        moved = {};
        if (positions.length) send({ op: "factors_move", positions: positions });
      }, 400);
    });

    // Link mode: the first factor clicked is the source, the second the target.
    var linkButton = document.getElementById("link-mode");
    function setLinkMode(on) {
      linkMode = on;
      if (linkSource) linkSource.removeClass("link-source");
      linkSource = null;
      if (linkButton) linkButton.setAttribute("aria-pressed", on ? "true" : "false");
      setStatus(on ? strings.linkModeOn : strings.linkModeOff, false);
    }
    if (linkButton) {
      linkButton.addEventListener("click", function () { setLinkMode(!linkMode); });
    }
    cy.on("tap", "node", function (event) {
      if (!linkMode) return;
      var node = event.target;
      if (!linkSource) {
        linkSource = node;
        node.addClass("link-source");
        setStatus(format(strings.linkPickTarget, { label: node.data("label") }), false);
        return;
      }
      var source = linkSource;
      source.removeClass("link-source");
      linkSource = null;
      send({
        op: "link_add",
        source: source.data("pk"),
        target: node.data("pk"),
        kind: document.getElementById("link-kind").value,
        strength: Number(document.getElementById("link-strength").value)
      }).then(function (answer) {
        if (!answer.ok) return;
        var k = answer.link;
        cy.add({ group: "edges", data: { id: k.id, pk: k.pk, source: k.source, target: k.target, kind: k.kind, strength: k.strength, note: k.note, indicators: k.indicators, evidence: [], sourceLabel: source.data("label"), targetLabel: node.data("label") } });
      });
    });

    // Edit the selected factor or link.
    var selectionForm = document.getElementById("selection-form");
    if (selectionForm) {
      selectionForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var element = cy.$(":selected").first();
        if (!element.length) { setStatus(strings.nothingSelected, true); return; }
        var note = document.getElementById("selected-note").value;
        var op;
        if (element.isNode()) {
          op = { op: "factor_update", id: element.data("pk"), label: document.getElementById("selected-label").value, kind: document.getElementById("selected-kind").value, note: note };
        } else {
          op = { op: "link_update", id: element.data("pk"), kind: document.getElementById("selected-link-kind").value, strength: Number(document.getElementById("selected-strength").value), note: note };
        }
        send(op).then(function (answer) {
          if (!answer.ok) return;
          var saved = answer.factor || answer.link;
          element.data({ label: saved.label, kind: saved.kind, note: saved.note, strength: saved.strength });
        });
      });
    }

    // Delete what is selected (a factor takes its links with it).
    function deleteSelected() {
      var selected = cy.$(":selected");
      if (!selected.length) { setStatus(strings.nothingSelected, true); return; }
      var names = joinList(strings, selected.map(function (el) {
        return quote(strings, el.isNode() ? el.data("label") : el.source().data("label") + " → " + el.target().data("label"));
      }));
      if (!window.confirm(format(strings.confirmDelete, { label: names }))) return;
      var edges = selected.edges().filter(function (e) { return !selected.nodes().contains(e.source()) && !selected.nodes().contains(e.target()); });
      var chain = Promise.resolve();
      edges.union(selected.nodes()).forEach(function (element) {
        chain = chain.then(function () {
          var op = element.isNode() ? { op: "factor_delete", id: element.data("pk") } : { op: "link_delete", id: element.data("pk") };
          return send(op).then(function (answer) {
            if (answer.ok) { cy.remove(element); showSelection(cy, null); }
          });
        });
      });
    }
    var deleteButton = document.getElementById("delete-selected");
    if (deleteButton) deleteButton.addEventListener("click", deleteSelected);
    document.addEventListener("keydown", function (event) {
      var tag = (event.target.tagName || "").toLowerCase();
      if ((event.key === "Delete" || event.key === "Backspace") && !["input", "textarea", "select"].includes(tag)) {
        if (cy.$(":selected").length) { event.preventDefault(); deleteSelected(); }
      }
      if (event.key === "Escape" && linkMode) setLinkMode(false);
    });

    // A map imported without positions was laid out on opening: keep that layout.
    if (cy.nodes().length && cy.amniyat.laidOut) {
      send({ op: "factors_move", positions: cy.nodes().map(function (n) { return { id: n.data("pk"), x: n.position("x"), y: n.position("y") }; }) });
    }
  }

  function start() {
    if (typeof cytoscape === "undefined") return;
    var maps = [];
    document.querySelectorAll(".map-canvas[data-elements]").forEach(function (container) {
      var cy = createMap(container);
      cy.on("select unselect", function () {
        var selected = cy.$(":selected");
        showSelection(cy, selected.length === 1 ? selected[0] : null);
      });
      if (cy.amniyat.config.editable) setupEditor(cy);
      maps.push(cy);
    });
    if (maps.length) {
      window.amniyatMap = maps[0];
      window.amniyatMaps = maps;
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// Artworker: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // A range input with data-show="<selector>" shows its value there as a percentage.
  document.querySelectorAll("input[type=range][data-show]").forEach(function (range) {
    var out = document.querySelector(range.dataset.show);
    var show = function () { out.textContent = range.value + "%"; };
    range.addEventListener("input", show);
    show();
  });

  // "{file} is {size}" with the values filled in.
  var fill = function (text, values) {
    return text.replace(/\{(\w+)\}/g, function (whole, name) { return values[name] == null ? whole : values[name]; });
  };
  var megabytes = function (n) { return (n % 1e6 === 0 ? n / 1e6 : (n / 1e6).toFixed(1)) + " MB"; };

  // Upload form: drop photos onto it, see each one at once, have type and size checked here
  // before anything is sent (the server checks everything again), crop and turn a single
  // photo. Without scripting it is a plain file input and the photo is used whole.
  var upload = document.querySelector("form.upload");
  if (upload) { enhanceUpload(upload); }

  function enhanceUpload(form) {
    var input = form.querySelector("input[type=file]"), drop = form.querySelector(".drop");
    var error = form.querySelector(".file-error"), list = form.querySelector(".previews");
    var maxBytes = Number(form.dataset.maxBytes), maxPhotos = Number(form.dataset.maxPhotos);
    var maxClipBytes = Number(form.dataset.maxClipBytes) || maxBytes;
    // A clip (video or animated GIF) goes alone, and is not cropped; its size limit is its own.
    var isClip = function (f) {
      return /^video\//.test(f.type) || f.type === "image/gif" || /\.(mp4|mov|m4v|webm|mkv|gif)$/i.test(f.name);
    };
    var limitOf = function (f) { return isClip(f) ? maxClipBytes : maxBytes; };
    var editor = cropEditor(form);
    form.querySelector(".drop-hint").hidden = false;

    var problems = function (files) {
      var found = [];
      if (files.length > maxPhotos) { found.push(form.dataset.tooMany); }
      Array.prototype.forEach.call(files, function (f) {
        if (f.size === 0) { found.push(fill(form.dataset.empty, { file: f.name })); }
        else if (!/^image\/(jpeg|png)$/.test(f.type) && !/\.(jpe?g|png)$/i.test(f.name) && !isClip(f)) {
          found.push(fill(form.dataset.unsupported, { file: f.name }));
        } else if (f.size > limitOf(f)) {
          found.push(fill(form.dataset.tooLarge, { file: f.name, size: megabytes(f.size), limit: megabytes(limitOf(f)) }));
        }
      });
      return found;
    };
    var show = function () {
      var files = input.files, found = problems(files);
      error.textContent = found.join(" ");
      error.hidden = found.length === 0;
      input.setCustomValidity(found.join(" "));
      list.querySelectorAll("img, video").forEach(function (img) { if (img.src) { URL.revokeObjectURL(img.src); } });
      list.textContent = "";
      var clip = Array.prototype.some.call(files, isClip);
      // Every picture of a clip is converted: start from the quickest size.
      if (clip && form.max_side && form.max_side.querySelector("option[value='512']")) { form.max_side.value = "512"; }
      Array.prototype.forEach.call(files, function (f) {
        var item = document.createElement("li"), name = document.createElement("span");
        var img = document.createElement(isClip(f) && f.type !== "image/gif" ? "video" : "img");
        if (img.tagName === "VIDEO") { img.muted = true; img.preload = "metadata"; } else { img.alt = ""; }
        if (f.size > 0 && f.size <= limitOf(f)) { img.src = URL.createObjectURL(f); }
        name.textContent = f.name + " · " + megabytes(f.size);
        item.appendChild(img);
        item.appendChild(name);
        list.appendChild(item);
      });
      editor.load(files.length === 1 && found.length === 0 && !clip ? files[0] : null);
    };
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      drop.addEventListener(type, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
    });
    // One press sends one form; Back brings the page (and the button) back.
    form.addEventListener("submit", function () { form.querySelector("button[type=submit]").disabled = true; });
    window.addEventListener("pageshow", function () { form.querySelector("button[type=submit]").disabled = false; });
    if (input.files.length) { show(); }
  }

  // The crop tool: the photo turned by `rotate` degrees on a canvas, a frame over it. What it
  // sends is `rotate` and `crop` = "x,y,w,h" in pixels of the turned full-size photo; the server
  // applies them to the original.
  function cropEditor(form) {
    var box = form.querySelector("fieldset.edit"), canvas = box.querySelector("canvas"), frame = box.querySelector(".crop-box");
    var rotateField = form.querySelector("input[name=rotate]"), cropField = form.querySelector("input[name=crop]");
    var sizeText = box.querySelector(".crop-size"), buttons = box.querySelectorAll("[data-crop]");
    var image = null, rotate = 0, crop = null, square = false, drag = null;

    var size = function () {
      var w = image.naturalWidth, h = image.naturalHeight;
      return rotate % 180 ? { w: h, h: w } : { w: w, h: h };
    };
    // Keeps the frame whole, inside the photo and (in square mode) square.
    var clamp = function (c) {
      var d = size();
      c.w = Math.max(1, Math.min(Math.round(c.w), d.w));
      c.h = Math.max(1, Math.min(Math.round(c.h), d.h));
      if (square) { c.w = c.h = Math.min(c.w, c.h); }
      c.x = Math.max(0, Math.min(Math.round(c.x), d.w - c.w));
      c.y = Math.max(0, Math.min(Math.round(c.y), d.h - c.h));
      return c;
    };
    var place = function () {
      var d = size();
      rotateField.value = String(rotate);
      frame.hidden = !crop;
      if (crop) {
        frame.style.left = (crop.x / d.w * 100) + "%";
        frame.style.top = (crop.y / d.h * 100) + "%";
        frame.style.width = (crop.w / d.w * 100) + "%";
        frame.style.height = (crop.h / d.h * 100) + "%";
      }
      cropField.value = crop ? [crop.x, crop.y, crop.w, crop.h].join(",") : "";
      sizeText.textContent = fill(form.dataset.cropSize, { width: crop ? crop.w : d.w, height: crop ? crop.h : d.h });
    };
    var draw = function () {
      var d = size(), scale = Math.min(1, 720 / Math.max(d.w, d.h));
      canvas.width = Math.round(d.w * scale);
      canvas.height = Math.round(d.h * scale);
      var g = canvas.getContext("2d");
      g.save();
      g.translate(canvas.width / 2, canvas.height / 2);
      g.rotate(rotate * Math.PI / 180);
      var w = image.naturalWidth * scale, h = image.naturalHeight * scale;
      g.drawImage(image, -w / 2, -h / 2, w, h);
      g.restore();
      place();
    };
    var centred = function () {
      var d = size(), side = Math.min(d.w, d.h);
      return square ? clamp({ x: (d.w - side) / 2, y: (d.h - side) / 2, w: side, h: side })
        : clamp({ x: d.w * 0.1, y: d.h * 0.1, w: d.w * 0.8, h: d.h * 0.8 });
    };
    var point = function (e) {
      var r = canvas.getBoundingClientRect(), d = size();
      return { x: Math.max(0, Math.min(d.w, (e.clientX - r.left) / r.width * d.w)),
               y: Math.max(0, Math.min(d.h, (e.clientY - r.top) / r.height * d.h)) };
    };
    var stage = box.querySelector(".stage");
    stage.addEventListener("pointerdown", function (e) {
      if (!image) { return; }
      e.preventDefault();
      stage.setPointerCapture(e.pointerId);
      var p = point(e);
      drag = e.target === frame && crop ? { move: true, from: p, start: { x: crop.x, y: crop.y, w: crop.w, h: crop.h } }
        : { move: false, from: p };
    });
    stage.addEventListener("pointermove", function (e) {
      if (!drag) { return; }
      var p = point(e);
      if (drag.move) {
        crop = clamp({ x: drag.start.x + p.x - drag.from.x, y: drag.start.y + p.y - drag.from.y, w: drag.start.w, h: drag.start.h });
      } else {
        var w = Math.abs(p.x - drag.from.x), h = Math.abs(p.y - drag.from.y);
        if (square) { w = h = Math.min(w, h); }
        crop = clamp({ x: p.x < drag.from.x ? drag.from.x - w : drag.from.x, y: p.y < drag.from.y ? drag.from.y - h : drag.from.y, w: w, h: h });
      }
      place();
    });
    var end = function () {
      if (drag && !drag.move && crop && (crop.w < 16 || crop.h < 16)) { crop = null; place(); } // a click, not a frame
      drag = null;
    };
    stage.addEventListener("pointerup", end);
    stage.addEventListener("pointercancel", end);
    frame.addEventListener("keydown", function (e) {
      var step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
      if (!step || !crop) { return; }
      e.preventDefault();
      var d = size(), n = Math.max(1, Math.round(Math.max(d.w, d.h) / 50));
      if (e.shiftKey) { crop.w += step[0] * n; crop.h += (square ? step[0] : step[1]) * n; }
      else { crop.x += step[0] * n; crop.y += step[1] * n; }
      crop = clamp(crop);
      place();
    });
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        square = button.dataset.crop === "square";
        buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        crop = crop ? clamp(crop) : centred();
        if (square && crop) { crop = centred(); }
        place();
        frame.focus();
      });
    });
    box.querySelector("[data-rotate]").addEventListener("click", function () {
      rotate = (rotate + 90) % 360;
      crop = null;
      draw();
    });
    box.querySelector("[data-reset]").addEventListener("click", function () { crop = null; rotate = 0; draw(); });

    return {
      load: function (file) {
        rotate = 0;
        crop = null;
        rotateField.value = "0";
        cropField.value = "";
        if (!file) { image = null; box.hidden = true; return; }
        var next = new Image();
        next.onload = function () { image = next; box.hidden = false; draw(); };
        next.onerror = function () { image = null; box.hidden = true; };
        next.src = URL.createObjectURL(file);
      }
    };
  }

  // Job page (a conversion, a movie's analysis): follow the progress, then reload to show the result.
  var job = document.querySelector("[data-job]");
  if (job && job.dataset.waiting === "true") {
    var bar = job.querySelector("progress"), percent = job.querySelector(".percent"), state = job.querySelector(".state");
    var ahead = job.querySelector(".ahead"), eta = job.querySelector(".eta"), announce = job.querySelector("[data-announce]");
    var said = "";
    var poll = function () {
      fetch(job.dataset.status || "/jobs/" + encodeURIComponent(job.dataset.job) + "/status", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (s) {
          var p = Math.floor(s.progress * 100);
          bar.value = p;
          percent.textContent = p + "%";
          state.textContent = s.status_text || s.status;
          if (ahead) { ahead.textContent = s.ahead_text || ""; }
          if (eta) { eta.textContent = s.estimate_text || ""; }
          // Screen readers hear the state and every tenth, not each poll.
          var news = (s.status_text || s.status) + (s.status === "running" ? ", " + Math.floor(p / 10) * 10 + "%" : "");
          if (announce && news !== said) { announce.textContent = news; said = news; }
          if (s.status === "queued" || s.status === "running") { setTimeout(poll, 700); } else { location.reload(); }
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 300);
  }

  // Before/after: without scripting both pictures stand side by side; with it they overlap,
  // sized to fit the window, and a divider on the picture moves the split (pointer, touch or
  // keyboard: it is a slider). Other ways to reveal: scratch, hover/focus, scroll.
  document.querySelectorAll("figure.compare").forEach(function (figure) {
    var divider = document.createElement("div"), split = 50;
    divider.className = "divider";
    divider.tabIndex = 0;
    divider.setAttribute("role", "slider");
    divider.setAttribute("aria-valuemin", "0");
    divider.setAttribute("aria-valuemax", "100");
    divider.setAttribute("aria-label", figure.dataset.sliderLabel || "Move the split between before and after");
    var set = function (value) {
      split = Math.max(0, Math.min(100, value));
      figure.style.setProperty("--split", split + "%");
      divider.setAttribute("aria-valuenow", String(Math.round(split)));
      divider.setAttribute("aria-valuetext", Math.round(split) + "%");
    };
    set(50);
    figure.classList.add("sliding");
    figure.appendChild(divider);

    // The picture fits the window's height, so the downloads stay in view.
    var ratio = Number(figure.dataset.width) / Number(figure.dataset.height);
    var fit = function () {
      if (!ratio) { return; }
      var room = Math.max(240, window.innerHeight - 220);
      figure.style.maxWidth = Math.round(room * ratio) + "px";
    };
    fit();
    window.addEventListener("resize", fit);

    var mode = "slide", dragging = false;
    var fromPointer = function (e) {
      var r = figure.getBoundingClientRect();
      set((e.clientX - r.left) / r.width * 100);
    };
    figure.addEventListener("pointerdown", function (e) {
      if (mode !== "slide") { return; }
      dragging = true;
      figure.setPointerCapture(e.pointerId);
      fromPointer(e);
      divider.focus({ preventScroll: true });
    });
    figure.addEventListener("pointermove", function (e) { if (dragging) { fromPointer(e); } });
    figure.addEventListener("pointerup", function () { dragging = false; });
    figure.addEventListener("pointercancel", function () { dragging = false; });
    divider.addEventListener("keydown", function (e) {
      var step = e.shiftKey ? 10 : 2;
      var next = { ArrowLeft: split - step, ArrowDown: split - step, ArrowRight: split + step, ArrowUp: split + step,
                   PageDown: split - 10, PageUp: split + 10, Home: 0, End: 100 }[e.key];
      if (next === undefined) { return; }
      e.preventDefault();
      set(next);
    });

    var controls = document.querySelector("fieldset.reveal");
    if (!controls) { return; }
    controls.hidden = false;
    var hint = controls.querySelector(".reveal-hint"), restore = controls.querySelector("[data-restore]");
    var after = figure.querySelector(".after img"), scratch = null;

    // Scratch: the cartoon on a canvas over the photo; rubbing erases it.
    var startScratch = function () {
      scratch = document.createElement("canvas");
      scratch.className = "scratch";
      scratch.width = after.naturalWidth || Number(figure.dataset.width);
      scratch.height = after.naturalHeight || Number(figure.dataset.height);
      scratch.getContext("2d").drawImage(after, 0, 0, scratch.width, scratch.height);
      var rubbing = false, last = null;
      var rub = function (e) {
        var r = scratch.getBoundingClientRect(), g = scratch.getContext("2d");
        var x = (e.clientX - r.left) / r.width * scratch.width, y = (e.clientY - r.top) / r.height * scratch.height;
        g.globalCompositeOperation = "destination-out";
        g.lineCap = "round";
        g.lineWidth = scratch.width / 12;
        g.beginPath();
        g.moveTo(last ? last.x : x, last ? last.y : y);
        g.lineTo(x, y);
        g.stroke();
        last = { x: x, y: y };
      };
      scratch.addEventListener("pointerdown", function (e) { rubbing = true; last = null; scratch.setPointerCapture(e.pointerId); rub(e); });
      scratch.addEventListener("pointermove", function (e) { if (rubbing) { rub(e); } });
      scratch.addEventListener("pointerup", function () { rubbing = false; });
      figure.appendChild(scratch);
    };
    var onScroll = function () {
      var r = figure.getBoundingClientRect();
      set(100 - (window.innerHeight - r.top) / (window.innerHeight + r.height) * 100);
    };
    var reveal = function () { set(100); }, conceal = function () { set(0); };
    var choose = function (next) {
      if (scratch) { scratch.remove(); scratch = null; }
      window.removeEventListener("scroll", onScroll);
      ["pointerenter", "focus"].forEach(function (t) { figure.removeEventListener(t, reveal); });
      ["pointerleave", "blur"].forEach(function (t) { figure.removeEventListener(t, conceal); });
      figure.removeAttribute("tabindex");
      mode = next;
      figure.dataset.mode = next;
      restore.hidden = next !== "scratch";
      hint.textContent = controls.dataset["hint" + next.charAt(0).toUpperCase() + next.slice(1)] || "";
      if (next === "slide") { set(50); }
      if (next === "scratch") { set(100); startScratch(); }
      if (next === "hover") {
        conceal();
        figure.tabIndex = 0; // so keyboard users can reveal it too
        ["pointerenter", "focus"].forEach(function (t) { figure.addEventListener(t, reveal); });
        ["pointerleave", "blur"].forEach(function (t) { figure.addEventListener(t, conceal); });
      }
      if (next === "scroll") { window.addEventListener("scroll", onScroll, { passive: true }); onScroll(); }
    };
    controls.querySelectorAll("input[name=reveal]").forEach(function (radio) {
      radio.addEventListener("change", function () { if (radio.checked) { choose(radio.value); } });
    });
    restore.addEventListener("click", function () { choose("scratch"); });
    choose("slide");
  });

  // "Copy link": the permalink to the clipboard, said out loud once done.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.querySelector(button.dataset.copy), status = button.parentNode.querySelector(".copied");
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        status.textContent = button.dataset.copied;
      }, function () { field.select(); });
    });
  });

  // Likes without leaving the page: the same form, sent in the background; the answer (JSON)
  // says the new count. Without scripting the form posts and comes back to the same page.
  document.querySelectorAll("form.like").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = form.querySelector("button"), field = form.querySelector("input[name=liked]");
      button.disabled = true;
      fetch(form.action, { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" },
                           body: new URLSearchParams(new FormData(form)) })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (answer) {
          field.value = answer.liked ? "0" : "1";
          button.textContent = (answer.liked ? "♥ " : "♡ ") + (answer.liked ? form.dataset.unlike : form.dataset.like);
          button.setAttribute("aria-pressed", String(answer.liked));
          button.setAttribute("aria-label", answer.liked ? form.dataset.unlikeLabel : form.dataset.likeLabel);
          var card = form.closest(".card, .image"), count = card && card.querySelector(".likes");
          if (count) { count.textContent = count.textContent.replace(/^\d[\d,]*/, String(answer.likes)); }
        })
        .catch(function () { form.submit(); }) // let the server say what went wrong
        .then(function () { button.disabled = false; });
    });
  });

  // The gallery's bulk actions: "Select all" ticks every picture on the page.
  var bulk = document.querySelector("form.bulk");
  if (bulk) {
    var all = bulk.querySelector(".select-all"), boxes = document.querySelectorAll("input[type=checkbox][form=bulk]");
    all.hidden = false;
    all.querySelector("input").addEventListener("change", function (e) {
      boxes.forEach(function (box) { box.checked = e.target.checked; });
    });
  }

  // 3D colour plots: drag to turn (or focus and use the arrow keys), point at a dot for its
  // values. The server put each element's model coordinates in data attributes and the view
  // on the svg; this projects them as PalettePlots.View.project does, and redraws far to near.
  document.querySelectorAll("figure.turnable").forEach(function (figure) {
    var svg = figure.querySelector("svg.plot3d");
    if (!svg) { return; }
    var hint = document.querySelector(".drag-hint");
    if (hint) { hint.hidden = false; }
    var yaw = Number(svg.dataset.yaw), pitch = Number(svg.dataset.pitch), size = Number(svg.dataset.size);
    var scale = size * 0.52, centre = size / 2;
    var read = function (text) { return text.split(" ").map(Number); };
    // A dot's place follows from its colour, as PalettePlots.rgbCube and hsvCylinder put it.
    var rgbOf = function (hex) { return [1, 3, 5].map(function (i) { return parseInt(hex.substr(i, 2), 16); }); };
    var hsvOf = function (rgb) {
      var r = rgb[0] / 255, g = rgb[1] / 255, b = rgb[2] / 255, high = Math.max(r, g, b), low = Math.min(r, g, b), range = high - low;
      if (range === 0) { return [0, 0, high]; }
      var h = high === r ? (g - b) / range : high === g ? 2 + (b - r) / range : 4 + (r - g) / range;
      h *= 60;
      if (h < 0) { h += 360; }
      return [h, range / high, high];
    };
    var place = svg.dataset.kind === "hsv"
      ? function (rgb) { var v = hsvOf(rgb), a = v[0] * Math.PI / 180; return [0.5 * v[1] * Math.cos(a), v[2] - 0.5, -0.5 * v[1] * Math.sin(a)]; }
      : function (rgb) { return [rgb[0] / 255 - 0.5, rgb[1] / 255 - 0.5, rgb[2] / 255 - 0.5]; };
    var values = function (hex) {
      var rgb = rgbOf(hex), hsv = hsvOf(rgb);
      return hex + " · RGB " + rgb.join(", ") + " · HSV " + Math.round(hsv[0]) + "°, " + Math.round(hsv[1] * 100) + "%, " +
        Math.round(hsv[2] * 100) + "%";
    };
    var dots = Array.prototype.map.call(svg.querySelectorAll("g.dots circle"), function (c) {
      return { el: c, m: place(rgbOf(c.getAttribute("fill"))) };
    });
    var lines = Array.prototype.map.call(svg.querySelectorAll("line[data-a]"), function (l) {
      return { el: l, a: read(l.dataset.a), b: read(l.dataset.b) };
    });
    var labels = Array.prototype.map.call(svg.querySelectorAll("text[data-m]"), function (t) {
      return { el: t, m: read(t.dataset.m), dy: Number(t.dataset.dy || 0) };
    });
    var group = svg.querySelector("g.dots");
    var project = function (p) {
      var a = yaw * Math.PI / 180, b = pitch * Math.PI / 180;
      var x1 = p[0] * Math.cos(a) + p[2] * Math.sin(a), z1 = -p[0] * Math.sin(a) + p[2] * Math.cos(a);
      var y2 = p[1] * Math.cos(b) - z1 * Math.sin(b), z2 = p[1] * Math.sin(b) + z1 * Math.cos(b);
      return [centre + x1 * scale, centre - y2 * scale, z2];
    };
    var caption = figure.querySelector("figcaption"), words = (figure.dataset.directions || "").split("|");
    var towards = function (axis) {
      var p = project(axis), x = p[0] - centre;
      return Math.abs(x) / scale >= Math.abs(p[2]) ? (x >= 0 ? words[0] : words[1]) : (p[2] >= 0 ? words[2] : words[3]);
    };
    var draw = function () {
      lines.forEach(function (l) {
        var p = project(l.a), q = project(l.b);
        l.el.setAttribute("x1", p[0].toFixed(1)); l.el.setAttribute("y1", p[1].toFixed(1));
        l.el.setAttribute("x2", q[0].toFixed(1)); l.el.setAttribute("y2", q[1].toFixed(1));
      });
      dots.forEach(function (d) {
        var p = project(d.m);
        d.z = p[2];
        d.el.setAttribute("cx", p[0].toFixed(1)); d.el.setAttribute("cy", p[1].toFixed(1));
      });
      dots.slice().sort(function (a, b) { return a.z - b.z; }).forEach(function (d) { group.appendChild(d.el); });
      labels.forEach(function (t) {
        var p = project(t.m);
        t.el.setAttribute("x", p[0].toFixed(1)); t.el.setAttribute("y", (p[1] + t.dy).toFixed(1));
      });
      if (figure.dataset.caption && words.length === 4) {
        caption.textContent = fill(figure.dataset.caption, { red: towards([1, 0, 0]), blue: towards([0, 0, 1]) });
      }
    };
    var turn = function (dYaw, dPitch) {
      yaw = (yaw + dYaw) % 360;
      pitch = Math.max(-89, Math.min(89, pitch + dPitch));
      draw();
    };
    svg.tabIndex = 0;
    svg.classList.add("turning");
    var last = null;
    svg.addEventListener("pointerdown", function (e) { last = [e.clientX, e.clientY]; svg.setPointerCapture(e.pointerId); });
    svg.addEventListener("pointermove", function (e) {
      if (!last) { return; }
      var k = size / svg.getBoundingClientRect().width * 0.5; // half a degree per drawn pixel
      turn((e.clientX - last[0]) * k, (e.clientY - last[1]) * k);
      last = [e.clientX, e.clientY];
    });
    svg.addEventListener("pointerup", function () { last = null; });
    svg.addEventListener("pointercancel", function () { last = null; });
    var readout = figure.querySelector(".readout");
    // From the keyboard: N and P step through the colours, heaviest first, ringing each and
    // reading its values out (the readout is a polite live region).
    var byWeight = dots.slice().sort(function (a, b) { return Number(b.el.getAttribute("r")) - Number(a.el.getAttribute("r")); });
    var picked = -1;
    var pick = function (index) {
      if (!byWeight.length) { return; }
      if (picked >= 0) { byWeight[picked].el.classList.remove("picked"); }
      picked = (index + byWeight.length) % byWeight.length;
      var dot = byWeight[picked].el;
      dot.classList.add("picked");
      if (readout) { readout.textContent = values(dot.getAttribute("fill")); }
    };
    svg.addEventListener("keydown", function (e) {
      if (e.key === "n" || e.key === "N") { e.preventDefault(); pick(picked + 1); return; }
      if (e.key === "p" || e.key === "P") { e.preventDefault(); pick(picked - 1); return; }
      var step = { ArrowLeft: [-15, 0], ArrowRight: [15, 0], ArrowUp: [0, 10], ArrowDown: [0, -10] }[e.key];
      if (!step) { return; }
      e.preventDefault();
      turn(step[0], step[1]);
    });
    svg.addEventListener("pointerover", function (e) {
      if (e.target.tagName === "circle" && readout) { readout.textContent = values(e.target.getAttribute("fill")); }
    });
  });

  // A movie analysed from its video: each scene's time plays the member's own copy of the film
  // from there. The film is opened here (a blob: URL) and never uploaded; without scripting
  // the times are plain text links to their scenes.
  document.querySelectorAll(".film-player").forEach(function (player) {
    var input = player.querySelector("input[type=file]"), video = player.querySelector("video");
    player.hidden = false;
    input.addEventListener("change", function () {
      if (video.src) { URL.revokeObjectURL(video.src); }
      if (!input.files.length) { video.hidden = true; return; }
      video.src = URL.createObjectURL(input.files[0]);
      video.hidden = false;
    });
    document.querySelectorAll("a.scene-time[data-seconds]").forEach(function (link) {
      link.addEventListener("click", function (e) {
        e.preventDefault();
        if (!video.src) { player.scrollIntoView({ block: "center" }); input.focus(); return; }
        video.currentTime = Number(link.dataset.seconds);
        video.scrollIntoView({ block: "nearest" });
        video.play().catch(function () {}); // a browser may refuse to start sound unasked: the time is set
      });
    });
  });

  // Dates: the server writes them in UTC and says so; here they become the reader's own time
  // zone, in the page's language (<html lang>). `data-day` ones show the day only.
  if (window.Intl && Intl.DateTimeFormat) {
    var lang = document.documentElement.lang || "en";
    var withTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    var dayOnly = new Intl.DateTimeFormat(lang, { dateStyle: "medium" });
    document.querySelectorAll("time[datetime]").forEach(function (time) {
      var date = new Date(time.getAttribute("datetime"));
      if (isNaN(date.getTime())) { return; }
      time.title = time.textContent; // the UTC form stays at hand
      time.textContent = (time.hasAttribute("data-day") ? dayOnly : withTime).format(date);
    });
  }
})();

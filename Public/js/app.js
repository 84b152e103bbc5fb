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

  // Job page (a conversion, a movie's analysis): follow the progress, then reload to show the result.
  var job = document.querySelector("[data-job]");
  if (job && job.dataset.waiting === "true") {
    var bar = job.querySelector("progress"), percent = job.querySelector(".percent"), state = job.querySelector(".state");
    var poll = function () {
      fetch(job.dataset.status || "/jobs/" + encodeURIComponent(job.dataset.job) + "/status", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (s) {
          var p = Math.floor(s.progress * 100);
          bar.value = p;
          percent.textContent = p + "%";
          state.textContent = s.status_text || s.status;
          if (s.status === "queued" || s.status === "running") { setTimeout(poll, 700); } else { location.reload(); }
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 300);
  }

  // Before/after: without scripting both pictures stand side by side; with it they overlap
  // and a slider moves the split.
  document.querySelectorAll("figure.compare").forEach(function (figure) {
    var range = document.createElement("input");
    range.type = "range";
    range.min = "0";
    range.max = "100";
    range.value = "50";
    range.setAttribute("aria-label", figure.dataset.sliderLabel || "Move the split between before and after");
    var split = function () { figure.style.setProperty("--split", range.value + "%"); };
    range.addEventListener("input", split);
    split();
    figure.classList.add("sliding");
    figure.appendChild(range);
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

// kesm status page: polls /status.json and draws it. Every string from the JSON reaches the
// page as a text node or an attribute value set with setAttribute, never through an API that
// parses HTML, so nothing in it can become markup.
"use strict";

(function () {
  var POLL_MS = 2000;
  var SVG = "http://www.w3.org/2000/svg";
  var closed = {}; // mapping UUIDs whose details the reader closed
  var last = null; // the last document received

  function el(tag, attrs) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    for (var i = 2; i < arguments.length; i++) {
      add(e, arguments[i]);
    }
    return e;
  }

  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    setAttrs(e, attrs);
    return e;
  }

  function setAttrs(e, attrs) {
    if (!attrs) {
      return;
    }
    Object.keys(attrs).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) {
        e.setAttribute(k, String(attrs[k]));
      }
    });
  }

  function add(parent, child) {
    if (child === null || child === undefined) {
      return;
    }
    if (Array.isArray(child)) {
      child.forEach(function (c) { add(parent, c); });
    } else if (typeof child === "object") {
      parent.appendChild(child);
    } else {
      parent.appendChild(document.createTextNode(String(child)));
    }
  }

  function text(v) {
    return v === null || v === undefined ? "–" : String(v);
  }

  // ---- markers: a symbol (hidden from screen readers) and a word, in colour ----------------

  function marker(kind, word, title) {
    var symbols = { ok: "✔", stuck: "⚠", problem: "✖", stopped: "✖", off: "○", warn: "…",
      level: "!" };
    return el("span", { "class": "marker m-" + kind, title: title || null, "data-marker": word },
      el("span", { "aria-hidden": "true" }, symbols[kind] + " "), word);
  }

  function health(m) {
    var result = m.LastProcessingResult || "";
    if (m.Stuck) {
      return marker("stuck", "STUCK", result);
    }
    if (m.State === "Disabled" && m.StateTransitionReason !== "USER_INITIATED") {
      return marker("stopped", "STOPPED", result);
    }
    if (result.indexOf("PROBLEM") === 0) {
      return marker("problem", "PROBLEM", result);
    }
    if (m.State === "Disabled") {
      return marker("off", "DISABLED");
    }
    if (m.State !== "Enabled") {
      return marker("warn", m.State.toUpperCase());
    }
    return marker("ok", "OK");
  }

  function kind(m) {
    return health(m).getAttribute("data-marker");
  }

  // ---- times ----------------------------------------------------------------------------------

  function clock(iso) {
    var d = new Date(iso);
    return isNaN(d) ? text(iso) : d.toISOString().substring(11, 19) + " UTC";
  }

  function ago(iso, nowIso) {
    var s = Math.round((Date.parse(nowIso) - Date.parse(iso)) / 1000);
    if (isNaN(s)) {
      return "";
    }
    s = Math.max(0, s);
    if (s < 120) {
      return s + " s ago";
    }
    if (s < 7200) {
      return Math.round(s / 60) + " min ago";
    }
    return Math.round(s / 3600) + " h ago";
  }

  function when(iso, nowIso) {
    if (!iso) {
      return "never";
    }
    return el("time", { datetime: iso }, clock(iso) + " (" + ago(iso, nowIso) + ")");
  }

  function fnName(arn) {
    var m = /:function:([^:]+)/.exec(arn || "");
    return m ? m[1] : text(arn);
  }

  // ---- charts ---------------------------------------------------------------------------------

  function fmt(v) {
    if (v === null || v === undefined) {
      return "–";
    }
    return v >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
  }

  function maxOf(arrays) {
    var max = 0;
    arrays.forEach(function (a) {
      a.forEach(function (v) {
        if (v !== null && v > max) {
          max = v;
        }
      });
    });
    return max;
  }

  // lines draws |values| as polylines (broken at nulls), right-aligned on |slots| positions.
  function lines(g, values, slots, max, cls) {
    var W = 300, H = 60, pts = [];
    function flush() {
      if (pts.length === 1) { // a lone value: a dot, since a line needs two
        var xy = pts[0].split(",");
        g.appendChild(svg("circle", { "class": cls + " dot", cx: xy[0], cy: xy[1], r: 2.5 }));
      } else if (pts.length) {
        g.appendChild(svg("polyline", { "class": cls, points: pts.join(" ") }));
      }
      pts = [];
    }
    values.forEach(function (v, i) {
      if (v === null) {
        flush();
        return;
      }
      var x = ((slots - values.length + i) / (slots - 1)) * W;
      var y = H - 2 - (max > 0 ? (v / max) * (H - 6) : 0);
      pts.push(x.toFixed(1) + "," + y.toFixed(1));
    });
    flush();
  }

  function latest(values) {
    for (var i = values.length - 1; i >= 0; i--) {
      if (values[i] !== null) {
        return values[i];
      }
    }
    return null;
  }

  function chart(title, unit, series, slots, legend) {
    var max = maxOf(series);
    var now = latest(series[0]);
    var desc = title + " over the last 15 minutes: latest " + fmt(now) + " " + unit + ", peak " +
      fmt(max) + " " + unit + ".";
    var s = svg("svg", { "class": "spark", viewBox: "0 0 300 60", preserveAspectRatio: "none",
      role: "img", "aria-label": desc });
    var t = svg("title", null);
    t.textContent = desc;
    s.appendChild(t);
    s.appendChild(svg("line", { "class": "axis", x1: 0, y1: 58, x2: 300, y2: 58 }));
    lines(s, series[0], slots, max, "line");
    if (series[1]) {
      lines(s, series[1], slots, max, "line2");
    }
    return el("figure", { "class": "chart" }, s,
      el("figcaption", null, title + ": latest " + fmt(now) + " " + unit + ", peak " + fmt(max) +
        " " + unit + (legend ? " (" + legend + ")" : "")));
  }

  // ---- tables ---------------------------------------------------------------------------------

  function cell(label, content, cls) {
    return el("td", { "data-label": label, "class": cls || null }, content);
  }

  function mappingRow(m) {
    return el("tr", { "data-uuid": m.UUID, "data-health": kind(m) },
      cell("Health", health(m)),
      cell("Function", el("a", { href: "#m-" + m.UUID, title: m.FunctionArn }, fnName(m.FunctionArn))),
      cell("Topic", m.Topic),
      cell("State", m.State),
      cell("Reason", m.StateTransitionReason),
      cell("Last processing result", m.LastProcessingResult, "result"),
      el("td", { "data-label": "Lag", "class": "num", "data-field": "lag" }, text(m.OffsetLag)),
      el("td", { "data-label": "In flight", "class": "num" }, text(m.BatchesInFlight)));
  }

  function partStatus(p) {
    if (p.Stuck) {
      return [marker("stuck", "STUCK"), " " + p.StuckSeconds + " s: " + p.StuckCause];
    }
    if (p.Paused) {
      return marker("warn", "PAUSED", "paused by backpressure: its queue is full");
    }
    return marker("ok", "OK");
  }

  function partTable(m, nowIso) {
    var body = el("tbody", null);
    m.Partitions.forEach(function (p) {
      body.appendChild(el("tr", { "data-partition": p.Partition, "data-stuck": p.Stuck ? "1" : "0" },
        el("th", { scope: "row", "data-label": "Partition" }, p.Topic + "-" + p.Partition),
        el("td", { "data-label": "Committed", "class": "num" }, text(p.CommittedOffset)),
        el("td", { "data-label": "High watermark", "class": "num" }, text(p.HighWatermark)),
        el("td", { "data-label": "Lag", "class": "num", "data-field": "lag" }, text(p.OffsetLag)),
        el("td", { "data-label": "In flight", "class": "num" }, text(p.BatchesInFlight)),
        el("td", { "data-label": "Last delivery" }, when(p.LastDeliveryTime, nowIso)),
        el("td", { "data-label": "Status" }, partStatus(p))));
    });
    var head = el("tr", null);
    ["Partition", "Committed", "High watermark", "Lag", "In flight", "Last delivery", "Status"]
      .forEach(function (h, i) {
        head.appendChild(el("th", { scope: "col", "class": i >= 1 && i <= 4 ? "num" : null }, h));
      });
    return el("div", { "class": "scroll" },
      el("table", { "class": "stack parts" },
        el("caption", null, "Partitions of " + fnName(m.FunctionArn) + " (" + m.Topic + ")"),
        el("thead", null, head), body));
  }

  function fact(dt, dd) {
    return [el("dt", null, dt), el("dd", null, dd)];
  }

  function details(m, doc) {
    var slots = doc.Kesm.WindowSeconds / doc.Kesm.SampleSeconds + 1;
    var d = el("details", { "class": "mapping", id: "m-" + m.UUID, "data-uuid": m.UUID,
      open: closed[m.UUID] ? null : "" },
      el("summary", null, health(m), " ", el("h3", null, fnName(m.FunctionArn)),
        el("span", { "class": "muted" }, " on " + m.Topic)),
      el("dl", { "class": "facts" },
        fact("UUID", el("span", { "class": "mono" }, m.UUID)),
        fact("Function", m.FunctionArn),
        fact("State", m.State + " (" + m.StateTransitionReason + ")"),
        fact("Last processing result", m.LastProcessingResult),
        fact("Offset lag", text(m.OffsetLag)),
        fact("Batches in flight / records queued", text(m.BatchesInFlight) + " / " +
          text(m.RecordsQueued)),
        fact("Broker connections ready", text(m.BrokersReady))),
      el("div", { "class": "charts" },
        chart("Throughput", "records/s", [m.Throughput.Values], slots),
        chart("Invoke latency", "ms", [m.InvokeLatency.Mean, m.InvokeLatency.P95], slots,
          "solid: mean, dashed: 95th percentile")),
      m.Partitions.length ? partTable(m, doc.Kesm.Time)
        : el("p", { "class": "muted" }, m.Running ? "No partitions assigned yet." : "Not running."));
    d.addEventListener("toggle", function () {
      if (d.open) {
        delete closed[m.UUID];
      } else {
        closed[m.UUID] = true;
      }
    });
    return d;
  }

  function errorItem(e, doc) {
    var lvl = e.Level === "ERROR" ? marker("problem", "ERROR") : marker("level", "WARN");
    return el("li", null, when(e.Time, doc.Kesm.Time), " ", lvl, " ",
      e.Mapping ? el("a", { href: "#m-" + e.Mapping, "class": "mono" }, e.Mapping.substring(0, 8)) : null,
      e.Mapping ? " " : null, e.Message, e.Count > 1 ? " (×" + e.Count + ")" : null);
  }

  // ---- drawing --------------------------------------------------------------------------------

  function summary(doc) {
    var n = doc.EventSourceMappings.length, counts = {}, order = [];
    doc.EventSourceMappings.forEach(function (m) {
      var k = kind(m);
      if (!counts[k]) {
        counts[k] = 0;
        order.push(k);
      }
      counts[k]++;
    });
    var words = { OK: "OK", STUCK: "stuck", STOPPED: "stopped by a problem",
      PROBLEM: "with a problem", DISABLED: "disabled" };
    var parts = ["OK", "STUCK", "STOPPED", "PROBLEM", "DISABLED"].concat(order)
      .filter(function (k, i, all) { return counts[k] && all.indexOf(k) === i; })
      .map(function (k) { return counts[k] + " " + (words[k] || k.toLowerCase()); });
    return n + (n === 1 ? " mapping" : " mappings") + (parts.length ? ": " + parts.join(", ") : "") +
      ".";
  }

  function draw(doc) {
    var sum = document.getElementById("summary");
    var line = summary(doc);
    if (sum.textContent !== line) {
      sum.textContent = line; // a live region: only changed text is announced
    }
    var about = document.getElementById("about");
    about.replaceChildren("kesm " + doc.Kesm.Version + ". Updated " + clock(doc.Kesm.Time) +
      "; a partition with lag that does not move for " + doc.Kesm.StuckAfterSeconds +
      " s is stuck. Every 2 seconds from ", el("a", { href: "/status.json" }, "/status.json"), ".");
    var rows = doc.EventSourceMappings.map(mappingRow);
    document.querySelector("#mappings tbody").replaceChildren.apply(
      document.querySelector("#mappings tbody"), rows);
    document.getElementById("empty").hidden = rows.length > 0;
    var det = document.getElementById("details");
    det.replaceChildren.apply(det, doc.EventSourceMappings.map(function (m) {
      return details(m, doc);
    }));
    var errs = doc.RecentErrors.slice().reverse().map(function (e) { return errorItem(e, doc); });
    var ol = document.getElementById("errors");
    ol.replaceChildren.apply(ol, errs);
    document.getElementById("no-errors").hidden = errs.length > 0;
    document.body.setAttribute("data-updated", doc.Kesm.Time);
  }

  function showConn(msg) {
    var c = document.getElementById("conn");
    if (!msg) {
      c.hidden = true;
      return;
    }
    c.hidden = false;
    c.replaceChildren(marker("problem", "OFFLINE"), " Cannot reach kesm serve (" + msg + ")." +
      (last ? " Showing the data of " + clock(last.Kesm.Time) + "." : ""));
  }

  function poll() {
    fetch("/status.json", { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(function (doc) {
        last = doc;
        showConn(null);
        draw(doc);
      })
      .catch(function (e) { showConn(e && e.message ? e.message : "error"); })
      .then(function () { setTimeout(poll, POLL_MS); });
  }

  poll();
})();

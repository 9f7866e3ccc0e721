// cueroom live dashboard. Protocol: docs/feed.md (and protocol.go). Charts
// are uPlot (vendor/, from npm via ui/build.sh); this file only feeds them.
// Everything received is shown with textContent, never parsed as HTML.
// Event kinds come from kinds.js, generated from the Go event package: name
// them as K.NAME, never as strings (a Go test checks both files agree).
"use strict";

(function () {
  const K = cueroomKinds.kind;
  const unlisted = new Set(cueroomKinds.unlisted); // sent, not listed in the log
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const unitNames = { uS: "µS", mV: "mV", bpm: "bpm", "%": "%" };
  const maxEvents = 100;
  const WINDOW = 300; // seconds of signal shown
  const BUCKET = 10; // chart points per second (display only: the feed is never thinned)
  const STALE = 1.5, LOST = 5; // seconds without samples before a device is stale / lost

  let ws = null;
  let backoff = 500;
  let nextID = 0;
  let role = "";
  const pending = new Map(); // command id → {cmd, timer}
  const devices = new Map(); // device → {channels, latest, rate, arrivals[], last, nulls, quality}
  let session = {};
  let state = null;
  let stateAt = 0; // performance.now() when state arrived
  let dirty = false;
  let tNow = 0; // latest session time seen (s)

  // Chart state. Each time chart has series picked by channel label.
  const chartDefs = {
    hr: { el: "chart-hr", title: "Heart rate", unit: "bpm", labels: ["hr"] },
    eda: { el: "chart-eda", title: "Skin conductance", unit: "µS", labels: ["eda", "scl", "gsr"] },
    arousal: { el: "chart-arousal", title: "Arousal (z vs baseline)", unit: "z", labels: ["arousal"] },
  };
  const palette = ["#dc2626", "#2563eb", "#059669", "#7c3aed", "#d97706", "#0891b2"];
  const charts = {}; // name → {keys: [], xs: [], ys: [[]], ns: [[]], u, dirty}
  const marks = []; // {t, style, label}: drawn on every time chart
  const scrs = []; // {t, amp}
  let band = [-1, 1]; // arousal baseline band (physio's arousal_lo / arousal_hi when sent)
  let baseline = null; // {from, to}
  let ceiling = null; // arousal ceiling from an alert's data.limit
  const ratings = { xs: [], craving: [], suds: [], u: null, dirty: false };
  const activeCues = new Map(); // channel → cue
  const alerts = new Map(); // key → {text, t}
  const acknowledged = new Set();

  function setConn(s, text) {
    const el = $("conn");
    el.dataset.state = s;
    el.textContent = text;
    for (const b of document.querySelectorAll("#controls button")) b.disabled = s !== "open";
  }

  function connect() {
    if (!token) {
      setConn("closed", "no token in the page address (open the URL cueroom printed)");
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    setConn("connecting", "connecting…");
    ws = new WebSocket(scheme + "//" + location.host + "/ws?token=" + encodeURIComponent(token));
    ws.onopen = () => { backoff = 500; setConn("open", "connected"); };
    ws.onclose = (e) => {
      ws = null;
      for (const [id, p] of pending) { clearTimeout(p.timer); showCmd(p.cmd + ": connection lost before an answer", false); pending.delete(id); }
      const why = e.code ? " (" + e.code + (e.reason ? " " + e.reason : "") + ")" : "";
      setConn("closed", "disconnected" + why + ", retrying in " + Math.round(backoff / 100) / 10 + " s");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      if (!m || m.v !== 1) return;
      const h = handlers[m.type];
      if (h) {
        try { h(m); } catch (err) { console.error("cueroom: cannot show", m.type, err); }
      }
    };
  }

  const num = (v) => typeof v === "number" && isFinite(v);

  const handlers = {
    hello(m) {
      // A reconnect replays the history: start from a clean slate.
      clearData(true);
      session = m.session && typeof m.session === "object" ? m.session : {};
      document.body.dataset.mode = session.replay === true ? "replay" : "live";
      setupReplay();
      role = m.role === "observe" ? "observe" : m.role === "control" ? "control" : "";
      document.body.dataset.role = role;
      const badge = $("role");
      badge.hidden = role !== "observe";
      badge.textContent = "observe only";
      if (session.state && typeof session.state === "object") { state = session.state; stateAt = performance.now(); }
      renderHierarchy();
      dirty = true;
    },
    stream(m) {
      const dev = String(m.device);
      const chans = (m.channels || []).map((c) => ({ label: String(c.label), unit: String(c.unit || "") }));
      const old = devices.get(dev);
      const d = newDevice(chans, num(m.rate) ? m.rate : 0);
      // Derived signals are null until they can be computed (before the
      // baseline ends, say): that is not a sensor fault.
      d.derived = m.kind === "derived";
      if (old) { d.arrivals = old.arrivals; d.last = old.last; d.quality = old.quality; }
      devices.set(dev, d);
      dirty = true;
    },
    samples(m) {
      const dev = String(m.device);
      let d = devices.get(dev);
      const labels = (m.channels || []).map(String);
      if (!d) { d = newDevice(labels.map((l) => ({ label: l, unit: "" })), 0); devices.set(dev, d); }
      const ts = Array.isArray(m.t) ? m.t : [];
      const now = performance.now() / 1000;
      d.last = now;
      if (ts.length && num(ts[ts.length - 1])) d.arrivals.push([ts[ts.length - 1], ts.length]);
      (m.values || []).forEach((col, i) => {
        if (!Array.isArray(col) || !col.length) return;
        const label = labels[i] || (d.channels[i] && d.channels[i].label) || "ch" + i;
        for (const v of col) if (v === null) d.nulls++;
        const lastV = col[col.length - 1];
        d.latest[i] = lastV;
        if (dev === "physio" && (label === "arousal_lo" || label === "arousal_hi") && num(lastV)) {
          band[label === "arousal_lo" ? 0 : 1] = lastV;
        }
        for (const [name, def] of Object.entries(chartDefs)) {
          if (def.labels.includes(label)) addPoints(name, dev + " " + label, ts, col);
        }
      });
      if (ts.length && num(ts[ts.length - 1])) tNow = Math.max(tNow, ts[ts.length - 1]);
      dirty = true;
    },
    // Some kinds come too often to list (where the patient looks in a 360°
    // scene, up to 10 times a second): recorded and sent, but not listed.
    event(m) { onEvent(m); if (!unlisted.has(m.kind)) addEvent(m); },
    view(m) {
      if (typeof m.jpeg === "string") $("view").src = "data:image/jpeg;base64," + m.jpeg;
    },
    state(m) {
      state = m.state; stateAt = performance.now();
      if (state && num(state.t)) tNow = Math.max(tNow, state.t);
      renderHierarchy();
      dirty = true;
    },
    ack(m) {
      const p = pending.get(m.id);
      if (!p) return;
      clearTimeout(p.timer);
      pending.delete(m.id);
      showCmd(m.ok ? p.cmd + ": applied" : p.cmd + ": not applied — " + (m.error || "refused"), !!m.ok);
    },
    error(m) {
      const p = m.id ? pending.get(m.id) : null;
      if (p) { clearTimeout(p.timer); pending.delete(m.id); }
      showCmd((p ? p.cmd + ": " : "") + "error — " + m.error, false);
      if (m.code === "overrun") raise("overrun", "Live feed fell behind: " + m.error, tNow);
    },
  };

  // clearData forgets what the charts and lists hold: on (re)connect, and
  // when a replay jumps (the history that follows is the new position's).
  function clearData(all) {
    if (all) devices.clear();
    $("events").textContent = "";
    for (const c of Object.values(charts)) { if (c.u) c.u.destroy(); }
    for (const k of Object.keys(charts)) delete charts[k];
    for (const k of Object.keys(chartDefs)) $(chartDefs[k].el).textContent = "";
    marks.length = 0; scrs.length = 0; activeCues.clear(); baseline = null; ceiling = null;
    if (ratings.u) { ratings.u.destroy(); ratings.u = null; $("chart-ratings").textContent = ""; }
    ratings.xs = []; ratings.craving = []; ratings.suds = []; ratings.dirty = true;
    tNow = 0;
  }

  // ---- replay: a recorded session played back (cueroom replay) ----

  let seeking = false; // the slider is held: don't move it under the pointer

  function setupReplay() {
    const bar = $("replay");
    bar.hidden = session.replay !== true;
    if (bar.hidden) return;
    if (session.window === false) { $("view").removeAttribute("src"); $("view").alt = "No patient window in this replay (--no-window)."; }
    const dur = num(session.duration_s) ? session.duration_s : 0;
    $("replay-pos").max = String(dur);
    $("replay-dur").textContent = fmtClock(dur);
  }

  // replayHeld: a replay that is not playing sends no samples, which is
  // not a lost sensor.
  function replayHeld() {
    const r = session.replay === true && state && typeof state.replay === "object" && state.replay;
    return !!r && !r.playing;
  }

  // clockRate is how fast the session's own clock runs on this page: 1 live;
  // in a replay its speed, or 0 while it is held.
  function clockRate() {
    if (session.replay !== true) return 1;
    const r = state && typeof state.replay === "object" && state.replay ? state.replay : {};
    return r.playing && num(r.speed) ? r.speed : 0;
  }

  function renderReplay(st) {
    if (session.replay !== true) return;
    const r = st && typeof st.replay === "object" && st.replay ? st.replay : {};
    const since = (performance.now() - stateAt) / 1000;
    let pos = num(r.position_s) ? r.position_s : 0;
    if (r.playing && num(r.speed)) pos = Math.min(pos + since * r.speed, num(r.duration_s) ? r.duration_s : pos);
    if (!seeking) $("replay-pos").value = String(pos);
    $("replay-at").textContent = fmtClock(pos);
    $("replay-play").textContent = r.playing ? "Pause" : "Play";
    $("replay-play").dataset.playing = r.playing ? "1" : "";
    const sp = $("replay-speed");
    if (num(r.speed) && document.activeElement !== sp) sp.value = String(r.speed);
    $("replay-note").textContent = num(r.speed) && r.speed !== 1 ? "sound and video at 1× only" : "";
  }

  function newDevice(chans, rate) {
    return { channels: chans, latest: chans.map(() => null), rate: rate, arrivals: [], last: 0, nulls: 0, quality: null };
  }

  // ---- events: marks, cues, ratings, alerts ----

  function onEvent(m) {
    const t = num(m.t) ? m.t : tNow;
    const d = m.data && typeof m.data === "object" ? m.data : {};
    tNow = Math.max(tNow, t);
    switch (m.kind) {
      case K.REPLAY_SEEK:
        clearData(false);
        // The context that follows is sent again: count it afresh.
        for (const dev of devices.values()) { dev.arrivals = []; dev.nulls = 0; dev.latest = dev.channels.map(() => null); }
        tNow = num(d.to) ? d.to : t;
        break;
      case K.STEP_START: {
        const steps = Array.isArray(session.steps) ? session.steps : [];
        const st = num(m.step) && steps[m.step] ? steps[m.step] : null;
        marks.push({ t: t, style: "step", label: "S" + (num(m.step) ? m.step + 1 : "?") + (st && st.name ? " " + String(st.name).slice(0, 18) : "") });
        activeCues.clear();
        break;
      }
      case K.CUE_ONSET:
        activeCues.set(String(d.channel || d.modality || "cue"), String(d.cue || d.file || "?"));
        marks.push({ t: t, style: "cue", label: "" });
        break;
      case K.CUE_OFFSET:
        activeCues.delete(String(d.channel || d.modality || "cue"));
        break;
      case K.MARKER:
        marks.push({ t: t, style: "mark", label: typeof d.text === "string" ? d.text.slice(0, 20) : "" });
        break;
      case K.RATING:
        if (d.answered !== false && num(d.value)) {
          const scale = d.scale === "suds" ? "suds" : "craving";
          ratings.xs.push(t);
          ratings.craving.push(scale === "craving" ? d.value : null);
          ratings.suds.push(scale === "suds" ? d.value : null);
          ratings.dirty = true;
        }
        break;
      case K.SCR:
        if (num(d.amplitude)) scrs.push({ t: t, amp: d.amplitude });
        break;
      case K.BASELINE:
        if (num(d.from) && num(d.to)) baseline = { from: d.from, to: d.to };
        if (num(d.lo) && num(d.hi)) band = [d.lo, d.hi];
        break;
      case K.QUALITY: {
        const dev = devices.get(String(d.device || ""));
        if (dev) dev.quality = Array.isArray(d.flags) && d.flags.length ? d.flags.map(String).join(", ") : "ok";
        break;
      }
      case K.PATIENT_STOP:
        marks.push({ t: t, style: "alert", label: "STOP" });
        raise("stop@" + t, "Patient pressed STOP", t);
        break;
      case K.ALERT: {
        const src = String(d.source || "session");
        let text = (typeof d.message === "string" && d.message ? d.message : "alert") + " (" + src + ")";
        if (num(d.limit)) text += " — limit " + d.limit;
        if (src === "arousal" && num(d.limit)) ceiling = d.limit;
        const dev = devices.get(src);
        if (dev && typeof d.message === "string") dev.quality = d.message;
        marks.push({ t: t, style: "alert", label: "" });
        raise("alert@" + t + src, text, t);
        break;
      }
      case K.SESSION_END:
        marks.push({ t: t, style: "step", label: "end" });
        break;
    }
    for (const c of Object.values(charts)) c.dirty = true;
    ratings.dirty = true;
    dirty = true;
  }

  function raise(key, text, t) {
    if (acknowledged.has(key) || alerts.has(key)) return;
    alerts.set(key, { text: text, t: t });
    renderAlerts();
    beep();
  }

  function renderAlerts() {
    const box = $("alerts");
    box.textContent = "";
    for (const [key, a] of alerts) {
      const div = document.createElement("div");
      div.className = "alert";
      div.dataset.key = key;
      const span = document.createElement("span");
      span.textContent = "⚠ " + fmtTime(a.t) + " " + a.text;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Acknowledge";
      b.addEventListener("click", () => { alerts.delete(key); acknowledged.add(key); renderAlerts(); });
      div.appendChild(span);
      div.appendChild(b);
      box.appendChild(div);
    }
  }

  let audioCtx = null;
  function beep() {
    if (!$("sound").checked) return;
    try {
      audioCtx = audioCtx || new AudioContext();
      const o = audioCtx.createOscillator(), g = audioCtx.createGain();
      o.frequency.value = 880; g.gain.value = 0.15;
      o.connect(g); g.connect(audioCtx.destination);
      o.start(); o.stop(audioCtx.currentTime + 0.4);
    } catch (_) { /* no audio: the banner is enough */ }
  }

  // ---- chart data: points bucketed at 1/BUCKET s, mean per bucket ----

  function chartFor(name, key) {
    let c = charts[name];
    if (!c) { c = charts[name] = { keys: [], xs: [], ys: [], ns: [], u: null, dirty: true }; }
    let i = c.keys.indexOf(key);
    if (i < 0) {
      i = c.keys.length;
      c.keys.push(key);
      c.ys.push(new Array(c.xs.length).fill(null));
      c.ns.push(new Array(c.xs.length).fill(0));
      if (c.u) { c.u.destroy(); c.u = null; } // rebuilt with the new series
    }
    return [c, i];
  }

  function rowAt(c, x) {
    const n = c.xs.length;
    if (n === 0 || x > c.xs[n - 1]) {
      c.xs.push(x);
      for (const y of c.ys) y.push(null);
      for (const k of c.ns) k.push(0);
      return n;
    }
    if (x === c.xs[n - 1]) return n - 1;
    let lo = 0, hi = n; // first index with xs >= x
    while (lo < hi) { const mid = (lo + hi) >> 1; if (c.xs[mid] < x) lo = mid + 1; else hi = mid; }
    if (c.xs[lo] !== x) {
      c.xs.splice(lo, 0, x);
      for (const y of c.ys) y.splice(lo, 0, null);
      for (const k of c.ns) k.splice(lo, 0, 0);
    }
    return lo;
  }

  function addPoints(name, key, ts, vals) {
    const [c, i] = chartFor(name, key);
    const y = c.ys[i], cnt = c.ns[i];
    for (let k = 0; k < vals.length && k < ts.length; k++) {
      const v = vals[k], t = ts[k];
      if (!num(v) || !num(t)) continue;
      const r = rowAt(c, Math.round(t * BUCKET) / BUCKET);
      cnt[r]++;
      y[r] = y[r] === null ? v : y[r] + (v - y[r]) / cnt[r];
    }
    // Forget what has scrolled out, in chunks so it stays cheap.
    const lastX = c.xs[c.xs.length - 1];
    let cut = 0;
    while (cut < c.xs.length && c.xs[cut] < lastX - WINDOW - 5) cut++;
    if (cut > 200) {
      c.xs.splice(0, cut);
      for (const a of c.ys) a.splice(0, cut);
      for (const a of c.ns) a.splice(0, cut);
    }
    c.dirty = true;
  }

  // ---- uPlot ----

  function fmtAxis(u, splits) { return splits.map((s) => fmtClock(s)); }

  function fmtClock(sec) {
    if (!num(sec)) return "";
    const neg = sec < 0; sec = Math.abs(sec);
    const m = Math.floor(sec / 60), s = Math.floor(sec - m * 60);
    return (neg ? "-" : "") + m + ":" + String(s).padStart(2, "0");
  }

  // drawMarks puts step boundaries, cue onsets, markers and alerts on the
  // time axis of every chart, the baseline period and, per chart, extras.
  function drawMarks(name) {
    return (u) => {
      const ctx = u.ctx, bb = u.bbox, dpr = devicePixelRatio || 1;
      const xmin = u.scales.x.min, xmax = u.scales.x.max;
      ctx.save();
      ctx.beginPath(); ctx.rect(bb.left, bb.top, bb.width, bb.height); ctx.clip();
      if (baseline) {
        const a = u.valToPos(Math.max(baseline.from, xmin), "x", true), b = u.valToPos(Math.min(baseline.to, xmax), "x", true);
        if (b > a) { ctx.fillStyle = "rgba(100,116,139,0.10)"; ctx.fillRect(a, bb.top, b - a, bb.height); }
      }
      if (name === "arousal") {
        const lo = u.valToPos(band[0], "y", true), hi = u.valToPos(band[1], "y", true);
        ctx.fillStyle = "rgba(5,150,105,0.12)";
        ctx.fillRect(bb.left, Math.min(lo, hi), bb.width, Math.abs(lo - hi));
        if (num(ceiling)) {
          const y = u.valToPos(ceiling, "y", true);
          ctx.strokeStyle = "#b42318"; ctx.setLineDash([6 * dpr, 4 * dpr]); ctx.lineWidth = dpr;
          ctx.beginPath(); ctx.moveTo(bb.left, y); ctx.lineTo(bb.left + bb.width, y); ctx.stroke();
          ctx.setLineDash([]);
        }
      }
      ctx.font = 10 * dpr + "px system-ui, sans-serif";
      for (const mk of marks) {
        if (mk.t < xmin || mk.t > xmax) continue;
        const x = Math.round(u.valToPos(mk.t, "x", true)) + 0.5;
        ctx.strokeStyle = { step: "#444", cue: "#d97706", mark: "#2563eb", alert: "#b42318" }[mk.style];
        ctx.lineWidth = (mk.style === "step" || mk.style === "alert" ? 2 : 1) * dpr;
        ctx.setLineDash(mk.style === "cue" ? [3 * dpr, 3 * dpr] : []);
        ctx.beginPath(); ctx.moveTo(x, bb.top); ctx.lineTo(x, bb.top + bb.height); ctx.stroke();
        if (mk.label) { ctx.fillStyle = ctx.strokeStyle; ctx.fillText(mk.label, x + 3 * dpr, bb.top + 11 * dpr); }
      }
      ctx.setLineDash([]);
      if (name === "eda") {
        ctx.fillStyle = "#7c3aed";
        for (const s of scrs) {
          if (s.t < xmin || s.t > xmax) continue;
          const x = u.valToPos(s.t, "x", true), y = bb.top + bb.height - 2 * dpr;
          ctx.beginPath(); ctx.moveTo(x, y - 9 * dpr); ctx.lineTo(x - 5 * dpr, y); ctx.lineTo(x + 5 * dpr, y); ctx.closePath(); ctx.fill();
        }
      }
      ctx.restore();
    };
  }

  function width(el) { return Math.max(300, el.clientWidth || 600); }

  function makePlot(name, el, title, unit, seriesDefs, points) {
    el.textContent = "";
    const opts = {
      title: title,
      width: width(el),
      height: name === "ratings" ? 140 : 170,
      cursor: { sync: { key: "cueroom-t" } },
      legend: { live: true },
      scales: { x: { time: false } },
      axes: [
        { values: fmtAxis },
        { label: unit, size: 55 },
      ],
      series: [{ label: "t", value: (u, v) => fmtClock(v) }].concat(seriesDefs.map((s, i) => ({
        label: s,
        stroke: palette[i % palette.length],
        width: 1.5,
        spanGaps: true,
        points: { show: !!points, size: 7 },
        paths: points ? () => null : undefined,
      }))),
      hooks: { draw: [drawMarks(name)] },
    };
    if (name === "arousal") opts.scales.y = { range: (u, lo, hi) => [Math.min(lo, band[0], -2), Math.max(hi, band[1], num(ceiling) ? ceiling : 2, 2)] };
    if (name === "ratings") opts.scales.y = { range: (u, lo, hi) => [0, hi > 10 ? 100 : 10] };
    return new uPlot(opts, [[]].concat(seriesDefs.map(() => [])), el);
  }

  function xRange() {
    // Grow from the first minute up to WINDOW, then scroll.
    const hi = Math.max(tNow, 60);
    return [Math.max(0, hi - WINDOW), hi];
  }

  function renderCharts() {
    if (typeof uPlot === "undefined") return;
    const [xmin, xmax] = xRange();
    for (const [name, c] of Object.entries(charts)) {
      if (!c.dirty) continue;
      c.dirty = false;
      const def = chartDefs[name];
      if (!c.u) c.u = makePlot(name, $(def.el), def.title, def.unit, c.keys, false);
      c.u.setData([c.xs].concat(c.ys), true);
      c.u.setScale("x", { min: xmin, max: xmax });
    }
    if (ratings.dirty && ratings.xs.length) {
      ratings.dirty = false;
      if (!ratings.u) ratings.u = makePlot("ratings", $("chart-ratings"), "Ratings (patient)", "rating", ["craving", "SUDS"], true);
      ratings.u.setData([ratings.xs, ratings.craving, ratings.suds], true);
      ratings.u.setScale("x", { min: xmin, max: xmax });
    }
  }

  let lastW = 0;
  window.addEventListener("resize", () => {
    const el = $("chart-hr");
    const w = width(el);
    if (w === lastW) return;
    lastW = w;
    for (const c of Object.values(charts)) if (c.u) c.u.setSize({ width: w, height: c.u.height });
    if (ratings.u) ratings.u.setSize({ width: w, height: ratings.u.height });
  });

  // ---- commands ----

  function send(cmd, args) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const id = "c" + (++nextID);
    const msg = { type: "command", v: 1, id: id, cmd: cmd };
    if (args) msg.args = args;
    const timer = setTimeout(() => { pending.delete(id); showCmd(cmd + ": no answer", false); }, 5000);
    pending.set(id, { cmd: cmd, timer: timer });
    showCmd(cmd + ": sent, waiting for the session…", null);
    ws.send(JSON.stringify(msg));
  }

  function showCmd(text, ok) {
    const el = $("cmdstatus");
    el.textContent = "";
    const span = document.createElement("span");
    if (ok !== null) span.className = ok ? "ok" : "bad";
    span.textContent = text;
    el.appendChild(span);
  }

  // ---- text panels ----

  function fmtTime(sec) {
    if (typeof sec !== "number" || !isFinite(sec)) return "—";
    const neg = sec < 0;
    sec = Math.abs(sec);
    const m = Math.floor(sec / 60);
    const s = (sec - m * 60).toFixed(1).padStart(4, "0");
    return (neg ? "-" : "") + m + ":" + s;
  }

  function fmtVal(v) {
    if (typeof v !== "number") return "—";
    const a = Math.abs(v);
    return v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
  }

  function addEvent(m) {
    const li = document.createElement("li");
    const t = document.createElement("span");
    t.className = "t";
    t.textContent = fmtTime(m.t);
    li.appendChild(t);
    let text = String(m.kind);
    if (typeof m.step === "number" && m.step >= 0) text += " · step " + (m.step + 1);
    if (m.data && typeof m.data === "object") {
      const parts = Object.keys(m.data).slice(0, 6).map((k) => k + "=" + String(JSON.stringify(m.data[k])).slice(0, 60));
      if (parts.length) text += " · " + parts.join(" ");
    }
    li.appendChild(document.createTextNode(text));
    const list = $("events");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > maxEvents) list.removeChild(list.lastChild);
  }

  function renderHierarchy() {
    const steps = Array.isArray(session.steps) ? session.steps : [];
    const ol = $("hierarchy");
    const st = state && typeof state === "object" ? state : {};
    const cur = num(st.step_index) ? st.step_index : -1;
    const ended = st.status === "ended";
    if (ol.children.length !== steps.length) {
      ol.textContent = "";
      steps.forEach((s) => {
        const li = document.createElement("li");
        const label = document.createElement("span");
        const o = s && typeof s === "object" ? s : {};
        let text = String(o.name || o.id || "step");
        if (num(o.intensity)) text += " · intensity " + o.intensity;
        if (num(o.duration)) text += " · " + fmtClock(o.duration);
        label.textContent = text;
        li.appendChild(label);
        if (o.neutral) li.classList.add("neutral");
        ol.appendChild(li);
      });
    }
    Array.from(ol.children).forEach((li, i) => {
      li.classList.toggle("done", i < cur || (ended && i <= cur));
      li.classList.toggle("current", i === cur && !ended);
      let bar = li.querySelector("progress");
      if (i === cur && !ended) {
        if (!bar) { bar = document.createElement("progress"); bar.max = 1; li.appendChild(bar); }
      } else if (bar) bar.remove();
    });
    $("overall").textContent = steps.length ? "(" + Math.min(Math.max(cur + (ended ? 1 : 0), 0), steps.length) + " of " + steps.length + " done)" : "";
  }

  function renderSensors() {
    const now = performance.now() / 1000;
    const body = $("sensors").tBodies[0];
    body.textContent = "";
    const running = state && state.status === "running";
    for (const [name, d] of devices) {
      // Rate from the samples' own times over the last 2 s, so a history replay does not inflate it.
      const lastT = d.arrivals.length ? d.arrivals[d.arrivals.length - 1][0] : 0;
      while (d.arrivals.length && d.arrivals[0][0] <= lastT - 2) d.arrivals.shift();
      const n = d.arrivals.reduce((a, x) => a + x[1], 0);
      const age = d.last ? now - d.last : Infinity;
      // A held replay sends nothing: that is not a sensor's fault.
      const status = replayHeld() && age >= STALE ? "held" : age < STALE ? "live" : age < LOST ? "stale" : "lost";
      if (status === "lost" && d.last && running && !replayHeld()) raise("lost:" + name + "@" + Math.round(d.last), "Sensor lost: no data from " + name + " for " + Math.round(age) + " s", tNow);
      const tr = body.insertRow();
      tr.insertCell().textContent = name;
      const s = tr.insertCell();
      s.className = status;
      s.textContent = d.last ? (status === "held" ? "replay paused" : status + (status === "live" ? "" : " (" + Math.round(age) + " s)")) : "no data yet";
      const span = d.arrivals.length > 1 ? lastT - d.arrivals[0][0] : 0;
      const measured = span > 0.5 ? (n - d.arrivals[0][1]) / span : null;
      tr.insertCell().textContent = (measured !== null ? Math.round(measured) : "—") + (d.rate ? " / " + d.rate + " Hz" : " Hz");
      const q = tr.insertCell();
      const low = d.rate && status === "live" && measured !== null && measured < d.rate * 0.8;
      const qtext = d.quality || (low ? "low rate" : d.nulls && !d.derived ? d.nulls + " missing values" : "ok");
      q.textContent = qtext;
      q.className = qtext === "ok" ? "q-ok" : "q-bad";
    }
  }

  function renderValues() {
    const body = $("values").tBodies[0];
    body.textContent = "";
    for (const [name, d] of devices) {
      d.channels.forEach((c, i) => {
        const tr = body.insertRow();
        tr.insertCell().textContent = name;
        tr.insertCell().textContent = c.label;
        const v = tr.insertCell();
        v.className = "v";
        v.textContent = fmtVal(d.latest[i]) + " " + (unitNames[c.unit] || c.unit);
      });
    }
  }

  function render() {
    const st = state && typeof state === "object" ? state : {};
    const title = typeof st.title === "string" && st.title ? st.title : typeof session.title === "string" ? session.title : "";
    $("title").textContent = title ? "cueroom — " + title : "cueroom";
    document.title = title ? title + " — cueroom" : "cueroom — live session";
    $("status").textContent = st.status != null ? String(st.status) : "—";
    $("status").dataset.status = st.status != null ? String(st.status) : "";
    let name = st.step_name != null ? String(st.step_name) : "—";
    if (typeof st.step_index === "number" && st.step_index >= 0) name = (st.step_index + 1) + ". " + name;
    if (num(st.steps) && st.steps > 0 && typeof st.step_index === "number" && st.step_index >= 0) name += " (of " + st.steps + ")";
    $("stepname").textContent = name;
    $("intensity").textContent = st.intensity != null ? String(st.intensity) : "—";
    let left = st.step_remaining;
    const since = (performance.now() - stateAt) / 1000 * clockRate();
    if (typeof left === "number" && st.status === "running") left = Math.max(0, left - since);
    $("remaining").textContent = fmtTime(left);
    const el = num(st.step_elapsed) ? st.step_elapsed + (st.status === "running" ? since : 0) : null;
    const total = num(st.step_elapsed) && num(st.step_remaining) ? st.step_elapsed + st.step_remaining : 0;
    const frac = total > 0 && el !== null ? Math.min(1, el / total) : 0;
    $("stepprogress").value = frac;
    const bar = document.querySelector("#hierarchy li.current progress");
    if (bar) bar.value = frac;
    const cues = Array.from(activeCues, ([ch, cue]) => ch + ": " + cue);
    $("cue").textContent = cues.length ? cues.join(" · ") : "—";
    const p = st.prompt && typeof st.prompt === "object" ? st.prompt : null;
    $("prompt").hidden = !p;
    if (p) $("prompt").textContent = "Asking the patient (" + String(p.scale || "rating") + "): " + String(p.question || "");
    const last = (arr) => { for (let i = arr.length - 1; i >= 0; i--) if (arr[i] !== null) return arr[i]; return null; };
    const cr = last(ratings.craving), su = last(ratings.suds);
    $("ratings").textContent = cr === null && su === null ? "—" : "craving " + (cr === null ? "—" : cr) + " · SUDS " + (su === null ? "—" : su);

    renderReplay(st);
    if (!dirty) return;
    dirty = false;
    renderValues();
  }

  let lastCharts = 0, lastSensors = 0;
  function frame(ts) {
    render();
    if (ts - lastCharts > 200) { lastCharts = ts; renderCharts(); }
    if (ts - lastSensors > 500) { lastSensors = ts; renderSensors(); }
    requestAnimationFrame(frame);
  }

  // For tests and the curious: what the charts hold, without touching uPlot internals.
  window.cueroomCharts = () => {
    const out = {};
    for (const [name, c] of Object.entries(charts)) {
      out[name] = { series: c.keys.slice(), points: c.xs.length, xmax: c.xs.length ? c.xs[c.xs.length - 1] : null, drawn: !!c.u, plotted: c.u ? c.u.data[0].length : 0 };
    }
    out.ratings = { points: ratings.xs.length, drawn: !!ratings.u };
    out.marks = marks.length;
    out.scrs = scrs.length;
    return out;
  };

  document.addEventListener("DOMContentLoaded", () => {
    for (const b of document.querySelectorAll("#controls button")) {
      b.addEventListener("click", () => {
        if (role !== "control") { showCmd("this dashboard is observe-only", false); return; }
        const cmd = b.dataset.cmd;
        if (cmd === "end" && !confirm("End the session now?")) return;
        if (cmd === "marker") {
          const text = $("markertext").value.trim();
          if (!text) { showCmd("marker: type a note first", false); return; }
          send(cmd, { text: text });
          $("markertext").value = "";
          return;
        }
        if (cmd === "rate") { send(cmd, { scale: b.dataset.scale || "craving" }); return; }
        send(cmd);
      });
    }
    const ctl = () => { if (role !== "control") { showCmd("this dashboard is observe-only", false); return false; } return true; };
    $("replay-play").addEventListener("click", () => { if (ctl()) send($("replay-play").dataset.playing ? "pause" : "resume"); });
    $("replay-speed").addEventListener("change", () => { if (ctl()) send("speed", { x: Number($("replay-speed").value) }); });
    const pos = $("replay-pos");
    pos.addEventListener("input", () => { seeking = true; $("replay-at").textContent = fmtClock(Number(pos.value)); });
    pos.addEventListener("change", () => { seeking = false; if (ctl()) send("seek", { t: Number(pos.value) }); });
    // In a replay, a click on a step of the hierarchy jumps to it.
    $("hierarchy").addEventListener("click", (e) => {
      if (session.replay !== true || !ctl()) return;
      const li = e.target.closest("li");
      if (!li) return;
      const i = Array.prototype.indexOf.call($("hierarchy").children, li);
      if (i >= 0) send("seek", { step: i });
    });
    connect();
    requestAnimationFrame(frame);
  });
})();

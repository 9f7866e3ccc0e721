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
  const unitNames = { uS: "µS", mV: "mV", bpm: "bpm", "%": "%", ms: "ms", z: "z" };
  const maxEvents = 200;
  const WINDOW = 300; // seconds of signal shown
  const BUCKET = 10; // chart points per second (display only: the feed is never thinned live)
  const STALE = 3, LOST = 5; // seconds of session time without samples before a value is stale / a device lost
  const GAP = 1, GAP_THIN = 1.6; // seconds between samples that break a line (full rate / thinned history)
  const CONFIRM_MS = 5000; // how long "Next step…" and "End…" wait for the second click
  const ENDED_REASON = "session ended"; // the close reason after which the page stops reconnecting
  const UNRELIABLE_HR = "unreliable heart rate"; // sensors/physio's quality flag (Noisy)

  let ws = null;
  let backoff = 500;
  let nextID = 0;
  let role = "";
  let connected = false;
  let ended = false; // the session ended: no reconnecting, no countdown
  const pending = new Map(); // command id → {cmd, timer}
  const devices = new Map(); // device → see newDevice
  const quality = new Map(); // "device|channel" → flags (strings)
  let session = {};
  let state = null;
  let stateAt = 0; // performance.now() when state arrived
  let dirty = false;
  let tNow = 0; // latest session time seen (s)
  let tNowAt = 0; // performance.now() when tNow last moved
  let promptT = null; // session time of the latest rating prompt
  let summary = null; // the server's summary once the session ended
  const cueIndex = new Map(); // cue id → {kind, file, text, description} from hello steps

  // Chart state. Each time chart has series picked by channel label.
  const chartDefs = {
    hr: { el: "chart-hr", title: "Heart rate (bpm)", unit: "HR bpm", labels: ["hr"], share: 0.27 },
    eda: { el: "chart-eda", title: "Skin conductance (µS)", unit: "SC µS", labels: ["eda", "scl", "gsr"], share: 0.27 },
    arousal: { el: "chart-arousal", title: "Arousal (z vs baseline)", unit: "arousal z", labels: ["arousal"], share: 0.26 },
  };
  const palette = ["#dc2626", "#2563eb", "#059669", "#7c3aed", "#d97706", "#0891b2"];
  const charts = {}; // name → {keys: [], xs: [], ys: [[]], ns: [[]], lastT: [], u, dirty}
  const marks = []; // {t, style, label}: drawn on every time chart
  const gaps = []; // {from, to, device}: shaded, lines broken
  const scrs = []; // {t, amp}
  let band = [-1, 1]; // arousal baseline band (physio's arousal_lo / arousal_hi when sent)
  let baseline = null; // {from, to}
  let ceiling = null; // arousal ceiling from an alert's data.limit
  const baseMean = {}; // label → mean over the baseline period (hr, scl)
  const ratings = { xs: [], craving: [], suds: [], u: null, dirty: false };
  const activeCues = new Map(); // channel → cue text
  const alerts = new Map(); // key → alert entry (see raise)

  function setConn(s, text) {
    const el = $("conn");
    el.dataset.state = s;
    el.textContent = text;
    connected = s === "open";
    updateButtons();
  }

  function connect() {
    if (!token) {
      setConn("closed", "no token in the page address (open the URL cueroom printed)");
      return;
    }
    if (ended) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    setConn("connecting", "connecting…");
    ws = new WebSocket(scheme + "//" + location.host + "/ws?token=" + encodeURIComponent(token));
    ws.onopen = () => { backoff = 500; setConn("open", "connected"); };
    ws.onclose = (e) => {
      ws = null;
      for (const [id, p] of pending) { clearTimeout(p.timer); showCmd(p.cmd + ": connection lost before an answer", false); pending.delete(id); }
      if (e.reason === ENDED_REASON || sessionEnded()) {
        // The session is over: nothing comes back, so do not knock again.
        ended = true;
        setConn("ended", "session ended — disconnected");
        showSummary();
        dirty = true;
        return;
      }
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
  const sessionEnded = () => ended || !!summary || (state && state.status === "ended");

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
      indexCues();
      renderHierarchy();
      updateButtons();
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
      d.source = m.settings && typeof m.settings.source === "string" ? m.settings.source : "";
      if (old) { d.arrivals = old.arrivals; d.last = old.last; d.lastT = old.lastT; d.quality = old.quality; d.finite = old.finite; }
      devices.set(dev, d);
      dirty = true;
    },
    samples(m) {
      const dev = String(m.device);
      let d = devices.get(dev);
      const labels = (m.channels || []).map(String);
      if (!d) { d = newDevice(labels.map((l) => ({ label: l, unit: "" })), 0); devices.set(dev, d); }
      const ts = Array.isArray(m.t) ? m.t : [];
      const thin = m.thin === true; // history thinned by the server: seq gaps are not losses
      d.last = performance.now() / 1000;
      const lastT = ts.length && num(ts[ts.length - 1]) ? ts[ts.length - 1] : null;
      if (lastT !== null && !thin) d.arrivals.push([lastT, ts.length]);
      if (lastT !== null) d.lastT = Math.max(d.lastT || 0, lastT);
      (m.values || []).forEach((col, i) => {
        if (!Array.isArray(col) || !col.length) return;
        const label = labels[i] || (d.channels[i] && d.channels[i].label) || "ch" + i;
        const ci = d.channels.findIndex((c) => c.label === label);
        for (let k = 0; k < col.length; k++) {
          if (col[k] === null) { if (!thin) d.nulls++; continue; }
          if (num(col[k]) && num(ts[k]) && ci >= 0) d.finite[ci] = { v: col[k], t: ts[k] };
        }
        const lastV = col[col.length - 1];
        if (ci >= 0) d.latest[ci] = lastV;
        if (d.derived && (label === "arousal_lo" || label === "arousal_hi") && num(lastV)) {
          band[label === "arousal_lo" ? 0 : 1] = lastV;
        }
        for (const [name, def] of Object.entries(chartDefs)) {
          if (def.labels.includes(label)) addPoints(name, dev + " " + label, ts, col, thin);
        }
      });
      if (lastT !== null && lastT > tNow) { tNow = lastT; tNowAt = performance.now(); }
      dirty = true;
    },
    // Some kinds come too often to list (where the patient looks in a 360°
    // scene, up to 10 times a second): recorded and sent, but not listed.
    event(m) { onEvent(m); if (!unlisted.has(m.kind)) addEvent(m); },
    view(m) {
      if (typeof m.jpeg === "string") $("view").src = "data:image/jpeg;base64," + m.jpeg;
    },
    state(m) {
      const was = state && state.status;
      state = m.state; stateAt = performance.now();
      if (state && num(state.t) && state.t > tNow) { tNow = state.t; tNowAt = stateAt; }
      if (state && state.status === "ended" && was !== "ended") setTimeout(showSummary, 1500); // the server's, or our own
      renderHierarchy();
      updateButtons();
      dirty = true;
    },
    summary(m) {
      summary = m.summary && typeof m.summary === "object" ? m.summary : null;
      showSummary();
      updateButtons();
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
      if (m.code === "overrun") raise({ key: "overrun", level: "warning", source: "feed", message: "The live feed fell behind: some data is missing from the charts (the recording is complete)", detail: String(m.error || ""), t: tNow });
    },
  };

  // clearData forgets what the charts and lists hold: on (re)connect, and
  // when a replay jumps (the history that follows is the new position's).
  function clearData(all) {
    if (all) { devices.clear(); quality.clear(); alerts.clear(); summary = null; renderAlerts(); $("summary").hidden = true; }
    $("events").textContent = "";
    for (const c of Object.values(charts)) { if (c.u) c.u.destroy(); }
    for (const k of Object.keys(charts)) delete charts[k];
    for (const k of Object.keys(chartDefs)) $(chartDefs[k].el).textContent = "";
    marks.length = 0; gaps.length = 0; scrs.length = 0; activeCues.clear(); baseline = null; ceiling = null;
    for (const k of Object.keys(baseMean)) delete baseMean[k];
    if (ratings.u) { ratings.u.destroy(); ratings.u = null; $("chart-ratings").textContent = ""; }
    ratings.xs = []; ratings.craving = []; ratings.suds = []; ratings.dirty = true;
    tNow = 0; promptT = null;
  }

  function indexCues() {
    cueIndex.clear();
    for (const s of Array.isArray(session.steps) ? session.steps : []) {
      for (const c of s && Array.isArray(s.cues) ? s.cues : []) {
        if (c && typeof c.id === "string") cueIndex.set(c.id, c);
      }
    }
  }

  // cueText names a cue as a person would: the protocol's description, else
  // what kind of cue it is and its file's name or its words; never its id
  // alone (bottle.c2 says nothing in the room).
  const kindWords = { image: "picture", panorama: "360° picture", video: "video", sound: "sound", narration: "narration",
    say: "spoken text", text: "text on screen", breathing: "breathing pacer" };
  function cueText(d) {
    const c = cueIndex.get(String(d.cue || "")) || {};
    if (typeof c.description === "string" && c.description) return c.description;
    const kind = String(d.modality || c.kind || "");
    const words = kindWords[kind] || kind || "cue";
    const file = String(d.file || c.file || "");
    if (file) return words + " " + file.split("/").pop();
    if (typeof c.text === "string" && c.text) return words + " “" + c.text.slice(0, 40) + "”";
    return words;
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
  // in a replay its speed, or 0 while it is held; 0 once ended or while
  // disconnected (nothing says it runs on).
  function clockRate() {
    if (!connected || sessionEnded()) return 0;
    if (session.replay !== true) return 1;
    const r = state && typeof state.replay === "object" && state.replay ? state.replay : {};
    return r.playing && num(r.speed) ? r.speed : 0;
  }

  // sessionNow is the session clock now: the state's t, run on locally.
  // null when the session sends no clock (then ages are by arrival).
  function sessionNow() {
    if (!state || !num(state.t)) return null;
    return state.t + (performance.now() - stateAt) / 1000 * clockRate();
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
    return { channels: chans, latest: chans.map(() => null), finite: chans.map(() => null), rate: rate, arrivals: [],
      last: 0, lastT: 0, nulls: 0, quality: null, derived: false, source: "" };
  }

  // ---- events: marks, cues, ratings, alerts ----

  function onEvent(m) {
    const t = num(m.t) ? m.t : tNow;
    const d = m.data && typeof m.data === "object" ? m.data : {};
    if (t > tNow) { tNow = t; tNowAt = performance.now(); }
    switch (m.kind) {
      case K.REPLAY_SEEK:
        clearData(false);
        summary = null; $("summary").hidden = true;
        // The context that follows is sent again: count it afresh.
        for (const dev of devices.values()) { dev.arrivals = []; dev.nulls = 0; dev.latest = dev.channels.map(() => null); dev.finite = dev.channels.map(() => null); dev.lastT = 0; }
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
        if (d.modality === "rating") break; // the prompt, shown in its own panel
        activeCues.set(String(d.channel || d.modality || "cue") + "\u0000" + String(d.cue || d.file || ""), cueText(d));
        marks.push({ t: t, style: "cue", label: "" });
        break;
      case K.CUE_OFFSET:
        if (d.modality === "rating") break;
        activeCues.delete(String(d.channel || d.modality || "cue") + "\u0000" + String(d.cue || d.file || ""));
        break;
      case K.MARKER:
        marks.push({ t: t, style: "mark", label: typeof d.text === "string" ? d.text.slice(0, 20) : "" });
        break;
      case K.RATING_PROMPT:
        promptT = t;
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
        if (num(d.from) && num(d.to)) { baseline = { from: d.from, to: d.to }; computeBaseMeans(); }
        if (num(d.lo) && num(d.hi)) band = [d.lo, d.hi];
        break;
      case K.QUALITY: {
        const dev = String(d.device || "");
        const flags = Array.isArray(d.flags) ? d.flags.map(String) : [];
        quality.set(dev + "|" + String(d.channel || ""), flags);
        const dv = devices.get(dev);
        if (dv) dv.quality = qualityText(dev);
        // A signal problem that cleared: its alert is resolved.
        if (!flags.length) resolve("signal|" + dev + "|" + String(d.channel || ""), t, "signal good again");
        break;
      }
      case K.GAP: {
        // From the device's own counter or clock (the sensor bridge): the
        // data between gap_start and gap_end is missing.
        const dev = String(d.device || "");
        if (num(d.gap_start) && num(d.gap_end) && d.gap_end > d.gap_start) {
          gaps.push({ from: d.gap_start, to: d.gap_end, device: dev });
          breakLines(dev, (d.gap_start + d.gap_end) / 2);
        }
        const span = num(d.gap_start) && num(d.gap_end) ? " (" + fmtTime(d.gap_start) + "–" + fmtTime(d.gap_end) + ")" : "";
        resolve("sensor|" + dev + "||", t, "back" + span);
        break;
      }
      case K.COMMAND:
        if (d.cmd === "panic") marks.push({ t: t, style: "panic", label: "PANIC" });
        break;
      case K.PATIENT_STOP:
        marks.push({ t: t, style: "stop", label: "STOP" });
        raise({ key: "stop@" + t, level: "alarm", source: "patient", message: "The patient pressed STOP: calm scene on", t: t });
        break;
      case K.ALERT:
        onAlert(d, t);
        break;
      case K.SESSION_END:
        marks.push({ t: t, style: "step", label: "end" });
        break;
    }
    for (const c of Object.values(charts)) c.dirty = true;
    ratings.dirty = true;
    dirty = true;
  }

  const levels = ["info", "warning", "alarm"];
  const levelOf = (l) => levels.includes(l) ? l : "warning"; // "" (old recordings) is a warning

  function onAlert(d, t) {
    const src = String(d.source || "session");
    const dev = String(d.device || ""), ch = String(d.channel || "");
    if (src === "arousal" && num(d.limit)) ceiling = d.limit;
    if (Array.isArray(d.quality) && dev) {
      quality.set(dev + "|" + ch, d.quality.map(String));
      const dv = devices.get(dev);
      if (dv) dv.quality = qualityText(dev);
    }
    // One entry per incident: the server's key, else what names the
    // condition (a signal's raise and clear share one).
    const key = typeof d.incident === "string" && d.incident ? d.incident
      : src === "signal" ? "signal|" + dev + "|" + ch
        : src + "|" + dev + "|" + ch + "|" + (d.limit !== undefined ? JSON.stringify(d.limit) : "");
    if (d.resolved === true) { resolve(key, t, typeof d.message === "string" ? d.message : ""); return; }
    const level = levelOf(d.level);
    if (level !== "info") marks.push({ t: t, style: level === "alarm" ? "alert" : "warn", label: "" });
    let message = typeof d.message === "string" && d.message ? d.message : "alert from " + src;
    if (num(d.limit) && !/limit|ceiling/.test(message)) message += " (limit " + fmtVal(d.limit) + ")";
    raise({ key: key, level: level, source: src, message: message, detail: typeof d.detail === "string" ? d.detail : "", t: t });
  }

  function qualityText(dev) {
    const out = [];
    for (const [k, flags] of quality) if (k.startsWith(dev + "|") && flags.length) out.push(k.slice(dev.length + 1) + ": " + flags.join(", "));
    return out.length ? out.join("; ") : "ok";
  }

  // raise adds an alert or updates its incident in place.
  function raise(a) {
    const old = alerts.get(a.key);
    const fresh = !old || old.resolved || levels.indexOf(a.level) > levels.indexOf(old.level);
    const e = old || { key: a.key, first: a.t, count: 0 };
    Object.assign(e, { level: a.level, source: a.source, message: a.message, detail: a.detail || "", last: a.t, resolved: false, note: "" });
    e.count++;
    if (fresh) e.acked = false;
    alerts.set(a.key, e);
    renderAlerts();
    if (fresh && a.level !== "info") { beep(); flash(); }
  }

  function resolve(key, t, note) {
    const e = alerts.get(key);
    if (!e || e.resolved) return;
    e.resolved = true; e.last = t; e.note = note || "resolved";
    renderAlerts();
  }

  function flash() {
    const bar = $("alertbar");
    bar.classList.remove("flash");
    void bar.offsetWidth; // restart the animation
    bar.classList.add("flash");
  }

  const active = (e) => !e.resolved && !e.acked;

  function renderAlerts() {
    const all = Array.from(alerts.values());
    const act = all.filter(active);
    const count = (l) => act.filter((e) => e.level === l).length;
    const n = { alarm: count("alarm"), warning: count("warning"), info: count("info") };
    const top = n.alarm ? "alarm" : n.warning ? "warning" : n.info ? "info" : "";
    const bar = $("alertbar");
    bar.dataset.level = sessionEnded() ? "" : top; // over: no longer urgent
    const parts = [];
    if (n.alarm) parts.push(n.alarm + (n.alarm > 1 ? " alarms" : " alarm"));
    if (n.warning) parts.push(n.warning + (n.warning > 1 ? " warnings" : " warning"));
    if (n.info) parts.push(n.info + (n.info > 1 ? " notices" : " notice"));
    $("alertcounts").textContent = parts.length ? parts.join(" · ") : all.length ? "No active alerts" : "No alerts";
    const latest = act.filter((e) => e.level === top).sort((a, b) => b.last - a.last)[0];
    $("alertlatest").textContent = latest ? fmtTime(latest.last) + "  " + latest.message : "";
    $("alerttoggle").textContent = ($("alerts").hidden ? "Show all" : "Hide") + " (" + all.length + ")";
    $("alerttoggle").disabled = all.length === 0;

    const box = $("alerts");
    box.textContent = "";
    const order = all.sort((a, b) => (active(b) - active(a)) || (levels.indexOf(b.level) - levels.indexOf(a.level)) || (b.last - a.last));
    for (const e of order) {
      const div = document.createElement("div");
      div.className = "alert" + (e.resolved ? " resolved" : "") + (e.acked ? " acked" : "");
      div.dataset.key = e.key;
      div.dataset.level = e.level;
      const lv = document.createElement("span");
      lv.className = "lv lv-" + e.level;
      lv.textContent = e.level === "info" ? "notice" : e.level;
      const tt = document.createElement("span");
      tt.className = "t";
      tt.textContent = fmtTime(e.last);
      const msg = document.createElement("span");
      msg.className = "msg";
      msg.textContent = e.message + (e.count > 1 ? " (×" + e.count + ")" : "") + (e.resolved ? " — " + e.note : "");
      if (e.detail) {
        const det = document.createElement("span");
        det.className = "detail";
        det.textContent = e.detail;
        msg.appendChild(det);
      }
      div.append(lv, tt, msg);
      if (active(e)) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = "Acknowledge";
        b.addEventListener("click", () => { e.acked = true; renderAlerts(); });
        div.appendChild(b);
      }
      box.appendChild(div);
    }
    if (!all.length) {
      const p = document.createElement("div");
      p.className = "none";
      p.textContent = "No alerts.";
      box.appendChild(p);
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
    } catch (_) { /* no audio: the bar is enough */ }
  }

  // ---- chart data: points bucketed at 1/BUCKET s, mean per bucket ----
  // A series' value is undefined in rows where it has no sample (uPlot
  // joins over those) and null where its data is missing (uPlot breaks the
  // line there: spanGaps is off).

  function chartFor(name, key) {
    let c = charts[name];
    if (!c) { c = charts[name] = { keys: [], xs: [], ys: [], ns: [], lastT: [], u: null, dirty: true }; }
    let i = c.keys.indexOf(key);
    if (i < 0) {
      i = c.keys.length;
      c.keys.push(key);
      c.ys.push(new Array(c.xs.length).fill(undefined));
      c.ns.push(new Array(c.xs.length).fill(0));
      c.lastT.push(null);
      if (c.u) { c.u.destroy(); c.u = null; } // rebuilt with the new series
    }
    return [c, i];
  }

  function rowAt(c, x) {
    const n = c.xs.length;
    if (n === 0 || x > c.xs[n - 1]) {
      c.xs.push(x);
      for (const y of c.ys) y.push(undefined);
      for (const k of c.ns) k.push(0);
      return n;
    }
    if (x === c.xs[n - 1]) return n - 1;
    let lo = 0, hi = n; // first index with xs >= x
    while (lo < hi) { const mid = (lo + hi) >> 1; if (c.xs[mid] < x) lo = mid + 1; else hi = mid; }
    if (c.xs[lo] !== x) {
      c.xs.splice(lo, 0, x);
      for (const y of c.ys) y.splice(lo, 0, undefined);
      for (const k of c.ns) k.splice(lo, 0, 0);
    }
    return lo;
  }

  const bucket = (t) => Math.round(t * BUCKET) / BUCKET;

  // putBreak marks series i of c as missing at time t, unless a sample
  // shares its bucket.
  function putBreak(c, i, t) {
    const r = rowAt(c, bucket(t));
    if (c.ns[i][r] === 0) c.ys[i][r] = null;
  }

  function addPoints(name, key, ts, vals, thin) {
    const [c, i] = chartFor(name, key);
    const y = c.ys[i], cnt = c.ns[i];
    const gapAfter = thin ? GAP_THIN : GAP;
    for (let k = 0; k < vals.length && k < ts.length; k++) {
      const v = vals[k], t = ts[k];
      if (!num(t)) continue;
      const prev = c.lastT[i];
      // Samples further apart than a gap: the data between is missing.
      if (prev !== null && t - prev > gapAfter && bucket((prev + t) / 2) > bucket(prev) && bucket((prev + t) / 2) < bucket(t)) putBreak(c, i, (prev + t) / 2);
      c.lastT[i] = prev === null ? t : Math.max(prev, t);
      if (!num(v)) { if (v === null) putBreak(c, i, t); continue; }
      const r = rowAt(c, bucket(t));
      cnt[r]++;
      y[r] = y[r] == null || cnt[r] === 1 ? v : y[r] + (v - y[r]) / cnt[r];
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

  // breakLines breaks every line of a device (and of what is derived from
  // it) at t: a gap the device reported.
  function breakLines(dev, t) {
    for (const c of Object.values(charts)) {
      c.keys.forEach((key, i) => {
        const d = key.slice(0, key.lastIndexOf(" "));
        const dv = devices.get(d);
        if (d === dev || (dv && dv.source === dev)) putBreak(c, i, t);
      });
      c.dirty = true;
    }
  }

  // The mean of HR and SCL over the baseline, for the vitals' change.
  function computeBaseMeans() {
    if (!baseline) return;
    for (const [name, label] of [["hr", "hr"], ["eda", "scl"]]) {
      const c = charts[name];
      if (!c) continue;
      const i = c.keys.findIndex((k) => k.endsWith(" " + label) && devices.get(k.slice(0, k.lastIndexOf(" "))) && devices.get(k.slice(0, k.lastIndexOf(" "))).derived);
      if (i < 0) continue;
      let s = 0, n = 0;
      c.xs.forEach((x, r) => { if (x >= baseline.from && x <= baseline.to && num(c.ys[i][r])) { s += c.ys[i][r]; n++; } });
      if (n) baseMean[label] = s / n;
    }
  }

  // ---- uPlot ----

  function fmtAxis(u, splits) { return splits.map((s) => fmtClock(s)); }

  function fmtClock(sec) {
    if (!num(sec)) return "";
    const neg = sec < 0; sec = Math.abs(sec);
    const m = Math.floor(sec / 60), s = Math.floor(sec - m * 60);
    return (neg ? "-" : "") + m + ":" + String(s).padStart(2, "0");
  }

  const markStyle = {
    step: { color: "#444", width: 2, dash: [] },
    cue: { color: "#d97706", width: 1, dash: [3, 3] },
    mark: { color: "#2563eb", width: 1, dash: [] },
    alert: { color: "#b42318", width: 2, dash: [] },
    warn: { color: "#f59e0b", width: 1, dash: [2, 2] },
    stop: { color: "#ea580c", width: 3, dash: [6, 3] },
    panic: { color: "#7a0019", width: 4, dash: [] },
  };

  // drawMarks puts step boundaries, cue onsets, markers and alerts on the
  // time axis of every chart, the baseline period, gaps and, per chart, extras.
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
      for (const g of gaps) {
        if (g.to < xmin || g.from > xmax) continue;
        const a = u.valToPos(Math.max(g.from, xmin), "x", true), b = u.valToPos(Math.min(g.to, xmax), "x", true);
        ctx.fillStyle = "rgba(102,112,133,0.22)";
        ctx.fillRect(a, bb.top, Math.max(b - a, dpr), bb.height);
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
      ctx.font = "bold " + 10 * dpr + "px system-ui, sans-serif";
      ctx.textAlign = "left"; // uPlot leaves its axes' alignment set
      ctx.textBaseline = "alphabetic";
      for (const mk of marks) {
        if (mk.t < xmin || mk.t > xmax) continue;
        const st = markStyle[mk.style] || markStyle.step;
        const x = Math.round(u.valToPos(mk.t, "x", true)) + 0.5;
        ctx.strokeStyle = st.color;
        ctx.lineWidth = st.width * dpr;
        ctx.setLineDash(st.dash.map((v) => v * dpr));
        ctx.beginPath(); ctx.moveTo(x, bb.top); ctx.lineTo(x, bb.top + bb.height); ctx.stroke();
        ctx.setLineDash([]);
        if (!mk.label) continue;
        // Near the right edge (now), the label goes left of its line.
        const w = ctx.measureText(mk.label).width + 6 * dpr;
        const left = x + w + 4 * dpr > bb.left + bb.width;
        if (mk.style === "panic") {
          // The therapist's panic: a filled flag, unlike the patient's STOP.
          const fx = left ? x - w - 2 * dpr : x + 2 * dpr;
          ctx.fillStyle = st.color; ctx.fillRect(fx, bb.top + 1 * dpr, w, 13 * dpr);
          ctx.fillStyle = "#fff"; ctx.fillText(mk.label, fx + 3 * dpr, bb.top + 11 * dpr);
        } else {
          ctx.fillStyle = st.color; ctx.fillText(mk.label, left ? x - w : x + 3 * dpr, bb.top + (mk.style === "stop" ? 24 : 11) * dpr);
        }
      }
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

  function width(el) { return Math.max(260, el.clientWidth || 600); }

  // Chart heights share what the column has left, so all four fit.
  function heights() {
    const col = $("chartcol");
    const gap = parseFloat(getComputedStyle(col).rowGap) || 0;
    const fixed = $("more").offsetHeight + document.querySelector(".legend-note").offsetHeight + 5 * gap + 2;
    const avail = Math.max(200, col.clientHeight - fixed);
    const out = {};
    for (const [k, d] of Object.entries(chartDefs)) out[k] = Math.floor(avail * d.share);
    out.ratings = Math.floor(avail * 0.2);
    return out;
  }

  // fit makes a plot, legend included, exactly as tall as its box.
  function fit(u, el, h) {
    if (!u.root.isConnected) return; // rebuilt meanwhile
    const leg = u.root.querySelector(".u-legend"); // below the canvas
    const want = Math.max(40, h - (leg ? leg.offsetHeight : 24));
    if (Math.abs(u.height - want) > 1 || Math.abs(u.width - width(el)) > 1) u.setSize({ width: width(el), height: want });
  }

  function sizeBoxes() {
    const h = heights();
    for (const [k, d] of Object.entries(chartDefs)) $(d.el).style.height = h[k] + "px";
    $("chart-ratings").style.height = h.ratings + "px";
    return h;
  }

  function makePlot(name, el, title, unit, seriesDefs, points) {
    el.textContent = "";
    const h = sizeBoxes()[name];
    const opts = {
      width: width(el),
      height: Math.max(40, h - 24),
      cursor: { sync: { key: "cueroom-t" } },
      legend: { live: true },
      scales: { x: { time: false } },
      axes: [
        { values: fmtAxis, size: 24 },
        { label: unit, size: 50, labelSize: 14 },
      ],
      series: [{ label: "t", value: (u, v) => fmtClock(v) }].concat(seriesDefs.map((s, i) => ({
        label: s,
        stroke: palette[i % palette.length],
        width: 1.5,
        spanGaps: false, // a line never bridges missing data
        value: (u, v) => v == null ? "—" : fmtVal(v),
        points: { show: !!points, size: 7 },
        paths: points ? () => null : undefined,
      }))),
      hooks: { draw: [drawMarks(name)] },
    };
    if (name === "arousal") opts.scales.y = { range: (u, lo, hi) => [Math.min(lo, band[0], -2), Math.max(hi, band[1], num(ceiling) ? ceiling : 2, 2)] };
    if (name === "ratings") opts.scales.y = { range: () => [0, 100] };
    const u = new uPlot(opts, [[]].concat(seriesDefs.map(() => [])), el);
    requestAnimationFrame(() => fit(u, el, h)); // once uPlot has laid out its legend
    return u;
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
      if (!ratings.u) ratings.u = makePlot("ratings", $("chart-ratings"), "Ratings (patient, 0–100)", "rating", ["craving", "SUDS"], true);
      ratings.u.setData([ratings.xs, ratings.craving, ratings.suds], true);
    }
    // The ratings' time axis moves with the signals', not only with a rating.
    if (ratings.u && ratings.u.scales.x.max !== xmax) ratings.u.setScale("x", { min: xmin, max: xmax });
  }

  function relayout() {
    const h = sizeBoxes();
    for (const [name, c] of Object.entries(charts)) if (c.u) fit(c.u, $(chartDefs[name].el), h[name]);
    if (ratings.u) fit(ratings.u, $("chart-ratings"), h.ratings);
  }
  let resizeTimer = 0;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(relayout, 100); });

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

  // applies says whether a command makes sense in the session's status
  // (docs/feed.md, state): the others are disabled, not refused later.
  function applies(cmd) {
    if (!connected || role !== "control") return false;
    if (session.replay === true) return !sessionEnded();
    const st = state && typeof state === "object" ? state : {};
    const s = sessionEnded() ? "ended" : String(st.status || "");
    const i = num(st.step_index) ? st.step_index : -1;
    const n = num(st.steps) ? st.steps : Array.isArray(session.steps) ? session.steps.length : 0;
    const inStep = (s === "running" || s === "paused") && i >= 0;
    switch (cmd) {
      case "start": return s === "ready" || (s === "" && i < 0);
      case "pause": return s === "running" || s === "";
      case "resume": return s === "paused" || s === "calm" || s === "";
      case "next": return s === "" || (inStep && (n === 0 || i < n - 1));
      case "repeat": return s === "" || inStep;
      case "back": return s === "" || (inStep && i > 0);
      case "rate": return s === "running" || s === "";
      case "panic": return s !== "ended" && s !== "calm";
      case "end": case "marker": return s !== "ended";
    }
    return true;
  }

  function updateButtons() {
    for (const b of document.querySelectorAll("button[data-cmd]")) {
      const ok = applies(b.dataset.cmd);
      b.disabled = !ok;
      if (!ok) disarm(b);
    }
    $("markertext").disabled = !applies("marker");
    document.body.dataset.status = sessionEnded() ? "ended" : state && state.status ? String(state.status) : "";
  }

  // Two-step buttons (Next step…, End…): the first click arms, a second
  // within CONFIRM_MS sends; the label says what the second click does.
  const armed = new Map(); // button → {timer, label}
  function arm(b) {
    const st = state && typeof state === "object" ? state : {};
    const steps = Array.isArray(session.steps) ? session.steps : [];
    let label = b.dataset.confirm || "Confirm";
    if (b.dataset.cmd === "next" && num(st.step_index) && steps[st.step_index + 1]) {
      const nx = steps[st.step_index + 1];
      label = "Confirm: " + String(nx.name || "next") + (num(nx.intensity) ? " (" + nx.intensity + ")" : "");
    }
    armed.set(b, { label: b.textContent, timer: setTimeout(() => disarm(b), CONFIRM_MS) });
    b.classList.add("armed");
    b.textContent = label;
    showCmd(b.dataset.cmd + ": click again within 5 s to confirm (Esc cancels)", null);
  }
  function disarm(b) {
    const a = armed.get(b);
    if (!a) return;
    clearTimeout(a.timer);
    armed.delete(b);
    b.classList.remove("armed");
    b.textContent = a.label;
  }

  function onCommandButton(b) {
    if (role !== "control") { showCmd("this dashboard is observe-only", false); return; }
    const cmd = b.dataset.cmd;
    if (b.dataset.confirm !== undefined) {
      if (!armed.has(b)) { arm(b); return; }
      disarm(b);
    }
    if (cmd === "marker") {
      const text = $("markertext").value.trim();
      if (!text) { showCmd("marker: type a note first", false); return; }
      send(cmd, { text: text });
      $("markertext").value = "";
      return;
    }
    if (cmd === "rate") { send(cmd, { scale: b.dataset.scale || "craving" }); return; }
    send(cmd);
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
    if (typeof v !== "number" || !isFinite(v)) return "—";
    const a = Math.abs(v);
    return v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
  }

  // fmtData shows an event's data for the log: numbers rounded, no float noise.
  function fmtData(v) {
    return JSON.stringify(v, (k, x) => typeof x === "number" && isFinite(x) && !Number.isInteger(x) ? Number(x.toPrecision(4)) : x);
  }

  let eventCount = 0;
  function addEvent(m) {
    const li = document.createElement("li");
    const t = document.createElement("span");
    t.className = "t";
    t.textContent = fmtTime(m.t);
    li.appendChild(t);
    let text = String(m.kind);
    if (typeof m.step === "number" && m.step >= 0) text += " · step " + (m.step + 1);
    if (m.data && typeof m.data === "object") {
      const parts = Object.keys(m.data).slice(0, 6).map((k) => k + "=" + String(fmtData(m.data[k])).slice(0, 60));
      if (parts.length) text += " · " + parts.join(" ");
    }
    li.appendChild(document.createTextNode(text));
    const list = $("events");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > maxEvents) list.removeChild(list.lastChild);
    eventCount++;
    $("eventcount").textContent = "(" + eventCount + ")";
  }

  function renderHierarchy() {
    const steps = Array.isArray(session.steps) ? session.steps : [];
    const ol = $("hierarchy");
    const st = state && typeof state === "object" ? state : {};
    const cur = num(st.step_index) ? st.step_index : -1;
    const done = st.status === "ended";
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
      li.classList.toggle("done", i < cur || (done && i <= cur));
      li.classList.toggle("current", i === cur && !done);
      let bar = li.querySelector("progress");
      if (i === cur && !done) {
        if (!bar) { bar = document.createElement("progress"); bar.max = 1; li.appendChild(bar); }
      } else if (bar) bar.remove();
    });
    $("overall").textContent = steps.length ? "(" + Math.min(Math.max(cur + (done ? 1 : 0), 0), steps.length) + " of " + steps.length + " done)" : "";
  }

  // age is how old a sample time is on the session clock (arrival time when
  // the session sends no clock): never from how late a batch arrived.
  function ageOf(t, d) {
    const now = sessionNow();
    if (now !== null && num(t)) return Math.max(0, now - t);
    return d && d.last ? performance.now() / 1000 - d.last : Infinity;
  }

  function renderSensors() {
    const box = $("sensors");
    box.textContent = "";
    for (const [name, d] of devices) {
      if (d.derived) continue; // shown as vitals
      // Rate from the samples' own times over the last 2 s, so a history replay does not inflate it.
      const lastT = d.arrivals.length ? d.arrivals[d.arrivals.length - 1][0] : 0;
      while (d.arrivals.length && d.arrivals[0][0] <= lastT - 2) d.arrivals.shift();
      const n = d.arrivals.reduce((a, x) => a + x[1], 0);
      const age = d.lastT > 0 || d.last ? ageOf(d.lastT > 0 ? d.lastT : null, d) : Infinity;
      // A held replay sends nothing: that is not a sensor's fault.
      const status = sessionEnded() ? "held" : replayHeld() && age >= STALE ? "held" : age < STALE ? "live" : age < LOST ? "stale" : "lost";
      const span = d.arrivals.length > 1 ? lastT - d.arrivals[0][0] : 0;
      const measured = span > 0.5 ? (n - d.arrivals[0][1]) / span : null;
      const chip = document.createElement("div");
      chip.className = "chip";
      const st = document.createElement("span");
      st.className = status;
      st.textContent = d.last ? (status === "held" ? (sessionEnded() ? "stopped" : "replay paused") : status + (status === "live" ? "" : " (" + Math.round(age) + " s)")) : "no data yet";
      const low = d.rate && status === "live" && measured !== null && measured < d.rate * 0.8;
      const qtext = d.quality && d.quality !== "ok" ? d.quality : low ? "low rate" : d.nulls ? d.nulls + " missing values" : "";
      const q = document.createElement("span");
      q.className = "q-bad";
      q.textContent = qtext ? " · " + qtext : "";
      chip.append(document.createTextNode(name + " "), st,
        document.createTextNode(" " + (measured !== null ? Math.round(measured) : "—") + (d.rate ? " / " + d.rate + " Hz" : " Hz")), q);
      chip.title = chip.textContent;
      box.appendChild(chip);
    }
  }

  // The derived stream the vitals show: "physio", else the first derived one.
  function vitalsDevice() {
    if (devices.has("physio") && devices.get("physio").derived) return ["physio", devices.get("physio")];
    for (const e of devices) if (e[1].derived) return e;
    return [null, null];
  }

  function hrUnreliable(d) {
    for (const [k, flags] of quality) {
      const dev = k.slice(0, k.indexOf("|"));
      if ((!d.source || dev === d.source) && flags.includes(UNRELIABLE_HR)) return true;
    }
    return false;
  }

  // Decimals each vital is shown with: what a therapist reads, no more.
  const digits = { hr: 0, scl: 2, arousal: 1, rmssd: 0 };
  const fmtFixed = (v, n) => num(v) ? v.toFixed(n === undefined ? 1 : n) : "—";

  function setVital(id, o) {
    const el = $(id);
    el.dataset.state = o.state;
    el.dataset.band = o.band || "";
    el.querySelector(".vv").textContent = o.value;
    el.querySelector(".vs").textContent = o.sub || "";
  }

  function renderVitals() {
    const [, d] = vitalsDevice();
    const chan = (label) => d ? d.channels.findIndex((c) => c.label === label) : -1;
    const vital = (label, id, extra) => {
      const i = chan(label);
      const f = i >= 0 ? d.finite[i] : null;
      if (!f) { setVital(id, { state: "none", value: "—", sub: i >= 0 ? "not measured yet" : "" }); return null; }
      const age = ageOf(f.t, d);
      const stale = age >= STALE || sessionEnded();
      const o = { state: stale ? "stale" : "live", value: fmtFixed(f.v, digits[label]),
        sub: sessionEnded() ? "last value, at " + fmtClock(f.t) : stale ? "stale " + Math.round(age) + " s" : "" };
      if (extra) extra(o, f.v, stale);
      setVital(id, o);
      return f;
    };
    const delta = (label, unit) => (o, v, stale) => {
      if (!stale && num(baseMean[label])) {
        const dv = v - baseMean[label], abs = fmtFixed(Math.abs(dv), digits[label]);
        o.sub = (Number(abs) === 0 ? "±" : dv > 0 ? "+" : "−") + abs + " " + unit + " vs baseline";
      }
    };
    if (d && hrUnreliable(d)) {
      setVital("v-hr", { state: "unreliable", value: "unreliable", sub: "noisy signal: HR withheld" });
    } else {
      vital("hr", "v-hr", delta("hr", "bpm"));
    }
    vital("scl", "v-scl", delta("scl", "µS"));
    vital("arousal", "v-arousal", (o, v, stale) => {
      o.value = (v >= 0.05 ? "+" : v <= -0.05 ? "−" : "") + Math.abs(v).toFixed(1);
      if (stale) return;
      o.band = num(ceiling) && v > ceiling ? "ceiling" : v > band[1] ? "above" : v < band[0] ? "below" : "in";
      const words = { ceiling: "above the ceiling", above: "above the band", below: "below the band", in: "within the band" }[o.band];
      o.sub = o.value + " SD from baseline · " + words;
    });
    vital("rmssd", "v-rmssd");
    $("v-rmssd").hidden = chan("rmssd") < 0 && !!d;
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

  function renderPrompt(st) {
    const p = st.prompt && typeof st.prompt === "object" ? st.prompt : null;
    $("prompt").hidden = !p;
    if (!p) return;
    $("prompt-q").textContent = "Asking the patient (" + String(p.scale || "rating") + "): " + String(p.question || "");
    const has = num(p.marker);
    $("prompt-marker").textContent = has ? "Marker at " + Math.round(p.marker) + (p.scale === "suds" || p.scale === "craving" ? " / 100" : "") : "Marker not placed yet";
    const bar = $("prompt-bar");
    bar.style.display = has ? "block" : "none";
    if (has) bar.style.left = "calc(" + Math.min(100, Math.max(0, p.marker)) + "% - .17em)";
    // Time left, as the state gives it (prompt_remaining, counted on the
    // step's clock: a pause stops it), or the prompt's timeout from when
    // it was asked; else how long it has been asked.
    const since = (performance.now() - stateAt) / 1000 * clockRate();
    const now = sessionNow();
    let left = null;
    if (num(st.prompt_remaining)) left = st.prompt_remaining - since;
    else if (num(p.timeout) && promptT !== null && now !== null) left = p.timeout - (now - promptT);
    if (left !== null) $("prompt-left").textContent = Math.max(0, Math.ceil(left)) + " s left";
    else if (promptT !== null && now !== null) $("prompt-left").textContent = "asked " + Math.max(0, Math.round(now - promptT)) + " s ago";
    else $("prompt-left").textContent = "";
  }

  function render() {
    const st = state && typeof state === "object" ? state : {};
    const title = typeof st.title === "string" && st.title ? st.title : typeof session.title === "string" ? session.title : "";
    $("title").textContent = title ? "cueroom — " + title : "cueroom";
    document.title = title ? title + " — cueroom" : "cueroom — live session";
    const status = sessionEnded() ? "ended" : st.status != null ? String(st.status) : "";
    $("status").textContent = status || "—";
    $("status").dataset.status = status;
    let name = st.step_name != null ? String(st.step_name) : "—";
    if (typeof st.step_index === "number" && st.step_index >= 0) name = (st.step_index + 1) + ". " + name;
    if (num(st.steps) && st.steps > 0 && typeof st.step_index === "number" && st.step_index >= 0) name += " (of " + st.steps + ")";
    $("stepname").textContent = name;
    $("intensity").textContent = st.intensity != null ? String(st.intensity) : "—";
    let left = st.step_remaining;
    const since = (performance.now() - stateAt) / 1000 * clockRate();
    if (typeof left === "number" && st.status === "running") left = Math.max(0, left - since);
    $("remaining").textContent = status === "ended" ? "—" : fmtTime(left);
    const el = num(st.step_elapsed) ? st.step_elapsed + (st.status === "running" ? since : 0) : null;
    const total = num(st.step_elapsed) && num(st.step_remaining) ? st.step_elapsed + st.step_remaining : 0;
    const frac = total > 0 && el !== null ? Math.min(1, el / total) : 0;
    $("stepprogress").value = frac;
    const bar = document.querySelector("#hierarchy li.current progress");
    if (bar) bar.value = frac;
    const byChannel = new Map(); // channel → what it presents now
    for (const [key, text] of activeCues) {
      const ch = key.slice(0, key.indexOf("\u0000"));
      byChannel.set(ch, (byChannel.has(ch) ? byChannel.get(ch) + ", " : "") + text);
    }
    const cues = Array.from(byChannel, ([ch, text]) => ch + ": " + text);
    $("cue").textContent = cues.length ? cues.join(" · ") : "—";
    $("cue").title = $("cue").textContent;
    renderPrompt(st);
    const last = (arr) => { for (let i = arr.length - 1; i >= 0; i--) if (arr[i] !== null) return arr[i]; return null; };
    const cr = last(ratings.craving), su = last(ratings.suds);
    $("ratings").textContent = cr === null && su === null ? "—" : "craving " + (cr === null ? "—" : cr) + " · SUDS " + (su === null ? "—" : su);

    renderReplay(st);
    if (!dirty) return;
    dirty = false;
    renderValues();
  }

  // ---- end of session ----

  // localSummary is the page's own account when the server sent none (an
  // older server): from what this page saw.
  function localSummary() {
    const peak = (name, label) => {
      const c = charts[name];
      if (!c) return null;
      const i = c.keys.findIndex((k) => k.endsWith(" " + label));
      if (i < 0) return null;
      let best = null;
      c.xs.forEach((x, r) => { const v = c.ys[i][r]; if (num(v) && (!best || v > best.value)) best = { value: v, t: x }; });
      return best;
    };
    const peaks = {};
    for (const [n, l] of [["hr", "hr"], ["eda", "scl"], ["arousal", "arousal"]]) { const p = peak(n, l); if (p) peaks[l] = p; }
    const st = state || {};
    const steps = Array.isArray(session.steps) ? session.steps : [];
    const reached = num(st.step_index) ? steps.slice(0, st.step_index + 1).map((s, i) => ({ index: i, name: s.name, intensity: s.intensity })) : [];
    const rs = ratings.xs.map((t, i) => ({ t: t, scale: ratings.craving[i] !== null ? "craving" : "suds", value: ratings.craving[i] !== null ? ratings.craving[i] : ratings.suds[i] }));
    return { duration_s: num(st.t) ? st.t : tNow, steps: reached, peaks: peaks, ratings: rs,
      stops: marks.filter((m) => m.style === "stop").map((m) => m.t), panics: marks.filter((m) => m.style === "panic").map((m) => m.t),
      alerts: Array.from(alerts.values()).filter((e) => e.level !== "info").length, local: true };
  }

  function showSummary() {
    if (!sessionEnded()) return;
    const s = summary || localSummary();
    const box = $("summary");
    box.textContent = "";
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Show charts";
    close.addEventListener("click", () => { box.hidden = true; });
    const h = document.createElement("h2");
    h.textContent = "Session ended" + (s.reason ? " (" + s.reason + ")" : "");
    const dl = document.createElement("dl");
    const row = (k, v) => { const dt = document.createElement("dt"); dt.textContent = k; const dd = document.createElement("dd"); dd.textContent = v; dl.append(dt, dd); };
    row("Duration", fmtClock(num(s.duration_s) ? s.duration_s : 0) + " (m:ss)" +
      (num(s.start) && num(s.end) && s.start > 0 ? ", session time " + fmtClock(s.start) + "–" + fmtClock(s.end) : ""));
    const steps = Array.isArray(s.steps) ? s.steps : [];
    const total = Array.isArray(session.steps) ? session.steps.length : 0;
    const maxI = steps.reduce((m, x) => num(x.intensity) ? Math.max(m, x.intensity) : m, 0);
    const distinct = new Set(steps.map((x) => x.index)).size;
    row("Steps reached", distinct + (total ? " of " + total : "") + (steps.length ? " — last: " + String(steps[steps.length - 1].name || "?") + ", highest intensity " + maxI : ""));
    const pk = s.peaks && typeof s.peaks === "object" ? s.peaks : {};
    const peak = (l, unit) => pk[l] && num(pk[l].value) ? fmtFixed(pk[l].value, digits[l]) + " " + unit + " at " + fmtClock(pk[l].t) : "—";
    row("Peak heart rate", peak("hr", "bpm"));
    row("Peak skin conductance", peak("scl", "µS"));
    row("Peak arousal", peak("arousal", "z"));
    if (pk.rmssd) row("Highest HRV (RMSSD)", peak("rmssd", "ms"));
    const rs = Array.isArray(s.ratings) ? s.ratings : [];
    row("Ratings", rs.length ? rs.map((r) => String(r.scale || "") + " " + (num(r.value) ? r.value : "no answer") + " at " + fmtClock(r.t)).join(" · ") : "none");
    const stops = Array.isArray(s.stops) ? s.stops : [], panics = Array.isArray(s.panics) ? s.panics : [];
    row("Patient stops", stops.length ? stops.length + " (at " + stops.map(fmtClock).join(", ") + ")" : "none");
    row("Panics", panics.length ? panics.length + " (at " + panics.map(fmtClock).join(", ") + ")" : "none");
    row("Alerts (warnings, alarms)", String(num(s.alerts) ? s.alerts : 0));
    box.append(close, h, dl);
    if (s.local) {
      const p = document.createElement("p");
      p.className = "dim";
      p.textContent = "From what this page saw (the server sent no summary).";
      box.appendChild(p);
    }
    box.hidden = false;
    updateButtons();
    renderAlerts();
  }

  let lastCharts = 0, lastSensors = 0;
  function frame(ts) {
    render();
    if (ts - lastCharts > 200) { lastCharts = ts; renderCharts(); }
    if (ts - lastSensors > 500) { lastSensors = ts; renderSensors(); renderVitals(); updateButtons(); }
    requestAnimationFrame(frame);
  }

  // For tests and the curious: what the charts hold, without touching uPlot internals.
  window.cueroomCharts = () => {
    const out = {};
    for (const [name, c] of Object.entries(charts)) {
      out[name] = { series: c.keys.slice(), points: c.xs.length, xmax: c.xs.length ? c.xs[c.xs.length - 1] : null, drawn: !!c.u, plotted: c.u ? c.u.data[0].length : 0,
        breaks: c.ys.map((y) => y.filter((v) => v === null).length), spanGaps: c.u ? c.u.series.slice(1).map((s) => !!s.spanGaps) : [] };
    }
    out.ratings = { points: ratings.xs.length, drawn: !!ratings.u };
    out.marks = marks.length;
    out.markStyles = marks.map((m) => m.style);
    out.gaps = gaps.length;
    out.scrs = scrs.length;
    return out;
  };
  // The x position (CSS px, page coordinates) of session time t on a chart, for tests.
  window.cueroomChartX = (name, t) => {
    const c = charts[name];
    if (!c || !c.u) return null;
    const r = c.u.over.getBoundingClientRect();
    return { x: r.left + c.u.valToPos(t, "x"), top: r.top, bottom: r.bottom };
  };

  document.addEventListener("DOMContentLoaded", () => {
    for (const b of document.querySelectorAll("button[data-cmd]")) b.addEventListener("click", () => onCommandButton(b));
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { for (const b of Array.from(armed.keys())) disarm(b); return; }
      const typing = e.target && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
      if (!typing && e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && (e.key === "P" || e.key === "p")) {
        e.preventDefault();
        const p = $("panic");
        if (!p.disabled && getComputedStyle(p).display !== "none") onCommandButton(p);
      }
    });
    $("alerttoggle").addEventListener("click", () => {
      const box = $("alerts");
      box.hidden = !box.hidden;
      $("alerttoggle").setAttribute("aria-expanded", String(!box.hidden));
      renderAlerts();
    });
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
    renderAlerts();
    sizeBoxes();
    connect();
    requestAnimationFrame(frame);
  });
})();

// cueroom live dashboard (plain JS, no dependencies). Protocol: protocol.go.
// Everything received is shown with textContent, never parsed as HTML.
"use strict";

(function () {
  const token = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const unitNames = { uS: "µS", mV: "mV", bpm: "bpm", "%": "%" };
  const maxEvents = 100;

  let ws = null;
  let backoff = 500;
  let nextID = 0;
  const pending = new Map(); // command id → {cmd, timer}
  const devices = new Map(); // device → {channels: [{label, unit}], latest: []}
  let sessionTitle = "";
  let state = null;
  let stateAt = 0; // performance.now() when state arrived
  let dirty = false;

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
      if (h) h(m);
    };
  }

  const handlers = {
    hello(m) {
      devices.clear();
      $("events").textContent = "";
      const s = m.session;
      sessionTitle = s && typeof s === "object" && typeof s.title === "string" ? s.title : "";
      dirty = true;
    },
    stream(m) {
      const chans = (m.channels || []).map((c) => ({ label: String(c.label), unit: String(c.unit || "") }));
      devices.set(String(m.device), { channels: chans, latest: chans.map(() => null) });
      dirty = true;
    },
    samples(m) {
      let d = devices.get(String(m.device));
      const labels = m.channels || [];
      if (!d) {
        d = { channels: labels.map((l) => ({ label: String(l), unit: "" })), latest: [] };
        devices.set(String(m.device), d);
      }
      (m.values || []).forEach((col, i) => {
        if (Array.isArray(col) && col.length) d.latest[i] = col[col.length - 1];
      });
      dirty = true;
    },
    event(m) { addEvent(m); },
    view(m) {
      if (typeof m.jpeg === "string") $("view").src = "data:image/jpeg;base64," + m.jpeg;
    },
    state(m) { state = m.state; stateAt = performance.now(); dirty = true; },
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
    },
  };

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
      const parts = Object.keys(m.data).slice(0, 6).map((k) => k + "=" + JSON.stringify(m.data[k]).slice(0, 60));
      if (parts.length) text += " · " + parts.join(" ");
    }
    li.appendChild(document.createTextNode(text));
    const list = $("events");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > maxEvents) list.removeChild(list.lastChild);
  }

  function render() {
    const st = state && typeof state === "object" ? state : {};
    const title = typeof st.title === "string" && st.title ? st.title : sessionTitle;
    $("title").textContent = title ? "cueroom — " + title : "cueroom";
    document.title = title ? title + " — cueroom" : "cueroom — live session";
    $("status").textContent = st.status != null ? String(st.status) : "—";
    let name = st.step_name != null ? String(st.step_name) : "—";
    if (typeof st.step_index === "number") name = (st.step_index + 1) + ". " + name;
    $("stepname").textContent = name;
    $("intensity").textContent = st.intensity != null ? String(st.intensity) : "—";
    let left = st.step_remaining;
    if (typeof left === "number" && st.status === "running") left = Math.max(0, left - (performance.now() - stateAt) / 1000);
    $("remaining").textContent = fmtTime(left);

    if (!dirty) return;
    dirty = false;
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

  function frame() { render(); requestAnimationFrame(frame); }

  document.addEventListener("DOMContentLoaded", () => {
    for (const b of document.querySelectorAll("#controls button")) {
      b.addEventListener("click", () => {
        const cmd = b.dataset.cmd;
        if (cmd === "end" && !confirm("End the session now?")) return;
        if (cmd === "marker") {
          const text = $("markertext").value.trim();
          if (!text) { showCmd("marker: type a note first", false); return; }
          send(cmd, { text: text });
          $("markertext").value = "";
          return;
        }
        send(cmd);
      });
    }
    connect();
    requestAnimationFrame(frame);
  });
})();

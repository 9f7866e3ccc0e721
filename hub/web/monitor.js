// The hub's monitor: one tile per station, from the hub's WebSocket
// ({"type":"tiles","tiles":[...]} twice a second). A control token may
// send a station pause, resume and panic (relayed by the hub).
"use strict";
(function () {
  const token = new URLSearchParams(location.search).get("token") || "";
  const tilesEl = document.getElementById("tiles");
  const tmpl = document.getElementById("tile");
  const connEl = document.getElementById("conn");
  const els = new Map(); // "site/station" → element
  let ws = null, role = "", nextID = 1, retry = 500;

  function fmt(v, digits) { return v === undefined || v === null ? "—" : Number(v).toFixed(digits); }
  function mmss(s) { s = Math.max(0, Math.round(s)); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); }

  function tileEl(t) {
    const key = t.site + "/" + t.station;
    let el = els.get(key);
    if (!el) {
      el = tmpl.content.firstElementChild.cloneNode(true);
      el.dataset.key = key;
      el.querySelector(".name").textContent = t.site === "default" ? t.station : key;
      el.querySelectorAll("button[data-cmd]").forEach((b) => b.addEventListener("click", () => send(t.site, t.station, b.dataset.cmd, el)));
      els.set(key, el);
    }
    return el;
  }

  function render(tiles) {
    const empty = tilesEl.querySelector(".empty");
    if (tiles.length && empty) empty.remove();
    tiles.forEach((t) => {
      const el = tileEl(t);
      if (el.parentNode !== tilesEl) tilesEl.appendChild(el);
      el.dataset.conn = t.conn;
      el.querySelector(".connstate").textContent = t.conn === "live" ? "live" : t.age_s < 0 ? "offline" : t.conn + " (" + Math.round(t.age_s) + " s)";
      el.querySelector(".title").textContent = t.title || "";
      const open = el.querySelector(".open");
      open.hidden = !t.dashboard;
      if (t.dashboard) open.href = t.dashboard;
      el.querySelector(".hr .vv").textContent = fmt(t.hr, 0);
      el.querySelector(".scl .vv").textContent = fmt(t.scl, 2);
      el.querySelector(".arousal .vv").textContent = fmt(t.arousal, 1);
      el.querySelector(".status").textContent = t.status || "";
      el.querySelector(".stepname").textContent = t.step_name ? "· " + t.step_name + (t.steps ? " (" + (t.step_index + 1) + "/" + t.steps + ")" : "") : "";
      el.querySelector(".left").textContent = t.step_remaining !== undefined && t.step_remaining !== null ? "· " + mmss(t.step_remaining) + " left" : "";
      const ul = el.querySelector(".alerts");
      ul.replaceChildren(...(t.alerts || []).slice(0, 4).map((a) => {
        const li = document.createElement("li");
        li.dataset.level = a.level;
        li.textContent = a.message;
        return li;
      }));
      el.dataset.alarm = (t.alerts || []).some((a) => a.level === "alarm") ? "true" : "false";
      el.querySelector(".ctl").hidden = role !== "control";
    });
  }

  function send(site, station, cmd, el) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const id = "m" + nextID++;
    el.querySelector(".ack").textContent = cmd + "…";
    el.dataset.pending = id;
    ws.send(JSON.stringify({ type: "command", id, site, station, cmd }));
  }

  function onAck(a) {
    for (const el of els.values()) {
      if (el.dataset.pending === a.id) {
        el.querySelector(".ack").textContent = a.ok ? "applied" : "refused: " + (a.error || "");
        delete el.dataset.pending;
      }
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(scheme + "//" + location.host + "/ws?token=" + encodeURIComponent(token));
    connEl.dataset.state = "connecting";
    ws.onopen = () => { connEl.dataset.state = "open"; connEl.textContent = "connected"; retry = 500; };
    ws.onclose = () => {
      connEl.dataset.state = "closed"; connEl.textContent = "disconnected: retrying";
      setTimeout(connect, retry); retry = Math.min(retry * 2, 5000);
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "hello") {
        role = m.role;
        document.body.dataset.role = role;
        const r = document.getElementById("role");
        r.hidden = false; r.textContent = role === "control" ? "control" : "observer";
      } else if (m.type === "tiles") {
        render(m.tiles || []);
      } else if (m.type === "ack") {
        onAck(m);
      }
    };
  }
  connect();
})();

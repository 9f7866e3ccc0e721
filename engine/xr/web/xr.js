// cueroom headset page: the live session in a WebXR headset's browser, or
// inline in any browser (mouse look). It follows the session on the feed's
// socket (/ws, display token), draws the current step with three.js, and
// sends back only what a patient display may: pings (clock offset), frame
// reports (each cue's first displayed frame), head direction, the patient's
// stop and rating answers. Protocol: engine/xr/README.md.
import * as THREE from "./vendor/three.module.js";

const DEG = Math.PI / 180;
const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
const gazeInline = params.get("gaze") === "1"; // gaze dwell without a headset (tests)

// Tunables.
const STALE_MS = 2000; // no message this long: the calm "waiting" screen
const PING_FAST_MS = 100, PING_FAST_N = 8, PING_MS = 500, SYNC_KEEP = 16;
const LOOK_MIN_MS = 100, LOOK_STEP_DEG = 1; // ≤ 10 Hz, on a change of ≥ 1°
const DWELL_STOP_MS = 2500, DWELL_ANSWER_MS = 2000, DWELL_SLOP = 4;
const MAX_PANO_W = 4096, MAX_PANO_H = 2048, MAX_PICTURE = 2048;
const BAND_PIXELS = 1 << 20; // texture upload per frame: 4 MB, so a big picture never stalls a frame
const CALM_BPM = 6;

const $ = (id) => document.getElementById(id);
const wrap180 = (d) => ((((d + 180) % 360) + 360) % 360) - 180;

// Test and diagnostics hooks (the browser tests read these).
const T = {
  frames: 0, key: "", why: "", fps: 0, shown: [], refused: [], textures: {}, reports: [], looks: 0,
  sync: null, drawCalls: 0, frameMs: 0, errors: [], read: null, xr: false, lookTimes: [],
};
window.cueroomXR = T;

// ---------------------------------------------------------------- socket --

let ws = null, lastMsg = -Infinity, opened = false, retry = 500, closedForGood = false, sentN = 0;

function send(o) {
  if (!ws || ws.readyState !== 1) return false;
  o.type = "display"; o.v = 1;
  ws.send(JSON.stringify(o));
  return true;
}

function connect() {
  if (!token) { status("no token in the address: open the headset URL cueroom printed"); return; }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(scheme + "//" + location.host + "/ws?token=" + encodeURIComponent(token));
  // A new connection is told where the head points (the server forgets
  // the direction when a connection is lost).
  ws.onopen = () => { opened = true; retry = 500; sync.samples.length = 0; sync.fast = 0; look.cue = ""; status("connected"); };
  ws.onmessage = (ev) => {
    lastMsg = performance.now();
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    msgAt = ev.timeStamp;
    try { handle(m, ev.timeStamp); } catch (err) { T.errors.push(String(err)); console.error("cueroom: cannot handle", m && m.type, err); }
    msgAt = 0;
  };
  ws.onclose = (ev) => {
    opened = false;
    if (ev.reason === "session ended" || S.status === "ended") { closedForGood = true; S.ended = true; changed(); status("the session has ended"); return; }
    if (ev.code === 1008 && ev.reason === "another headset is connected") {
      // One display per session: wait for the other to leave, without
      // hammering the server (it may be this headset's own old connection).
      status("another headset is connected to this session: retrying");
      setTimeout(connect, 3000);
      return;
    }
    status("connection lost: retrying");
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 5000);
  };
}

// ---------------------------------------------------------- clock sync --
// NTP-style: t0 sent, the server stamps its session clock on receipt, t1
// received. offset = t_session − (t0 + t1)/2; the sample with the least
// round trip of the last SYNC_KEEP is the estimate (queueing only adds).

const sync = { pending: new Map(), samples: [], offset: null, rtt: null, n: 0, fast: 0, last: 0 };

function pingTick() {
  const now = performance.now();
  const every = sync.fast < PING_FAST_N ? PING_FAST_MS : PING_MS;
  if (!opened || now - sync.last < every) return;
  sync.last = now;
  sync.fast++;
  const id = "p" + (++sync.n);
  const t0 = now / 1000;
  if (send({ cmd: "ping", id: id, t_client: t0 })) sync.pending.set(id, t0);
  if (sync.pending.size > 64) sync.pending.clear(); // a server that never answers
}

function onPong(m, at) {
  const t0 = sync.pending.get(m.id);
  if (t0 === undefined || typeof m.t_session !== "number") return;
  sync.pending.delete(m.id);
  // The message event's timeStamp is when it arrived, not when a busy
  // main thread (a long frame) got round to it.
  const now = performance.now() / 1000, a = typeof at === "number" ? at / 1000 : now;
  const t1 = a >= t0 && a <= now ? a : now;
  const s = { rtt: t1 - t0, offset: m.t_session - (t0 + t1) / 2, at: t1 };
  sync.samples.push(s);
  if (sync.samples.length > SYNC_KEEP) sync.samples.shift();
  let best = sync.samples[0];
  for (const x of sync.samples) if (x.rtt < best.rtt) best = x;
  sync.offset = best.offset; sync.rtt = best.rtt;
  T.sync = { offset: sync.offset, rtt: sync.rtt, samples: sync.samples.length };
}

// sessionAt maps a time on the page's clock (performance.now, ms) to the
// session clock (s); null before the first pong.
const sessionAt = (ms) => (sync.offset === null ? null : ms / 1000 + sync.offset);

// --------------------------------------------------------------- state --
// The session's state as the feed says it: the state message is the
// truth; events (forwarded at once, while states come at most 4 times a
// second) move it sooner. Events not newer than the last state are
// already in it (the history on connect comes after the state).

const S = {
  role: "", status: "connecting", step: -1, prompt: null, stateT: -Infinity, instance: -1,
  stepStarts: new Map(), ended: false, localStop: false, stopSeen: false, stopSentAt: 0, answered: "", plan: null, changeFrame: -1, changeAt: 0,
};

// changed notes that what to show may have changed: in which frame, and
// when the message that changed it arrived (page clock, ms).
let msgAt = 0;
function changed() { S.changeFrame = T.frames; S.changeAt = msgAt || performance.now(); }

function applyState(st) {
  if (!st || typeof st !== "object") return;
  const before = S.status + "|" + S.step + "|" + promptKey(S.prompt);
  if (typeof st.status === "string") S.status = st.status;
  if (Number.isInteger(st.step_index)) {
    if (st.step_index !== S.step) S.instance = S.stepStarts.has(st.step_index) ? S.stepStarts.get(st.step_index) : -1;
    S.step = st.step_index;
  }
  S.prompt = st.prompt && typeof st.prompt === "object" ? st.prompt : null;
  if (typeof st.t === "number") S.stateT = st.t;
  if (S.status === "ended") S.ended = true;
  stopFollows();
  if (!S.prompt) S.answered = "";
  if (before !== S.status + "|" + S.step + "|" + promptKey(S.prompt)) changed();
}

function applyEvent(m) {
  const d = m.data || {};
  if (m.kind === "step_start" && Number.isInteger(m.step)) {
    S.stepStarts.set(m.step, m.t);
    if (m.step === S.step && S.instance < 0) S.instance = m.t;
  }
  if (!(typeof m.t === "number") || m.t <= S.stateT) return;
  switch (m.kind) {
    case "step_start":
      if (S.status === "ended") return;
      S.status = "running"; S.step = m.step; S.prompt = null; S.instance = m.t;
      break;
    case "command":
      if (d.cmd === "pause" && S.status === "running") S.status = "paused";
      else if (d.cmd === "resume" && (S.status === "paused" || S.status === "calm")) S.status = S.step < 0 ? "ready" : "running";
      else if (d.cmd === "panic" && S.status !== "ended") { S.status = "calm"; S.prompt = null; }
      else return;
      break;
    case "patient_stop":
      if (S.status === "ended") return;
      S.status = "calm"; S.prompt = null;
      break;
    case "rating_prompt":
      if (S.status !== "running") return;
      S.prompt = { scale: d.scale, question: d.question };
      break;
    case "rating":
      S.prompt = null; S.answered = "";
      break;
    case "session_end":
      S.status = "ended"; S.ended = true; S.prompt = null;
      break;
    default:
      return;
  }
  stopFollows();
  changed();
}

// stopFollows keeps the patient's own stop on screen until the session
// has shown it took it (calm), and lets it go only when the session runs
// again after that: a state or step sent before the stop reached the
// session must not bring the scene back.
function stopFollows() {
  if (!S.localStop) return;
  if (S.status === "calm" || S.status === "ended") S.stopSeen = true;
  else if (S.stopSeen && (S.status === "running" || S.status === "ready")) S.localStop = false;
}

// stopAgain sends the stop again while the session has not shown it took
// it (a message lost to a reconnection), once a second.
function stopAgain(now) {
  if (S.localStop && !S.stopSeen && opened && now - S.stopSentAt > 1000) {
    S.stopSentAt = now;
    send({ cmd: "patient_stop", id: "s" + (++stopSent) });
  }
}

function handle(m, at) {
  switch (m.type) {
    case "hello":
      S.role = String(m.role || "");
      S.stateT = -Infinity;
      if (m.session && m.session.state) applyState(m.session.state);
      if (S.role && S.role !== "display") status("connected as " + S.role + ": this page is for the headset (display) link");
      break;
    case "state": applyState(m.state); break;
    case "event": applyEvent(m); break;
    case "pong": onPong(m, at); break;
    case "error": T.errors.push(m.code + ": " + m.error); console.warn("cueroom: the server refused a message:", m.code, m.error); break;
    default: break; // samples, stream, view, ack, summary: not for the headset
  }
}

function promptKey(p) { return p ? String(p.scale) + "|" + String(p.question) : ""; }

// ---------------------------------------------------------------- plan --

async function loadPlan() {
  for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
    try {
      const r = await fetch("/xr/plan?token=" + encodeURIComponent(token), { cache: "no-store" });
      if (r.ok) { S.plan = await r.json(); changed(); return; }
    } catch { /* retried */ }
    await new Promise((ok) => setTimeout(ok, wait));
  }
}

const stepOf = (i) => (S.plan && Array.isArray(S.plan.steps) && i >= 0 && i < S.plan.steps.length ? S.plan.steps[i] : null);

// ---------------------------------------------------------------- media --
// Every file is fetched whole with the token, its SHA-256 compared with the
// plan's (the manifest's), and only then decoded. A mismatch is refused:
// nothing of it is shown, and a frame report with "refused" tells the
// therapist.

const media = new Map(); // file → Promise of bytes (verified)

function hex(buf) {
  const b = new Uint8Array(buf);
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}

function verified(cue) {
  if (media.has(cue.file)) return media.get(cue.file);
  const p = (async () => {
    const path = cue.file.split("/").map(encodeURIComponent).join("/");
    const r = await fetch("/xr/media/" + path + "?token=" + encodeURIComponent(token), { cache: "no-store" });
    if (!r.ok) throw Object.assign(new Error("HTTP " + r.status), { why: "fetch" });
    const buf = await r.arrayBuffer();
    const sum = hex(await crypto.subtle.digest("SHA-256", buf));
    if (!cue.sha256 || sum !== String(cue.sha256).toLowerCase()) {
      throw Object.assign(new Error("SHA-256 " + sum + " differs from the manifest's " + cue.sha256), { why: "sha256" });
    }
    return buf;
  })();
  p.catch((err) => refuse(cue, err));
  media.set(cue.file, p);
  return p;
}

const refusedCues = new Set();
function refuse(cue, err) {
  const why = err && err.why ? err.why : "decode";
  if (refusedCues.has(cue.id)) return;
  refusedCues.add(cue.id);
  T.refused.push({ cue: cue.id, file: cue.file, why: why, error: String(err && err.message || err) });
  console.warn("cueroom: refused", cue.file + ":", err && err.message || err);
  send({ cmd: "frame", cue: cue.id, step: S.step, instance: S.instance, refused: why });
}

// bitmap decodes a verified picture, downscaled to fit maxW × maxH (and the
// GPU's largest texture) in the browser before it is uploaded, flipped for
// WebGL (ImageBitmaps ignore UNPACK_FLIP_Y).
async function bitmap(buf, type, maxW, maxH) {
  const blob = new Blob([buf], { type: type });
  const full = await createImageBitmap(blob);
  const lim = renderer.capabilities.maxTextureSize || 4096;
  const k = Math.min(1, maxW / full.width, maxH / full.height, lim / full.width, lim / full.height);
  const w = Math.max(1, Math.round(full.width * k)), h = Math.max(1, Math.round(full.height * k));
  const out = await createImageBitmap(full, { resizeWidth: w, resizeHeight: h, resizeQuality: "high", imageOrientation: "flipY" });
  const size = { srcW: full.width, srcH: full.height, w: w, h: h };
  full.close();
  return { bmp: out, size: size };
}

const textures = new Map(); // file → Promise of {tex, w, h}
const loaded = new Map(); // the same once uploaded: a step change uses them in the same frame
function texture(cue, pano) {
  const key = cue.file + (pano ? "#pano" : "");
  if (textures.has(key)) return textures.get(key);
  const type = /\.png$/i.test(cue.file) ? "image/png" : "image/jpeg";
  const p = verified(cue).then(async (buf) => {
    const { bmp, size } = await bitmap(buf, type, pano ? MAX_PANO_W : MAX_PICTURE, pano ? MAX_PANO_H : MAX_PICTURE);
    // A panorama is magnified in a headset (4096 px over 360° is 11 px a
    // degree, the display has about 20): no mipmaps. A picture is seen
    // smaller than it is: mipmaps.
    const tex = await upload(bmp, !pano);
    T.textures[cue.file] = size;
    const t = { tex: tex, w: size.w, h: size.h };
    loaded.set(key, t);
    return t;
  });
  p.catch((err) => refuse(cue, err));
  textures.set(key, p);
  return p;
}

// upload moves a decoded picture to the GPU a band of rows per frame
// (render loop, before drawing), into a texture allocated once, instead of
// one texImage2D that would stall a frame for a 4096×2048 picture.
const uploads = [];
const band = { region: new THREE.Box2(new THREE.Vector2(), new THREE.Vector2()), at: new THREE.Vector2() };
function upload(bmp, mips) {
  return new Promise((ok) => {
    const dst = new THREE.DataTexture(null, bmp.width, bmp.height, THREE.RGBAFormat, THREE.UnsignedByteType);
    dst.colorSpace = THREE.SRGBColorSpace;
    dst.magFilter = THREE.LinearFilter;
    dst.minFilter = mips ? THREE.LinearMipmapLinearFilter : THREE.LinearFilter;
    dst.generateMipmaps = mips;
    dst.mipmapsAutoUpdate = false; // once, after the last band
    dst.anisotropy = mips ? Math.min(4, renderer.capabilities.getMaxAnisotropy()) : 1;
    dst.source.dataReady = false; // allocate only: the bands fill it
    dst.needsUpdate = true;
    const src = new THREE.Texture(bmp);
    src.flipY = false;
    uploads.push({ src: src, dst: dst, y: 0, rows: Math.max(1, Math.floor(BAND_PIXELS / bmp.width)), mips: mips, ok: ok });
  });
}
function uploadTick() {
  const u = uploads[0];
  if (!u) return;
  const w = u.src.image.width, h = u.src.image.height, y1 = Math.min(h, u.y + u.rows);
  band.region.min.set(0, u.y); band.region.max.set(w, y1); band.at.set(0, u.y);
  if (y1 >= h && u.mips) u.dst.mipmapsAutoUpdate = true;
  renderer.copyTextureToTexture(u.src, u.dst, band.region, band.at);
  u.y = y1;
  if (y1 >= h) {
    uploads.shift();
    u.dst.mipmapsAutoUpdate = true;
    u.src.image.close();
    u.ok(u.dst);
  }
}

let actx = null;
function audio() {
  if (!actx) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    actx = new AC();
  }
  return actx;
}
function unlockAudio() {
  audioWanted = true;
  const a = audio();
  if (a && a.state === "suspended" && !paused()) a.resume();
  $("sound").hidden = true;
}

const sounds = new Map(); // file → Promise of AudioBuffer
function soundBuffer(cue) {
  if (sounds.has(cue.file)) return sounds.get(cue.file);
  const a = audio();
  const p = verified(cue).then((buf) => a.decodeAudioData(buf.slice(0)));
  p.catch((err) => refuse(cue, err));
  sounds.set(cue.file, p);
  return p;
}

// prefetch fetches and verifies a step's media ahead of time, so a step
// change shows its pictures on the next frame.
function prefetch(i) {
  const st = stepOf(i);
  if (!st) return;
  for (const c of st.cues || []) {
    if (!c.file || refusedCues.has(c.id)) continue;
    if (c.kind === "image") texture(c, false);
    else if (c.kind === "panorama") texture(c, true);
    else if (c.kind === "video") verified(c);
    else if ((c.kind === "sound" || c.kind === "narration") && audio()) soundBuffer(c);
  }
}

// ---------------------------------------------------------------- three --

const canvas = $("view");
const renderer = new THREE.WebGLRenderer({ canvas: canvas, antialias: true, alpha: false, powerPreference: "high-performance" });
renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
renderer.xr.enabled = true;
renderer.xr.setReferenceSpaceType("local"); // origin at the head when the session starts: the scene opens ahead

const scene = new THREE.Scene();
scene.background = new THREE.Color(0x20262a);
const camera = new THREE.PerspectiveCamera(60, 1, 0.05, 200);
scene.add(camera);

const FLOOR = -1.5; // the floor below the eyes (m)

// vertexGradient colours a geometry by height: calm skies and the room.
function vertexGradient(geo, stops) {
  const pos = geo.attributes.position, col = new Float32Array(pos.count * 3);
  const c = new THREE.Color();
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < pos.count; i++) { lo = Math.min(lo, pos.getY(i)); hi = Math.max(hi, pos.getY(i)); }
  for (let i = 0; i < pos.count; i++) {
    const f = (pos.getY(i) - lo) / (hi - lo || 1);
    let k = 0;
    while (k < stops.length - 2 && f > stops[k + 1][0]) k++;
    const [f0, c0] = stops[k], [f1, c1] = stops[k + 1];
    const u = Math.min(1, Math.max(0, (f - f0) / (f1 - f0 || 1)));
    c.setHex(c0).lerp(new THREE.Color(c1), u);
    col.set([c.r, c.g, c.b], i * 3);
  }
  geo.setAttribute("color", new THREE.BufferAttribute(col, 3));
  return geo;
}

// The panorama: a sphere seen from inside. Longitude L of the picture
// (0 = its centre, positive to the right) lands at heading L − yaw, so the
// scene opens facing the cue's yaw.
const panoGeo = new THREE.SphereGeometry(50, 96, 48);
panoGeo.scale(-1, 1, 1);
const panoMat = new THREE.MeshBasicMaterial({ color: 0xffffff });
const pano = new THREE.Mesh(panoGeo, panoMat);
pano.visible = false;
scene.add(pano);

// The calm neutral room for pictures, video and text: one box, coloured by
// height (floor, walls, ceiling), one draw call.
const room = new THREE.Mesh(
  vertexGradient(new THREE.BoxGeometry(14, 4.2, 14, 1, 8, 1), [[0, 0x5b5853], [0.02, 0x6f6b64], [0.05, 0xa8a398], [0.9, 0xc9c4b8], [1, 0xd8d4ca]]),
  new THREE.MeshBasicMaterial({ vertexColors: true, side: THREE.BackSide }));
room.position.y = FLOOR + 2.1;
room.visible = false;
scene.add(room);

// The calm sky: a soft blue-green gradient.
const calmSky = new THREE.Mesh(
  vertexGradient(new THREE.SphereGeometry(40, 32, 16), [[0, 0x24343a], [0.45, 0x3d5a60], [0.6, 0x557a7c], [1, 0x86a8a6]]),
  new THREE.MeshBasicMaterial({ vertexColors: true, side: THREE.BackSide }));
scene.add(calmSky);

// The picture panel, 3 m ahead.
const picture = new THREE.Mesh(new THREE.PlaneGeometry(1, 1), new THREE.MeshBasicMaterial({ color: 0xffffff, toneMapped: false }));
picture.position.set(0, 0, -3);
picture.visible = false;
scene.add(picture);

// The video panel: the decoder's Y, Cb, Cr planes as three textures,
// converted in the shader (Rec. 601), as JSMpeg's own WebGL renderer does.
const yuv = { y: null, cb: null, cr: null, w: 0, h: 0, cw: 0 };
const videoMat = new THREE.ShaderMaterial({
  uniforms: { ty: { value: null }, tcb: { value: null }, tcr: { value: null }, crop: { value: 1 } },
  vertexShader: "varying vec2 vUv; void main(){ vUv = uv; gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0); }",
  fragmentShader: [
    "uniform sampler2D ty; uniform sampler2D tcb; uniform sampler2D tcr; uniform float crop; varying vec2 vUv;",
    "const mat4 rec601 = mat4(1.16438, 0.0, 1.59603, -0.87079, 1.16438, -0.39176, -0.81297, 0.52959, 1.16438, 2.01723, 0.0, -1.08139, 0.0, 0.0, 0.0, 1.0);",
    "void main(){ vec2 p = vec2(vUv.x * crop, 1.0 - vUv.y);",
    " float y = texture2D(ty, p).r; float cb = texture2D(tcb, p).r; float cr = texture2D(tcr, p).r;",
    " gl_FragColor = vec4(y, cr, cb, 1.0) * rec601; }",
  ].join("\n"),
});
const videoPanel = new THREE.Mesh(new THREE.PlaneGeometry(1, 1), videoMat);
videoPanel.position.set(0, 0, -3);
videoPanel.visible = false;
scene.add(videoPanel);

// Labels: text drawn on a canvas, uploaded only when it changes.
function label(w, h, worldW) {
  const cv = document.createElement("canvas");
  cv.width = w; cv.height = h;
  const tex = new THREE.CanvasTexture(cv);
  tex.colorSpace = THREE.SRGBColorSpace;
  const mesh = new THREE.Mesh(new THREE.PlaneGeometry(worldW, worldW * h / w),
    new THREE.MeshBasicMaterial({ map: tex, transparent: true, depthWrite: false, toneMapped: false }));
  mesh.renderOrder = 2;
  return { cv: cv, ctx: cv.getContext("2d"), tex: tex, mesh: mesh, text: null };
}

function lines(ctx, text, maxW) {
  const out = [];
  for (const para of String(text).split("\n")) {
    let line = "";
    for (const word of para.split(/\s+/)) {
      if (!word) continue;
      const t = line ? line + " " + word : word;
      if (ctx.measureText(t).width > maxW && line) { out.push(line); line = word; } else line = t;
    }
    out.push(line);
  }
  return out;
}

const TEXT_OPT = { size: 60 };
const NO_OPT = {}, PACER_OPT = { bg: null, size: 60, color: "#e9f0ee", shadow: true }, CAPTION_OPT = { size: 44 };

function drawLabel(l, text, o) {
  o = o || NO_OPT;
  if (l.text === text && l.o === o) return; // callers pass constant options: no work per frame
  l.text = text; l.o = o;
  const { ctx, cv } = l;
  ctx.clearRect(0, 0, cv.width, cv.height);
  if (o.bg !== null) {
    ctx.fillStyle = o.bg || "rgba(28,34,38,0.82)";
    const r = 28;
    ctx.beginPath(); ctx.roundRect(4, 4, cv.width - 8, cv.height - 8, r); ctx.fill();
  }
  let size = o.size || 54;
  ctx.textAlign = "center"; ctx.textBaseline = "middle"; ctx.fillStyle = o.color || "#eef2f0";
  ctx.shadowColor = o.shadow ? "rgba(0,0,0,0.6)" : "transparent"; ctx.shadowBlur = o.shadow ? 8 : 0;
  // The text goes in the band [top, bottom] (fractions of the height).
  const top = (o.top || 0) * cv.height, bottom = (o.bottom === undefined ? 1 : o.bottom) * cv.height;
  let ls;
  for (;;) {
    ctx.font = (o.weight || "500") + " " + size + "px system-ui, sans-serif";
    ls = lines(ctx, text, cv.width - 80);
    if (ls.length * size * 1.3 <= bottom - top - 30 || size <= 20) break;
    size -= 4;
  }
  const y0 = (top + bottom) / 2 - (ls.length - 1) * size * 0.65;
  ls.forEach((s, i) => ctx.fillText(s, cv.width / 2, y0 + i * size * 1.3));
  if (o.ends) { // the rating scale's end labels, under the track
    ctx.font = "500 34px system-ui, sans-serif"; ctx.fillStyle = "#c9d3d1";
    ctx.textAlign = "left"; ctx.fillText(o.ends[0], 90, cv.height * 0.86);
    ctx.textAlign = "right"; ctx.fillText(o.ends[1], cv.width - 90, cv.height * 0.86);
  }
  l.tex.needsUpdate = true;
}

const textPanel = label(1024, 512, 2.4);
textPanel.mesh.position.set(0, 0.1, -2.5);
textPanel.mesh.visible = false;
scene.add(textPanel.mesh);

// The lower slot, 15° below eye level, in front of the picture (which then
// moves up to leave it free): a step's text beside a picture, a panorama
// or the pacer, and a narration's subtitles; the upper slot takes the
// subtitles when both come at once.
const LOWER = new THREE.Vector3(0, -0.62, -2.3), UPPER = new THREE.Vector3(0, 1.3, -2.6);
const caption = label(1024, 192, 2.0);
caption.mesh.position.copy(LOWER);
caption.mesh.visible = false;
scene.add(caption.mesh);
const lowText = label(1024, 192, 2.0);
lowText.mesh.position.copy(LOWER);
lowText.mesh.visible = false;
scene.add(lowText.mesh);
const layout = { picY: 0, picH: 2.2 };

// The breathing pacer: a disc that grows on the in-breath.
const pacer = new THREE.Group();
const pacerDisc = new THREE.Mesh(new THREE.CircleGeometry(0.3, 64), new THREE.MeshBasicMaterial({ color: 0xcfe3df, transparent: true, opacity: 0.85, depthWrite: false }));
const pacerRing = new THREE.Mesh(new THREE.RingGeometry(0.58, 0.6, 64), new THREE.MeshBasicMaterial({ color: 0xe6efec, transparent: true, opacity: 0.5, depthWrite: false }));
const pacerText = label(512, 128, 1.0);
pacerText.mesh.position.set(0, -0.8, 0);
pacer.add(pacerRing, pacerDisc, pacerText.mesh);
pacer.position.set(0, 0.15, -2.6);
pacer.visible = false;
scene.add(pacer);

// The calm screen's words, under the pacer.
const calmText = label(1024, 256, 2.2);
calmText.mesh.position.set(0, -1.05, -2.6);
scene.add(calmText.mesh);

// The rating scale: question and labels on a canvas, the track to point
// at, the patient's marker, and the dwell progress.
const rating = new THREE.Group();
const ratingBoard = label(1024, 420, 2.6);
const TRACK_W = 2.0;
const RATE_CRAVING = { size: 50, top: 0.02, bottom: 0.56, ends: ["0  none", "100  strongest"] };
const RATE_SUDS = { size: 50, top: 0.02, bottom: 0.56, ends: ["0  calm", "100  worst distress"] };
const track = new THREE.Mesh(new THREE.PlaneGeometry(TRACK_W, 0.14), new THREE.MeshBasicMaterial({ color: 0xb9c7c4 }));
track.position.set(0, -0.18, 0.01);
const marker = new THREE.Mesh(new THREE.PlaneGeometry(0.05, 0.26), new THREE.MeshBasicMaterial({ color: 0xf2b84b }));
marker.position.set(0, -0.18, 0.02);
marker.visible = false;
const progress = new THREE.Mesh(new THREE.PlaneGeometry(TRACK_W, 0.03), new THREE.MeshBasicMaterial({ color: 0x9fe0c0 }));
progress.position.set(0, -0.33, 0.02);
progress.scale.x = 0.0001;
rating.add(ratingBoard.mesh, track, marker, progress);
rating.position.set(0, 0, -2.3);
rating.visible = false;
scene.add(rating);

// The patient's stop: a button low ahead that follows the body's heading
// (it is never behind the patient), a controller's squeeze anywhere, or a
// gaze held on it.
const stopRig = new THREE.Group();
const stopBtn = label(512, 200, 0.55);
drawLabel(stopBtn, "Stop", { bg: "rgba(122,62,56,0.92)", size: 84, weight: "600" });
stopBtn.mesh.position.set(0, -0.59, -1.27); // 25° below eye level, 1.4 m away: under the captions, in view inline and in a headset
stopBtn.mesh.lookAt(0, 0, 0);
stopRig.add(stopBtn.mesh);
stopRig.visible = false;
scene.add(stopRig);

// The gaze reticle (XR, or ?gaze=1): a dot ahead, with the dwell progress.
const reticle = new THREE.Mesh(new THREE.RingGeometry(0.008, 0.013, 24), new THREE.MeshBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.8, depthTest: false }));
reticle.position.set(0, 0, -1);
reticle.renderOrder = 10;
reticle.visible = false;
camera.add(reticle);

// Controllers: a ray each; select presses what it points at, squeeze stops.
const controllers = [];
for (let i = 0; i < 2; i++) {
  const c = renderer.xr.getController(i);
  const ray = new THREE.Line(new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(0, 0, 0), new THREE.Vector3(0, 0, -1)]),
    new THREE.LineBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.5 }));
  ray.scale.z = 3;
  c.add(ray);
  c.addEventListener("connected", () => { c.userData.on = true; });
  c.addEventListener("disconnected", () => { c.userData.on = false; });
  c.addEventListener("select", () => selectFrom(c));
  c.addEventListener("squeeze", () => patientStop("squeeze"));
  scene.add(c);
  controllers.push(c);
}

// ------------------------------------------------------------ the scene --

// cur is what is shown: the key of the scene, its step, and its cues' parts.
const cur = { key: "", step: -1, visuals: [], video: null, sounds: [], narr: null, startMs: 0, lookCue: "", panoYaw: 0, fov: 90 };
let viewYaw = 0, viewPitch = 0; // inline mouse look, radians (yaw right, pitch down)

// The scenes the page can show: constant objects, so choosing one each
// frame allocates nothing.
const CALM = {
  ended: { key: "calm:ended", why: "The session has ended. Thank you." },
  waiting: { key: "calm:waiting", why: "Waiting for the session…" },
  stopped: { key: "calm:stopped", why: "Breathe slowly. Your therapist is with you." },
  paused: { key: "calm:paused", why: "Paused. Take a moment to rest." },
  ready: { key: "calm:ready", why: "The session will begin soon." },
};
const SCENE = { key: "", step: -1, instance: NaN };

function wanted(now) {
  if (S.ended) return CALM.ended;
  // Stale: nothing heard for STALE_MS, while this page ran (after a stall
  // of its own, messages queued meanwhile are read before judging).
  if (!opened || (now - lastMsg > STALE_MS && !stalled)) return CALM.waiting;
  if (!S.plan) return CALM.waiting;
  if (S.localStop || S.status === "calm") return CALM.stopped;
  if (S.status === "paused") return CALM.paused;
  if (S.status === "running" && stepOf(S.step)) {
    if (SCENE.step !== S.step || SCENE.instance !== S.instance) { // a new key only when it changes
      SCENE.step = S.step; SCENE.instance = S.instance; SCENE.key = "scene:" + S.step + ":" + S.instance;
    }
    return SCENE;
  }
  return CALM.ready;
}

const paused = () => !cur.key.startsWith("scene:");

function clearScene() {
  pano.visible = room.visible = picture.visible = videoPanel.visible = false;
  textPanel.mesh.visible = caption.mesh.visible = lowText.mesh.visible = pacer.visible = rating.visible = stopRig.visible = false;
  calmSky.visible = calmText.mesh.visible = false;
  for (const s of cur.sounds) stopSound(s, 0.3);
  cur.sounds = [];
  if (cur.video) cur.video.pause();
  cur.video = null;
  cur.visuals = []; cur.narr = null; cur.lookCue = "";
}

// show builds the wanted scene: visibility and maps only, the geometry
// exists from the start (no allocation per frame, few draw calls).
function show(w, now) {
  clearScene();
  cur.key = w.key; cur.startMs = now;
  if (!w.key.startsWith("scene:")) {
    cur.step = -1;
    calmSky.visible = true; pacer.visible = true; pacer.userData.bpm = CALM_BPM; pacer.position.y = 0.15;
    pacerDisc.material.color.setHex(0xcfe3df); pacerRing.material.color.setHex(0xe6efec);
    status(w.key === "calm:waiting" ? (opened ? "no news from the session for over 2 s: waiting" : "connecting…") : "connected: " + w.key.slice(5));
    drawLabel(calmText, w.why, { bg: null, size: 56 });
    calmText.mesh.visible = true;
    if (cur.videoObj) cur.videoObj.pause();
    if (actx && actx.state === "running") actx.suspend();
    return;
  }
  if (actx && actx.state === "suspended" && audioWanted) actx.resume();
  status("connected: step " + (w.step + 1));
  const st = stepOf(w.step);
  cur.step = w.step;
  // A new scene opens ahead; the same one back after a calm screen keeps
  // the view where it was.
  if (w.key !== cur.lastScene) { viewYaw = 0; viewPitch = 0; }
  cur.lastScene = w.key;
  stopRig.visible = true;
  // Where things go: text and subtitles in the lower slot when the step
  // shows something else too, the picture moved up out of their way.
  const cues = (st.cues || []).filter((c) => !refusedCues.has(c.id));
  const has = (k) => cues.some((c) => c.kind === k);
  const other = has("image") || has("video") || has("panorama") || has("breathing");
  const textLow = has("text") && other;
  const subs = cues.some((c) => c.kind === "narration" && (c.subtitles || (c.captions && c.captions.length) || (!c.file && c.text)));
  const lowUsed = textLow || subs;
  layout.picY = lowUsed ? 0.35 : 0; layout.picH = lowUsed ? 1.6 : 2.2;
  picture.position.y = videoPanel.position.y = layout.picY;
  pacer.position.y = lowUsed ? 0.4 : 0.15;
  caption.mesh.position.copy(textLow && subs ? UPPER : LOWER);
  let visual = false;
  for (const c of cues) {
    if (refusedCues.has(c.id)) continue;
    switch (c.kind) {
      case "panorama": {
        visual = true;
        const v = { cue: c, ready: false, reported: false, mesh: pano };
        cur.visuals.push(v);
        cur.lookCue = c.id; cur.panoYaw = c.yaw_deg || 0; cur.fov = c.fov_deg || 90;
        pano.rotation.y = -Math.PI / 2 + (c.yaw_deg || 0) * DEG;
        const apply = (t) => {
          if (!cur.visuals.includes(v)) return;
          panoMat.map = t.tex; panoMat.needsUpdate = true; pano.visible = true; room.visible = false; v.ready = true;
        };
        const now = loaded.get(c.file + "#pano");
        if (now) apply(now); else texture(c, true).then(apply, () => {});
        break;
      }
      case "image": {
        visual = true; room.visible = true;
        const v = { cue: c, ready: false, reported: false, mesh: picture };
        cur.visuals.push(v);
        if (!cur.lookCue) cur.lookCue = c.id;
        const apply = (t) => {
          if (!cur.visuals.includes(v)) return;
          const maxW = 3.6, maxH = layout.picH, a = t.w / t.h;
          const wd = Math.min(maxW, maxH * a);
          picture.scale.set(wd, wd / a, 1);
          picture.material.map = t.tex; picture.material.needsUpdate = true; picture.visible = true; v.ready = true;
        };
        const now = loaded.get(c.file);
        if (now) apply(now); else texture(c, false).then(apply, () => {});
        break;
      }
      case "video": {
        visual = true; room.visible = true;
        const v = { cue: c, ready: false, reported: false, mesh: videoPanel };
        cur.visuals.push(v);
        if (!cur.lookCue) cur.lookCue = c.id;
        startVideo(c, v);
        break;
      }
      case "text": {
        visual = true; if (!has("panorama")) room.visible = true;
        const l = textLow ? lowText : textPanel;
        drawLabel(l, c.text || "", textLow ? CAPTION_OPT : TEXT_OPT);
        l.mesh.visible = true;
        cur.visuals.push({ cue: c, ready: true, reported: false, mesh: l.mesh });
        if (!cur.lookCue) cur.lookCue = c.id;
        break;
      }
      case "breathing": {
        visual = true; room.visible = true;
        pacer.visible = true; pacer.userData.bpm = c.bpm || CALM_BPM;
        pacerDisc.material.color.setHex(0x4f8f88); pacerRing.material.color.setHex(0x3d6f6a);
        cur.visuals.push({ cue: c, ready: true, reported: false, mesh: pacer });
        if (!cur.lookCue) cur.lookCue = c.id;
        break;
      }
      case "sound":
      case "narration":
        if (c.file) playSound(c);
        if (c.kind === "narration" && (c.subtitles || c.captions || (!c.file && c.text))) {
          cur.narr = { cue: c, at: now };
          drawLabel(caption, c.subtitles || (!c.file ? c.text : "") || "", CAPTION_OPT);
          caption.mesh.visible = !!caption.text && !!(c.subtitles || !c.file);
        }
        break;
      default:
        break; // a kind this page does not know: nothing drawn
    }
  }
  if (!visual) room.visible = true;
  if (room.visible && pano.visible) room.visible = false;
  prefetch(w.step + 1);
}

// --------------------------------------------------------------- sound --

let audioWanted = false;
function playSound(c) {
  const a = audio();
  if (!a) return;
  const s = { cue: c, src: null, gain: null, stopped: false };
  cur.sounds.push(s);
  soundBuffer(c).then((buf) => {
    if (s.stopped) return;
    const g = a.createGain();
    const level = Math.pow(10, (c.gain_db || 0) / 20);
    const t = a.currentTime;
    if (c.fade_in_s > 0) { g.gain.setValueAtTime(0, t); g.gain.linearRampToValueAtTime(level, t + c.fade_in_s); } else g.gain.value = level;
    const src = a.createBufferSource();
    src.buffer = buf; src.loop = !!c.loop;
    src.connect(g).connect(a.destination);
    src.start();
    s.src = src; s.gain = g;
  }, () => {});
}

function stopSound(s, fade) {
  s.stopped = true;
  if (!s.src || !actx) return;
  const t = actx.currentTime, f = s.cue.fade_out_s > 0 ? s.cue.fade_out_s : fade;
  s.gain.gain.cancelScheduledValues(t);
  s.gain.gain.setValueAtTime(s.gain.gain.value, t);
  s.gain.gain.linearRampToValueAtTime(0, t + f);
  s.src.stop(t + f + 0.02);
}

// --------------------------------------------------------------- video --
// MPEG-1 program streams (the protocol's .mpg) demuxed here and decoded by
// JSMpeg (its TS demuxer reads transport streams only); the planes go to
// three textures. The player is driven from the render loop, which keeps
// running inside an immersive session (window.requestAnimationFrame does
// not).

let JSMpeg = null;
async function jsmpeg() {
  if (!JSMpeg) JSMpeg = (await import("./vendor/jsmpeg-player.esm.js")).default;
  return JSMpeg;
}

// demuxPS hands each PES packet of an MPEG-1 (or -2) program stream to the
// decoder JSMpeg connected for its stream id, with its PTS when it has one.
function demuxPS(bytes, pes) {
  const b = new Uint8Array(bytes);
  let i = 0;
  const n = b.length;
  while (i + 4 <= n) {
    if (b[i] !== 0 || b[i + 1] !== 0 || b[i + 2] !== 1) { i++; continue; } // resync
    const code = b[i + 3];
    if (code === 0xb9) break; // end of the program stream
    if (code === 0xba) { i += (b[i + 4] & 0xc0) === 0x40 ? 14 + (b[i + 13] & 7) : 12; continue; }
    if (code < 0xbb) { i += 4; continue; }
    if (i + 6 > n) break;
    const len = (b[i + 4] << 8) | b[i + 5];
    const end = Math.min(n, i + 6 + len);
    const info = pes[code];
    if (info && code !== 0xbb) {
      let j = i + 6, pts = -1;
      if ((b[j] & 0xc0) === 0x80) { // MPEG-2 PES header
        const flags = b[j + 1], hl = b[j + 2];
        if (flags & 0x80) pts = readPTS(b, j + 3);
        j += 3 + hl;
      } else {
        while (j < end && b[j] === 0xff) j++;
        if ((b[j] & 0xc0) === 0x40) j += 2;
        if ((b[j] & 0xf0) === 0x20) { pts = readPTS(b, j); j += 5; } else if ((b[j] & 0xf0) === 0x30) { pts = readPTS(b, j); j += 10; } else j += 1;
      }
      if (j < end) {
        const d = info.destination, payload = b.subarray(j, end);
        if (pts >= 0 || d.timestamps.length === 0) d.write(Math.max(pts, 0), [payload]);
        else { d.bytesWritten += d.bufferWrite([payload]); d.canPlay = true; }
      }
    }
    i = end;
  }
}
function readPTS(b, j) {
  return (((b[j] >> 1) & 7) * 1073741824 + ((b[j + 1] << 7) | (b[j + 2] >> 1)) * 32768 + ((b[j + 3] << 7) | (b[j + 4] >> 1))) / 90000;
}

// A YUV renderer for JSMpeg: it keeps the planes in three DataTextures.
const yuvRenderer = {
  enabled: true, decoded: 0,
  resize(w, h) {
    yuv.w = w; yuv.h = h; yuv.cw = (w + 15) >> 4 << 4;
    const mk = (pw, ph) => {
      const t = new THREE.DataTexture(new Uint8Array(pw * ph), pw, ph, THREE.RedFormat, THREE.UnsignedByteType);
      t.minFilter = t.magFilter = THREE.LinearFilter; t.generateMipmaps = false; t.unpackAlignment = 1;
      return t;
    };
    for (const t of [yuv.y, yuv.cb, yuv.cr]) if (t) t.dispose();
    yuv.y = mk(yuv.cw, h); yuv.cb = mk(yuv.cw >> 1, h >> 1); yuv.cr = mk(yuv.cw >> 1, h >> 1);
    videoMat.uniforms.ty.value = yuv.y; videoMat.uniforms.tcb.value = yuv.cb; videoMat.uniforms.tcr.value = yuv.cr;
    videoMat.uniforms.crop.value = w / yuv.cw;
  },
  render(y, cb, cr) { // JSMpeg passes (Y, Cr, Cb) under these names; the shader knows
    if (!yuv.y) return;
    yuv.y.image.data.set(y.subarray(0, yuv.y.image.data.length));
    yuv.cb.image.data.set(cb.subarray(0, yuv.cb.image.data.length));
    yuv.cr.image.data.set(cr.subarray(0, yuv.cr.image.data.length));
    yuv.y.needsUpdate = yuv.cb.needsUpdate = yuv.cr.needsUpdate = true;
    this.decoded++;
  },
  renderProgress() {},
  destroy() {},
};

function startVideo(c, v) {
  if (cur.videoObj && cur.videoObj.cue.id === c.id && cur.videoObj.player) {
    cur.video = cur.videoObj; cur.videoObj.visual = v; cur.videoObj.resume();
    return;
  }
  if (cur.videoObj) { cur.videoObj.destroy(); cur.videoObj = null; }
  const vo = {
    cue: c, visual: v, player: null, playing: false, dead: false, shownDecoded: 0,
    pause() {
      this.playing = false;
      const p = this.player;
      if (p && p.isPlaying) {
        p.isPlaying = false;
        if (p.audio && p.audio.canPlay) { p.audioOut.stop(); p.seek(p.currentTime); } // rewind what was queued, as JSMpeg does
      }
    },
    resume() { this.playing = true; },
    destroy() { this.dead = true; if (this.player) { try { this.player.destroy(); } catch { /* gone */ } } },
    tick() {
      const p = this.player;
      if (!p || !this.playing || this.dead || !p.source.established) return;
      if (!p.isPlaying) { p.isPlaying = true; p.paused = false; p.startTime = performance.now() / 1000 - p.currentTime; }
      p.updateForStaticFile();
    },
  };
  cur.videoObj = vo; cur.video = vo; vo.playing = true;
  Promise.all([verified(c), jsmpeg()]).then(([buf, J]) => {
    if (vo.dead) return;
    if (actx) J.AudioOutput.WebAudio.CachedContext = actx; // one context to unlock
    class Src {
      constructor() { this.destination = null; this.established = false; this.completed = false; this.progress = 0; this.streaming = false; }
      connect(d) { this.destination = d; }
      start() { demuxPS(buf, this.destination.pesPacketInfo); this.established = this.completed = true; this.progress = 1; }
      resume() {} destroy() {}
    }
    const end = c.end || "loop";
    const p = new J.Player("", {
      source: Src, autoplay: false, loop: end === "loop", audio: !!actx, video: true, disableGl: true,
      decodeFirstFrame: false, pauseWhenHidden: false, progressive: false,
      onEnded: () => { if (end === "blank") { v.mesh.visible = false; } },
    });
    p.animationId = 1; // never let JSMpeg schedule its own frames: tick() drives it
    if (p.video) p.video.connect(yuvRenderer);
    if (p.audioOut) p.volume = Math.pow(10, (c.gain_db || 0) / 20);
    vo.player = p;
  }, () => {});
}

// ----------------------------------------------------------- interaction --

const ray = new THREE.Raycaster();
const tmpM = new THREE.Matrix4(), tmpV = new THREE.Vector3(), tmpQ = new THREE.Quaternion(), tmpE = new THREE.Euler(0, 0, 0, "YXZ");
const ndc = new THREE.Vector2();
const hitList = [], hits = [];

let stopSent = 0;
function patientStop(how) {
  if (paused() || S.localStop) return;
  S.localStop = true; S.stopSeen = false; S.stopSentAt = performance.now(); changed();
  send({ cmd: "patient_stop", id: "s" + (++stopSent) });
  T.lastStop = how;
}

let answerN = 0;
function answer(value) {
  if (!S.prompt || S.answered) return;
  value = Math.max(0, Math.min(100, Math.round(value)));
  S.answered = promptKey(S.prompt);
  T.answered = value;
  T.answerSent = send({ cmd: "answer", id: "a" + (++answerN), scale: S.prompt.scale === "suds" ? "suds" : "craving", value: value });
  changed();
}

// pick says what a ray hits: "stop", a rating value, or null.
function pick() {
  hitList.length = 0;
  if (stopRig.visible) hitList.push(stopBtn.mesh);
  if (rating.visible) hitList.push(track);
  hits.length = 0;
  const h = ray.intersectObjects(hitList, false, hits)[0];
  if (!h) return null;
  if (h.object === stopBtn.mesh) return { stop: true };
  track.worldToLocal(tmpV.copy(h.point));
  return { value: (tmpV.x / TRACK_W + 0.5) * 100 };
}

function selectFrom(c) {
  tmpM.identity().extractRotation(c.matrixWorld);
  ray.ray.origin.setFromMatrixPosition(c.matrixWorld);
  ray.ray.direction.set(0, 0, -1).applyMatrix4(tmpM);
  const p = pick();
  if (p && p.stop) patientStop("controller");
  else if (p && p.value !== undefined) answer(p.value);
}

// Mouse (inline): drag to look around, click to press.
let drag = null;
canvas.addEventListener("pointerdown", (e) => {
  unlockAudio();
  drag = { x: e.clientX, y: e.clientY, moved: 0 };
  canvas.setPointerCapture(e.pointerId);
});
canvas.addEventListener("pointermove", (e) => {
  if (!drag) {
    if (rating.visible && !renderer.xr.isPresenting) hover(e);
    return;
  }
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  drag.moved += Math.abs(dx) + Math.abs(dy);
  if (drag.moved > 4) {
    canvas.classList.add("dragging");
    const per = camera.fov * DEG / canvas.clientHeight;
    viewYaw -= dx * per; viewPitch -= dy * per; // the scene follows the hand
    viewPitch = Math.max(-80 * DEG, Math.min(80 * DEG, viewPitch));
    drag.x = e.clientX; drag.y = e.clientY;
  }
});
canvas.addEventListener("pointerup", (e) => {
  canvas.classList.remove("dragging");
  const d = drag;
  drag = null;
  if (!d || d.moved > 4) return;
  setNDC(e);
  ray.setFromCamera(ndc, camera);
  const p = pick();
  if (p && p.stop) patientStop("mouse");
  else if (p && p.value !== undefined) answer(p.value);
});
function setNDC(e) {
  const r = canvas.getBoundingClientRect();
  ndc.set(((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1);
}
function hover(e) {
  setNDC(e);
  ray.setFromCamera(ndc, camera);
  const p = pick();
  if (p && p.value !== undefined) setMarker(p.value);
}
function setMarker(v) {
  marker.visible = true;
  marker.position.x = (Math.max(0, Math.min(100, v)) / 100 - 0.5) * TRACK_W;
}
window.addEventListener("keydown", (e) => {
  unlockAudio();
  if (e.key === "Escape") { patientStop("key"); return; }
  const step = 5 * DEG;
  if (rating.visible) {
    const v = marker.visible ? (marker.position.x / TRACK_W + 0.5) * 100 : 50;
    if (e.key === "ArrowLeft") setMarker(v - 5);
    else if (e.key === "ArrowRight") setMarker(v + 5);
    else if (e.key === "Enter") answer(v);
    return;
  }
  if (e.key === "ArrowLeft") viewYaw -= step;
  else if (e.key === "ArrowRight") viewYaw += step;
  else if (e.key === "ArrowUp") viewPitch = Math.max(-80 * DEG, viewPitch - step);
  else if (e.key === "ArrowDown") viewPitch = Math.min(80 * DEG, viewPitch + step);
});

// Gaze dwell: what the view's centre rests on, for how long.
const gaze = { target: null, since: 0, value: 0 };
function gazeTick(now) {
  const on = renderer.xr.isPresenting || gazeInline;
  reticle.visible = on && !paused();
  if (!on || paused()) { gaze.target = null; progress.scale.x = 0.0001; return; }
  camera.getWorldPosition(ray.ray.origin);
  camera.getWorldDirection(ray.ray.direction);
  const p = pick();
  let target = null;
  if (p && p.stop) target = "stop";
  else if (p && p.value !== undefined) { target = "rate"; setMarker(p.value); }
  if (target !== gaze.target || (target === "rate" && Math.abs(p.value - gaze.value) > DWELL_SLOP)) {
    gaze.target = target; gaze.since = now; gaze.value = p ? p.value : 0;
  }
  const need = target === "stop" ? DWELL_STOP_MS : DWELL_ANSWER_MS;
  const f = target ? Math.min(1, (now - gaze.since) / need) : 0;
  progress.scale.x = target === "rate" ? Math.max(0.0001, f) : 0.0001;
  reticle.scale.setScalar(1 + f * 1.5);
  if (f >= 1) {
    if (target === "stop") patientStop("gaze");
    else if (target === "rate") answer(gaze.value);
    gaze.target = null;
  }
}

// ------------------------------------------------------------ each frame --

const look = { cue: "", yaw: 0, pitch: 0, roll: 0, at: -Infinity };
let lastFrameMs = 0, lastFrameTime = 0, stalled = false;

function frame(time, xrFrame) {
  const t0 = performance.now();
  const now = t0;
  pingTick();
  stopAgain(now);
  // A frame that comes long after the last one (the page itself stalled)
  // does not judge staleness: the messages that arrived meanwhile are
  // read before the next.
  stalled = now - lastFrameMs > 500;
  const w = wanted(now);
  if (w.key !== cur.key) {
    show(w, now);
    cur.changeAt = S.changeAt;
    T.shown.push({ key: w.key, frame: T.frames + 1, changeFrame: S.changeFrame, t: sessionAt(Math.max(time, cur.changeAt)), prevT: sessionAt(lastFrameTime) });
    if (T.shown.length > 100) T.shown.shift();
  }
  T.key = cur.key;

  // The rating scale over the scene.
  const ask = cur.key.startsWith("scene:") && S.prompt && !S.answered;
  if (ask && !rating.visible) {
    drawLabel(ratingBoard, String(S.prompt.question || "How strong is it now?"), S.prompt.scale === "suds" ? RATE_SUDS : RATE_CRAVING);
    marker.visible = Number.isInteger(S.prompt.marker);
    if (marker.visible) setMarker(S.prompt.marker);
  }
  rating.visible = !!ask;

  // The inline view.
  if (!renderer.xr.isPresenting) {
    camera.rotation.set(-viewPitch, -viewYaw, 0, "YXZ");
    const hfov = pano.visible ? cur.fov : 90;
    const v = 2 * Math.atan(Math.tan(hfov * DEG / 2) / camera.aspect) / DEG;
    if (Math.abs(camera.fov - v) > 0.01) { camera.fov = v; camera.updateProjectionMatrix(); }
  }

  // The pacer breathes: in for 40 % of the cycle, out for 60 %.
  if (pacer.visible) {
    const per = 60 / (pacer.userData.bpm || CALM_BPM), ph = ((time / 1000) % per) / per;
    const inhale = ph < 0.4, f = inhale ? ph / 0.4 : 1 - (ph - 0.4) / 0.6;
    const s = 0.7 + 1.25 * (0.5 - 0.5 * Math.cos(Math.PI * f));
    pacerDisc.scale.set(s, s, 1);
    drawLabel(pacerText, inhale ? "Breathe in" : "Breathe out", PACER_OPT);
  }
  // Captions of a narration follow its timing.
  if (cur.narr && cur.narr.cue.captions && cur.narr.cue.captions.length) {
    const el = (now - cur.narr.at) / 1000;
    let txt = "";
    for (const c of cur.narr.cue.captions) if (c.at_s <= el) txt = c.text;
    caption.mesh.visible = !!txt;
    if (txt) drawLabel(caption, txt, CAPTION_OPT);
  }
  if (cur.video) {
    cur.video.tick();
    const v = cur.video.visual;
    if (!v.ready && yuvRenderer.decoded > 0 && yuv.y) {
      const a = yuv.w / yuv.h, wd = Math.min(3.6, layout.picH * a);
      videoPanel.scale.set(wd, wd / a, 1);
      videoPanel.visible = true; v.ready = true;
    }
  }
  // The stop button follows the body's heading when the head turns far.
  if (stopRig.visible) {
    camera.getWorldDirection(tmpV);
    const heading = Math.atan2(-tmpV.x, -tmpV.z);
    let d = heading - stopRig.rotation.y;
    d = Math.atan2(Math.sin(d), Math.cos(d));
    if (!renderer.xr.isPresenting) stopRig.rotation.y = heading, d = 0; // inline: fixed in the view
    if (Math.abs(d) > 50 * DEG) stopRig.userData.follow = true;
    if (stopRig.userData.follow) {
      const stepR = Math.min(Math.abs(d), Math.PI * (now - lastFrameMs) / 1000);
      stopRig.rotation.y += Math.sign(d) * stepR;
      if (Math.abs(d) < 3 * DEG) stopRig.userData.follow = false;
    }
  }
  gazeTick(now);
  uploadTick();

  renderer.render(scene, camera);
  T.frames++;
  T.xr = renderer.xr.isPresenting;
  T.drawCalls = renderer.info.render.calls;

  // Frame reports: each visual cue's first displayed frame, at this
  // frame's time (the XR frame's predicted display time in a headset) on
  // the session clock.
  // A headset says when this frame will be shown (XRFrame.predictedDisplayTime);
  // else the frame's rAF time.
  // An animation frame's time is when the frame began, which can be just
  // before the message that changed the scene was read: never earlier
  // than that message's arrival.
  const shownAt = Math.max(xrFrame && typeof xrFrame.predictedDisplayTime === "number" ? xrFrame.predictedDisplayTime : time, cur.changeAt);
  const ts = sessionAt(shownAt);
  for (const v of cur.visuals) {
    if (v.ready && !v.report && ts !== null) {
      v.report = { cmd: "frame", cue: v.cue.id, step: cur.step, instance: S.instance, t_session: round6(ts),
        uncertainty: round6(sync.rtt / 2), t_client: round6(shownAt / 1000), xr: renderer.xr.isPresenting };
    }
    if (v.report && !v.reported && send(v.report)) { // a report not sent (reconnecting) goes with a later frame
      v.reported = true;
      T.reports.push(v.report);
      if (T.reports.length > 200) T.reports.shift();
    }
  }
  lookTick(now);
  if (T.read) readPixels();
  lastFrameMs = now; lastFrameTime = time;
  T.frameMs = performance.now() - t0;
}

const round6 = (x) => Math.round(x * 1e6) / 1e6;

// lookTick reports the head direction in the scene: yaw from the scene's
// reference (a panorama's picture centre, else straight ahead), pitch
// positive looking down, roll positive tilting left; at most 10 a second
// and only when it moved by a degree.
function lookTick(now) {
  if (!cur.key.startsWith("scene:") || !cur.lookCue) return;
  camera.getWorldQuaternion(tmpQ);
  tmpE.setFromQuaternion(tmpQ, "YXZ");
  const heading = -tmpE.y / DEG;
  const yaw = wrap180(heading + (pano.visible ? cur.panoYaw : 0));
  const pitch = Math.max(-90, Math.min(90, -tmpE.x / DEG));
  const roll = wrap180(tmpE.z / DEG);
  const moved = cur.lookCue !== look.cue || Math.abs(wrap180(yaw - look.yaw)) >= LOOK_STEP_DEG ||
    Math.abs(pitch - look.pitch) >= LOOK_STEP_DEG || Math.abs(wrap180(roll - look.roll)) >= LOOK_STEP_DEG;
  if (!moved || now - look.at < LOOK_MIN_MS) return;
  const r = (x) => Math.round(x * 10) / 10;
  if (send({ cmd: "look", cue: cur.lookCue, yaw_deg: r(yaw), pitch_deg: r(pitch), roll_deg: r(roll) })) {
    look.cue = cur.lookCue; look.yaw = yaw; look.pitch = pitch; look.roll = roll; look.at = now;
    T.looks++;
    T.lookTimes.push(now);
    if (T.lookTimes.length > 200) T.lookTimes.shift();
  }
}

// readPixels (tests): the frame just drawn, read back before it is shown.
function readPixels() {
  const gl = renderer.getContext();
  const w = gl.drawingBufferWidth, h = gl.drawingBufferHeight;
  const px = new Uint8Array(w * h * 4);
  gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
  const at = (fx, fy) => { const x = Math.min(w - 1, Math.floor(fx * w)), y = Math.min(h - 1, Math.floor((1 - fy) * h)), i = (y * w + x) * 4; return [px[i], px[i + 1], px[i + 2]]; };
  let sum = 0, sum2 = 0;
  for (let i = 0; i < px.length; i += 4 * 7) { const l = px[i] + px[i + 1] + px[i + 2]; sum += l; sum2 += l * l; }
  const n = px.length / (4 * 7), mean = sum / n;
  const res = { key: cur.key, w: w, h: h, mean: mean / 3, sd: Math.sqrt(Math.max(0, sum2 / n - mean * mean)) / 3, center: at(0.5, 0.5), at: at };
  const cb = T.read;
  T.read = null;
  cb(res);
}
T.pixels = (points) => new Promise((ok) => {
  T.read = (r) => ok({ key: r.key, w: r.w, h: r.h, mean: r.mean, sd: r.sd, center: r.center, points: (points || []).map(([x, y]) => r.at(x, y)) });
});
T.look = (yawDeg, pitchDeg) => { viewYaw = yawDeg * DEG; viewPitch = pitchDeg * DEG; };
T.ratingVisible = () => rating.visible;
T.playing = () => ({ sources: cur.sounds.filter((x) => x.src && !x.stopped).length, audio: actx ? actx.state : "none", caption: caption.mesh.visible ? caption.text : "" });
T.videoFrames = () => yuvRenderer.decoded;
// worldOf: a point of a control ("track" at fraction f of the scale, or
// "stop"), in world space.
function worldOf(name, f) {
  scene.updateMatrixWorld();
  if (name === "track") return track.localToWorld(new THREE.Vector3((f - 0.5) * TRACK_W, 0, 0));
  return stopBtn.mesh.localToWorld(new THREE.Vector3(0, 0, 0));
}
T.screenOf = (name, f) => {
  const p = worldOf(name, f).project(camera), r = canvas.getBoundingClientRect();
  return { x: r.left + (p.x + 1) / 2 * r.width, y: r.top + (1 - p.y) / 2 * r.height };
};
T.directionOf = (name, f) => {
  const p = worldOf(name, f).sub(camera.getWorldPosition(new THREE.Vector3()));
  return { yaw: Math.atan2(p.x, -p.z) / DEG, pitch: Math.atan2(-p.y, Math.hypot(p.x, p.z)) / DEG };
};
T.state = () => ({ status: S.status, step: S.step, instance: S.instance, prompt: S.prompt, localStop: S.localStop, plan: !!S.plan, opened: opened, stale: performance.now() - lastMsg > STALE_MS });

// -------------------------------------------------------------- startup --

function status(s) { $("status").textContent = s; }

function resize() {
  if (renderer.xr.isPresenting) return;
  const w = window.innerWidth, h = window.innerHeight;
  renderer.setSize(w, h, false);
  camera.aspect = w / h;
  camera.updateProjectionMatrix();
}
window.addEventListener("resize", resize);
resize();

async function offerVR() {
  if (!navigator.xr || !navigator.xr.isSessionSupported) return;
  let ok = false;
  try { ok = await navigator.xr.isSessionSupported("immersive-vr"); } catch { ok = false; }
  if (!ok) return;
  const b = $("enter");
  b.hidden = false;
  b.addEventListener("click", async () => {
    unlockAudio();
    audioWanted = true;
    if (renderer.xr.isPresenting) { renderer.xr.getSession().end(); return; }
    try {
      const session = await navigator.xr.requestSession("immersive-vr", { optionalFeatures: ["local-floor"] });
      await renderer.xr.setSession(session);
      b.textContent = "Exit VR";
      session.addEventListener("end", () => { b.textContent = "Enter VR"; resize(); });
    } catch (err) {
      status("cannot enter VR: " + (err && err.message || err));
    }
  });
}

if (audio() && actx.state === "suspended") { $("sound").hidden = false; $("sound").addEventListener("click", () => { audioWanted = true; unlockAudio(); }); }
else audioWanted = true;

renderer.setAnimationLoop(frame);
offerVR();
loadPlan();
connect();
setInterval(pingTick, 50); // pings go on while a hidden tab or headset renders nothing

// edge-pose dashboard: one card per device, fed by the dashboard server (Server-Sent Events)
// or, with ?ws=ws://host:9001, straight from the broker's WebSocket listener (vendored MQTT.js).
// Payloads follow CONTRACT.md. Everything from the broker is shown with textContent, never as HTML.
"use strict";
(() => {
  const params = new URLSearchParams(location.search);
  const WS_URL = params.get("ws");
  const KINDS = ["availability", "state", "stats", "pose", "silhouette", "rep", "cmd/result"];
  const POSE_STALE_MS = 2500;
  const MAX_REPS = 200;

  const cfg = { topic_prefix: params.get("prefix") || "edge-pose", skeleton: null, exercises: ["auto"] };
  const devices = new Map();
  const conn = { server: false, broker: false, detail: "connecting" };
  let mqttClient = null;

  const $ = (sel, root = document) => root.querySelector(sel);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const fmt = (v, digits = 1) => (typeof v === "number" && isFinite(v) ? v.toFixed(digits) : "–");

  // ---------------------------------------------------------------- connection status
  function renderConn() {
    const badge = $("#conn");
    let state, text;
    if (WS_URL) {
      state = conn.broker ? "live" : conn.detail === "connecting" ? "connecting" : "broker-down";
      text = conn.broker ? `live · direct ${WS_URL}` : `broker ${WS_URL} unreachable · reconnecting`;
    } else if (!conn.server) {
      state = conn.detail === "connecting" ? "connecting" : "server-down";
      text = state === "connecting" ? "connecting…" : "dashboard server unreachable · reconnecting";
    } else if (!conn.broker) {
      state = "broker-down";
      const why = conn.detail && !["down", "unreachable"].includes(conn.detail) ? ` (${conn.detail})` : "";
      text = `broker unreachable${why} · reconnecting`;
    } else {
      state = "live";
      text = "live";
    }
    badge.dataset.state = state;
    badge.textContent = text;
    const online = [...devices.values()].filter((d) => d.availability === "online").length;
    $("#summary").textContent = devices.size ? `${devices.size} device(s), ${online} online` : "";
  }

  // ---------------------------------------------------------------- devices
  class Device {
    constructor(id) {
      this.id = id;
      this.availability = null;
      this.state = null;
      this.stats = null;
      this.pose = null;
      this.poseAt = 0;
      this.silhouette = null;
      this.reps = [];
      this.repIds = new Set();
      this.pending = new Map();
      this.drawQueued = false;
      this.build();
      this.charts = this.buildCharts();
    }

    build() {
      const root = el("section", "device");
      root.dataset.device = this.id;
      const head = el("header");
      head.append(el("h2", "name", this.id));
      this.availEl = el("span", "badge availability", "unknown");
      this.statusEl = el("span", "badge status", "");
      head.append(this.availEl, this.statusEl);
      const main = el("div", "main");
      this.figure = el("div", "figure stale");
      this.canvas = el("canvas");
      this.figure.append(this.canvas, el("div", "nopose", "no person"));
      const numbers = el("div", "numbers");
      this.exerciseEl = el("div", "exercise", "–");
      this.countEl = el("div", "count", "–");
      this.phaseEl = el("div", "phase", "");
      this.lastRepEl = el("div", "lastrep", "");
      numbers.append(this.exerciseEl, this.countEl, this.phaseEl, this.lastRepEl);
      main.append(this.figure, numbers);
      this.statsEl = el("div", "stats", "");
      const charts = el("div", "charts");
      charts.append(el("div", "chart-title", "tempo per rep (s)"));
      this.tempoEl = el("div", "chart tempo");
      charts.append(this.tempoEl, el("div", "chart-title", "range of motion per rep (°)"));
      this.romEl = el("div", "chart rom");
      charts.append(this.romEl);
      const controls = el("div", "controls");
      const reset = el("button", "", "Reset count");
      reset.dataset.cmd = "reset";
      reset.addEventListener("click", () => this.command({ cmd: "reset" }));
      this.select = el("select", "exercise-select");
      this.select.setAttribute("aria-label", "exercise");
      this.fillExercises();
      const set = el("button", "", "Set exercise");
      set.dataset.cmd = "set_exercise";
      set.addEventListener("click", () => this.command({ cmd: "set_exercise", exercise: this.select.value }));
      this.resultEl = el("span", "result", "");
      controls.append(reset, this.select, set, this.resultEl);
      root.append(head, main, this.statsEl, charts, controls);
      this.root = root;
      const list = $("#devices");
      $("#empty").hidden = true;
      const after = [...list.querySelectorAll(".device")].find((d) => d.dataset.device > this.id);
      list.insertBefore(root, after || null);
      this.sizeCanvas();
    }

    fillExercises() {
      const current = this.select.value;
      this.select.replaceChildren(...cfg.exercises.map((name) => {
        const o = el("option", "", name);
        o.value = name;
        return o;
      }));
      if (current) this.select.value = current;
    }

    buildCharts() {
      const width = Math.max(260, this.root.clientWidth - 24);
      const common = {
        width, height: 130,
        scales: { x: { time: false } },
        axes: [
          { stroke: "#8a94a3", grid: { stroke: "#2a313c" }, ticks: { stroke: "#2a313c" }, incrs: [1, 2, 5, 10, 20, 50] },
          { stroke: "#8a94a3", grid: { stroke: "#2a313c" }, ticks: { stroke: "#2a313c" }, size: 44 },
        ],
        cursor: { drag: { x: false, y: false } },
        legend: { show: true, live: false },
      };
      const pts = (color) => ({ stroke: color, width: 2, points: { show: true, size: 6, fill: color } });
      const tempo = new uPlot({
        ...common,
        series: [{ label: "rep" },
          { label: "duration", ...pts("#e8ecf1") },
          { label: "concentric", ...pts("#3ddc84") },
          { label: "eccentric", ...pts("#ffb020") }],
      }, [[], [], [], []], this.tempoEl);
      const rom = new uPlot({
        ...common,
        series: [{ label: "rep" },
          { label: "min angle", ...pts("#4fc3ff") },
          { label: "max angle", ...pts("#c38fff") }],
      }, [[], [], []], this.romEl);
      return { tempo, rom };
    }

    // -- messages ------------------------------------------------------------------------
    apply(kind, data) {
      switch (kind) {
        case "availability": this.setAvailability(data); break;
        case "state": this.setState(data); break;
        case "stats": this.setStats(data); break;
        case "pose": this.setPose(data); break;
        case "silhouette": this.silhouette = data; this.queueDraw(); break;
        case "rep": if (data && this.addRep(data)) this.renderReps(); break;
        case "cmd/result": this.showResult(data); break;
      }
    }

    setAvailability(text) {
      this.availability = text;
      this.availEl.textContent = text || "unknown";
      this.availEl.dataset.value = text || "";
      this.root.classList.toggle("offline", text === "offline");
      renderConn();
    }

    setState(s) {
      const previousSession = this.sessionId();
      this.state = s;
      if (!s) return;
      const count = typeof s.count === "number" ? s.count : (s.session && s.session.count);
      this.countEl.textContent = count === undefined || count === null ? "–" : String(count);
      this.root.dataset.count = this.countEl.textContent;
      this.exerciseEl.textContent = s.exercise ? s.exercise.replace(/_/g, " ") : "–";
      this.root.dataset.exercise = s.exercise || "";
      this.statusEl.textContent = s.status || "";
      this.statusEl.dataset.value = s.status || "";
      const person = s.person === false ? "no person" : s.phase ? `phase: ${s.phase}` : "";
      this.phaseEl.textContent = person;
      if (this.sessionId() !== previousSession) this.renderReps();
    }

    setStats(s) {
      this.stats = s;
      if (!s) { this.statsEl.textContent = ""; return; }
      const lat = s.latency_ms || {};
      const parts = [
        `${fmt(s.fps)} fps`,
        `latency ${fmt(lat.p50, 0)}/${fmt(lat.p99, 0)} ms (p50/p99)`,
      ];
      if (typeof s.frames === "number") parts.push(`${s.frames} frames`);
      if (s.skipped_frames) parts.push(`${s.skipped_frames} skipped`);
      if (typeof s.cpu_temp_c === "number") parts.push(`${fmt(s.cpu_temp_c, 0)} °C`);
      if (s.outbox) parts.push(`outbox ${s.outbox}`);
      if (s.model) parts.push(`${s.model}${s.delegate ? "/" + s.delegate : ""}`);
      this.statsEl.textContent = parts.join(" · ");
      this.root.dataset.fps = fmt(s.fps);
    }

    setPose(p) {
      this.pose = p;
      this.poseAt = performance.now();
      this.queueDraw();
    }

    sessionId() {
      const s = this.state && this.state.session;
      return s && s.id !== undefined && s.id !== null ? String(s.id) : null;
    }

    addRep(rep) {
      if (rep.id !== undefined) {
        if (this.repIds.has(rep.id)) return false;
        this.repIds.add(rep.id);
      }
      this.reps.push(rep);
      if (this.reps.length > MAX_REPS) this.repIds.delete(this.reps.shift().id);
      return true;
    }

    renderReps() {
      const sid = this.sessionId();
      const reps = this.reps.filter((r) => sid === null || r.session === undefined || String(r.session) === sid);
      const x = reps.map((r, i) => (typeof r.index === "number" ? r.index : i + 1));
      const num = (r, k) => (typeof r[k] === "number" ? r[k] : null);
      this.charts.tempo.setData([x, reps.map((r) => num(r, "duration")), reps.map((r) => num(r, "concentric")), reps.map((r) => num(r, "eccentric"))]);
      this.charts.rom.setData([x, reps.map((r) => num(r, "rom_min")), reps.map((r) => num(r, "rom_max"))]);
      this.root.dataset.reps = String(reps.length);
      const last = reps[reps.length - 1];
      if (last) {
        const partial = last.partial ? " (partial)" : "";
        this.lastRepEl.textContent =
          `last rep #${last.index}${partial}: ${fmt(last.duration)} s, up ${fmt(last.concentric)} / down ${fmt(last.eccentric)} s, ` +
          `${fmt(last.rom_min, 0)}°–${fmt(last.rom_max, 0)}°${last.angle_name ? " " + last.angle_name : ""}`;
      } else {
        this.lastRepEl.textContent = "";
      }
    }

    showResult(r) {
      if (!r) return;
      const sent = this.pending.get(r.id);
      this.pending.delete(r.id);
      const name = r.cmd || (sent && sent.cmd) || "command";
      this.resultEl.textContent = r.ok ? `${name}: ok` : `${name}: refused: ${r.error || "unknown error"}`;
      this.resultEl.dataset.ok = String(!!r.ok);
      this.resultEl.dataset.id = r.id || "";
      if (r.state) this.setState(r.state);
    }

    async command(body) {
      const id = `web-${Math.random().toString(16).slice(2, 10)}`;
      const msg = { ...body, id };
      this.pending.set(id, msg);
      this.resultEl.dataset.ok = "";
      this.resultEl.textContent = `${body.cmd}: sending…`;
      try {
        if (WS_URL) {
          if (!mqttClient || !mqttClient.connected) throw new Error("broker not connected");
          if (params.get("token")) msg.token = params.get("token");
          mqttClient.publish(`${cfg.topic_prefix}/${this.id}/cmd`, JSON.stringify(msg), { qos: 1 });
        } else {
          const res = await fetch(`api/devices/${encodeURIComponent(this.id)}/cmd`, {
            method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(msg),
          });
          if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.statusText);
        }
        if (this.pending.has(id)) this.resultEl.textContent = `${body.cmd}: sent, waiting for the device…`;
        setTimeout(() => {
          if (this.pending.delete(id)) {
            this.resultEl.textContent = `${body.cmd}: no answer from the device`;
            this.resultEl.dataset.ok = "false";
          }
        }, 5000);
      } catch (err) {
        this.pending.delete(id);
        this.resultEl.textContent = `${body.cmd}: not sent: ${err.message}`;
        this.resultEl.dataset.ok = "false";
      }
    }

    // -- drawing -------------------------------------------------------------------------
    // The canvas shows the person, not the whole frame: a region of interest around the visible
    // landmarks (and silhouette), padded, smoothed over time so the view does not jump.
    sizeCanvas() {
      const cw = 200, ch = 250;
      const dpr = window.devicePixelRatio || 1;
      this.canvas.style.width = cw + "px";
      this.canvas.style.height = ch + "px";
      this.canvas.width = Math.round(cw * dpr);
      this.canvas.height = Math.round(ch * dpr);
    }

    imageSize() {
      const s = this.pose && this.pose.image_size;
      return Array.isArray(s) && s[0] > 0 && s[1] > 0 ? s : [640, 480];
    }

    updateRoi(lm) {
      const [iw, ih] = this.imageSize();
      const minVis = cfg.skeleton ? cfg.skeleton.min_visibility : 0.5;
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      const grow = (x, y) => { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); };
      for (const p of lm || []) if (p && isFinite(p[0]) && isFinite(p[1]) && (p.length < 4 || p[3] >= minVis)) grow(p[0] * iw, p[1] * ih);
      const b = this.silhouette && this.silhouette.bbox;
      if (Array.isArray(b) && b.length === 4) { grow(b[0] * iw, b[1] * ih); grow(b[2] * iw, b[3] * ih); }
      if (!(x1 > x0 && y1 > y0)) return;
      const pad = 0.12 * Math.max(x1 - x0, y1 - y0), minSide = 0.1 * Math.max(iw, ih);
      const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
      const w = Math.max(x1 - x0 + 2 * pad, minSide), h = Math.max(y1 - y0 + 2 * pad, minSide);
      const target = [cx, cy, w, h];
      this.roi = this.roi ? this.roi.map((v, i) => v + 0.35 * (target[i] - v)) : target;
    }

    queueDraw() {
      if (this.drawQueued) return;
      this.drawQueued = true;
      requestAnimationFrame(() => { this.drawQueued = false; this.draw(); });
    }

    draw() {
      const ctx = this.canvas.getContext("2d");
      const W = this.canvas.width, H = this.canvas.height;
      ctx.clearRect(0, 0, W, H);
      const lm = this.pose && this.pose.landmarks;
      if (lm) this.updateRoi(lm);
      const [iw, ih] = this.imageSize();
      const [cx, cy, rw, rh] = this.roi || [iw / 2, ih / 2, iw, ih];
      const scale = Math.min(W / rw, H / rh);
      const P = (x, y) => [(x * iw - cx) * scale + W / 2, (y * ih - cy) * scale + H / 2];
      drawSilhouette(ctx, this.silhouette, P, scale);
      const fresh = !!lm && performance.now() - this.poseAt < POSE_STALE_MS;
      this.figure.classList.toggle("stale", !fresh);
      this.root.dataset.pose = fresh ? "live" : "none";
      if (lm) drawSkeleton(ctx, lm, P, Math.min(W, H));
    }

    tick() {
      const fresh = !!(this.pose && this.pose.landmarks) && performance.now() - this.poseAt < POSE_STALE_MS;
      if (this.figure.classList.contains("stale") === fresh) this.queueDraw();
    }

    resize() {
      const width = Math.max(260, this.root.clientWidth - 24);
      this.charts.tempo.setSize({ width, height: 130 });
      this.charts.rom.setSize({ width, height: 130 });
    }
  }

  function drawSilhouette(ctx, s, P, scale) {
    if (!s) return;
    const rings = Array.isArray(s.polygons) ? s.polygons : Array.isArray(s.polygon) ? [s.polygon] : [];
    ctx.fillStyle = "rgba(79, 195, 255, 0.30)";
    ctx.strokeStyle = "rgba(79, 195, 255, 0.75)";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (const ring of rings) {
      if (!Array.isArray(ring) || ring.length < 3) continue;
      ring.forEach((p, i) => { const [x, y] = P(p[0], p[1]); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
      ctx.closePath();
    }
    ctx.fill("evenodd");
    ctx.stroke();
  }

  function drawSkeleton(ctx, lm, P, side) {
    const sk = cfg.skeleton;
    if (!sk) return;
    const minVis = sk.min_visibility;
    const ok = lm.map((p) => Array.isArray(p) && isFinite(p[0]) && isFinite(p[1]) && (p.length < 4 || p[3] >= minVis));
    const pts = lm.map((p, i) => (ok[i] ? P(p[0], p[1]) : null));
    const unit = Math.max(1, side / 120);
    ctx.lineCap = "round";
    ctx.strokeStyle = "#f5f5f5";
    ctx.lineWidth = unit * 1.4;
    ctx.beginPath();
    for (const [a, b] of sk.connections) {
      if (!pts[a] || !pts[b]) continue;
      ctx.moveTo(pts[a][0], pts[a][1]);
      ctx.lineTo(pts[b][0], pts[b][1]);
    }
    ctx.stroke();
    const left = new Set(sk.left);
    pts.forEach((p, i) => {
      if (!p) return;
      ctx.fillStyle = left.has(i) ? "#ff8a00" : "#00a0ff";
      ctx.beginPath();
      ctx.arc(p[0], p[1], unit * 2, 0, 2 * Math.PI);
      ctx.fill();
    });
  }

  function device(id) {
    let d = devices.get(id);
    if (!d) {
      d = new Device(id);
      devices.set(id, d);
      renderConn();
    }
    return d;
  }

  function applySnapshot(snap) {
    setBroker(snap.broker);
    for (const [id, rec] of Object.entries(snap.devices || {})) {
      const d = device(id);
      if (rec.availability !== undefined) d.setAvailability(rec.availability);
      if (rec.state) d.setState(rec.state);
      if (rec.stats) d.setStats(rec.stats);
      if (rec.silhouette) d.silhouette = rec.silhouette;
      if (rec.pose) d.setPose(rec.pose);
      for (const rep of rec.reps || []) d.addRep(rep);
      d.renderReps();
      const results = rec.results || [];
      if (results.length) d.showResult(results[results.length - 1]);
      d.queueDraw();
    }
  }

  function setBroker(b) {
    if (!b) return;
    conn.broker = !!b.connected;
    conn.detail = b.detail || "";
    renderConn();
  }

  // ---------------------------------------------------------------- transports
  function connectEvents() {
    const source = new EventSource("api/events");
    source.onopen = () => { conn.server = true; renderConn(); };
    source.onerror = () => {
      conn.server = false;
      conn.detail = "down";
      renderConn();
      if (source.readyState === EventSource.CLOSED) {  // refused (e.g. too many pages): retry ourselves
        setTimeout(connectEvents, 3000);
      }
    };
    source.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (_) { return; }
      if (m.type === "snapshot") { conn.server = true; applySnapshot(m); }
      else if (m.type === "broker") setBroker(m);
      else if (m.type === "msg") device(m.device).apply(m.kind, m.data);
    };
  }

  function connectBroker() {
    const script = document.createElement("script");
    script.src = "static/vendor/mqtt.min.js";
    script.onerror = () => { conn.detail = "cannot load mqtt.min.js"; renderConn(); };
    script.onload = () => {
      const prefix = cfg.topic_prefix;
      mqttClient = mqtt.connect(WS_URL, {
        clientId: "edge-pose-web-" + Math.random().toString(16).slice(2, 8),
        username: params.get("username") || undefined,
        password: params.get("password") || undefined,
        reconnectPeriod: 2000, connectTimeout: 5000, clean: true,
      });
      mqttClient.on("connect", () => {
        conn.broker = true; renderConn();
        mqttClient.subscribe(KINDS.map((k) => `${prefix}/+/${k}`), { qos: 1 });
      });
      const down = () => { conn.broker = false; conn.detail = "down"; renderConn(); };
      mqttClient.on("close", down);
      mqttClient.on("offline", down);
      mqttClient.on("error", (err) => { conn.detail = err.message; renderConn(); });
      mqttClient.on("message", (topic, payload) => {
        if (!topic.startsWith(prefix + "/")) return;
        const rest = topic.slice(prefix.length + 1);
        const slash = rest.indexOf("/");
        const id = rest.slice(0, slash), kind = rest.slice(slash + 1);
        if (!KINDS.includes(kind) || !/^[a-z0-9_-]{1,64}$/.test(id)) return;
        const text = new TextDecoder().decode(payload);
        let data = null;
        if (kind === "availability") data = text.trim() || null;
        else if (text) { try { data = JSON.parse(text); } catch (_) { return; } }
        device(id).apply(kind, data);
      });
    };
    document.head.append(script);
  }

  async function loadConfig() {
    for (;;) {
      try {
        const res = await fetch("api/config");
        if (res.ok) {
          const c = await res.json();
          cfg.skeleton = c.skeleton;
          cfg.exercises = c.exercises || cfg.exercises;
          if (!params.get("prefix")) cfg.topic_prefix = c.topic_prefix || cfg.topic_prefix;
          return;
        }
      } catch (_) { /* server not up yet */ }
      conn.detail = "down";
      renderConn();
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  async function main() {
    renderConn();
    await loadConfig();
    $("#prefix").textContent = cfg.topic_prefix;
    for (const d of devices.values()) d.fillExercises();
    if (WS_URL) connectBroker(); else connectEvents();
    setInterval(() => devices.forEach((d) => d.tick()), 500);
    let timer = null;
    window.addEventListener("resize", () => {
      clearTimeout(timer);
      timer = setTimeout(() => devices.forEach((d) => d.resize()), 150);
    });
  }

  window.edgePoseDashboard = { devices, conn, cfg };
  main();
})();

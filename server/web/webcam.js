// The live webcam page: frames from getUserMedia go to this server's
// v1/detect as JPEG, a few requests in flight, and each answer is drawn
// over the video. The server runs the native detector (AVX-512 kernels on
// both cores), many times faster than the WebAssembly build in a browser,
// so even a phone gets a usable frame rate.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const video = $("video"), overlay = $("overlay"), fpsEl = $("fps");
  const statusEl = $("status"), errorEl = $("error");
  const startBtn = $("start"), stopBtn = $("stop");
  const minSize = $("min_size"), depth = $("depth");

  const grab = document.createElement("canvas"); // frames to encode
  let stream = null;
  let running = false;
  let inFlight = 0;
  let sent = 0;         // sequence number of the last frame sent
  let shown = 0;        // sequence number of the answer on screen
  const done = [];      // completion times of the last answers, for the fps
  // Exposed for tests and curious users.
  const stats = window.webcamStats = { frames: 0, fps: 0, faces: [], width: 0, height: 0, lastMS: 0 };

  function setState(state, message) {
    document.body.dataset.state = state;
    statusEl.textContent = message;
  }

  function showError(message) {
    errorEl.textContent = message;
    errorEl.hidden = false;
    setState("error", "Failed.");
  }

  function draw(result) {
    overlay.width = video.videoWidth;
    overlay.height = video.videoHeight;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    const sx = overlay.width / result.width, sy = overlay.height / result.height;
    const lw = Math.max(2, Math.round(Math.min(overlay.width, overlay.height) / 200));
    ctx.lineWidth = lw;
    for (const f of result.faces) {
      const [x1, y1, x2, y2] = f.box;
      ctx.strokeStyle = "#0f0";
      ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
      ctx.fillStyle = "#f00";
      for (const [x, y] of f.landmarks) {
        ctx.beginPath();
        ctx.arc(x * sx, y * sy, lw, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }

  function tick(now) {
    done.push(now);
    while (done.length && now - done[0] > 2000) done.shift();
    const span = (done[done.length - 1] - done[0]) / 1000;
    stats.fps = done.length > 1 && span > 0 ? (done.length - 1) / span : 0;
    fpsEl.textContent = `${stats.fps.toFixed(1)} frames/s (last answer ${stats.lastMS.toFixed(0)} ms)`;
  }

  async function sendFrame() {
    if (!running || video.videoWidth === 0) return;
    const mine = ++sent;
    inFlight++;
    grab.width = video.videoWidth;
    grab.height = video.videoHeight;
    grab.getContext("2d").drawImage(video, 0, 0);
    const t0 = performance.now();
    try {
      const blob = await new Promise((res) => grab.toBlob(res, "image/jpeg", 0.85));
      const resp = await fetch("v1/detect?min_size=" + encodeURIComponent(minSize.value), {
        method: "POST", headers: { "Content-Type": "image/jpeg" }, body: blob,
      });
      const body = await resp.json().catch(() => null);
      if (!resp.ok) {
        // 503: the server is busy; skip this frame, keep going.
        if (resp.status !== 503) {
          showError(`Error ${resp.status}: ${body && body.error ? body.error.message : resp.statusText}`);
          stop();
        }
        return;
      }
      const now = performance.now();
      stats.lastMS = now - t0;
      tick(now);
      if (mine > shown && running) { // answers may overtake each other
        shown = mine;
        stats.frames++;
        stats.faces = body.faces;
        stats.width = body.width;
        stats.height = body.height;
        draw(body);
        setState("running", `${body.faces.length} face(s)`);
      }
    } catch (e) {
      if (running) { showError(`Request failed: ${e}`); stop(); }
    } finally {
      inFlight--;
      pump();
    }
  }

  function pump() {
    while (running && inFlight < Number(depth.value)) sendFrame();
  }

  async function start() {
    errorEl.hidden = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError("This browser has no camera access here (it needs https or localhost).");
      return;
    }
    setState("starting", "Asking for the camera…");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (e) {
      showError(`No camera: ${e.message || e}`);
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    if (video.videoWidth === 0) {
      await new Promise((res) => video.addEventListener("loadedmetadata", res, { once: true }));
    }
    running = true;
    startBtn.disabled = true;
    stopBtn.disabled = false;
    setState("running", "Detecting…");
    pump();
  }

  function stop() {
    running = false;
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    startBtn.disabled = false;
    stopBtn.disabled = true;
    if (document.body.dataset.state !== "error") setState("idle", "Camera off.");
  }

  startBtn.addEventListener("click", start);
  stopBtn.addEventListener("click", stop);
  for (const s of [minSize, depth]) {
    const out = $(s.id + "_out");
    s.addEventListener("input", () => { out.textContent = s.value; pump(); });
  }
  // ?start=1 starts at once (kiosks, tests).
  if (new URLSearchParams(location.search).get("start") === "1") start();
})();

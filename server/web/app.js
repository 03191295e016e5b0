// The page's logic: send the chosen image to v1/detect and draw the
// answer on a canvas. No dependencies, no network besides this server.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const fileInput = $("file"), drop = $("drop"), canvas = $("result");
  const statusEl = $("status"), errorEl = $("error"), countEl = $("count");
  const facesEl = $("faces"), timingEl = $("timing"), again = $("detect");
  const sliders = ["min_size", "factor", "t1", "t2", "t3"].map($);
  const inBrowser = $("in_browser"), inBrowserLabel = $("in_browser_label");

  let file = null;      // the current image file
  let bitmap = null;    // its decoded pixels, upright
  let result = null;    // the last /v1/detect answer
  let active = -1;      // the face under the pointer in the list
  let seq = 0;          // drops answers to superseded requests

  function setState(state, message) {
    document.body.dataset.state = state;
    statusEl.textContent = message;
  }

  function showError(message) {
    errorEl.textContent = message;
    errorEl.hidden = false;
    setState("error", "Failed.");
  }

  function query() {
    const v = (i) => sliders[i].value;
    const p = new URLSearchParams({
      min_size: v(0), factor: v(1), thresholds: [v(2), v(3), v(4)].join(","),
    });
    return p.toString();
  }

  // The same options for in-browser detection (wasm/mtcnn-wasm.js).
  function options() {
    const v = (i) => Number(sliders[i].value);
    return { min_size: v(0), factor: v(1), thresholds: [v(2), v(3), v(4)] };
  }

  // detectHere runs the detector compiled to WebAssembly in a worker; its
  // answer has the shape of /v1/detect's.
  async function detectHere(mine) {
    const body = await window.mtcnnWasm.detect(file, options());
    if (mine !== seq) return;
    result = body;
    active = -1;
    draw();
    list();
    setState("done", `Found ${result.faces.length} face(s) in this browser.`);
  }

  function draw() {
    if (!bitmap) return;
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(bitmap, 0, 0);
    if (!result) return;
    // The server reports the size it decoded; scale in case the browser
    // oriented the image differently.
    const sx = canvas.width / result.width, sy = canvas.height / result.height;
    const lw = Math.max(2, Math.round(Math.min(canvas.width, canvas.height) / 300));
    result.faces.forEach((f, i) => {
      const [x1, y1, x2, y2] = f.box;
      ctx.lineWidth = i === active ? lw * 2 : lw;
      ctx.strokeStyle = i === active ? "#ff0" : "#0f0";
      ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
      ctx.fillStyle = "#f00";
      for (const [x, y] of f.landmarks) {
        ctx.beginPath();
        ctx.arc(x * sx, y * sy, lw, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
  }

  function list() {
    facesEl.replaceChildren();
    countEl.textContent = String(result ? result.faces.length : 0);
    if (!result) { timingEl.textContent = ""; return; }
    result.faces.forEach((f, i) => {
      const li = document.createElement("li");
      li.className = "face";
      li.dataset.score = String(f.score);
      const [x1, y1, x2, y2] = f.box.map((v) => Math.round(v));
      li.textContent = `score ${f.score.toFixed(4)} at (${x1}, ${y1}), ${x2 - x1}×${y2 - y1} px`;
      li.addEventListener("mouseenter", () => { active = i; li.classList.add("active"); draw(); });
      li.addEventListener("mouseleave", () => { active = -1; li.classList.remove("active"); draw(); });
      facesEl.append(li);
    });
    const t = result.timing_ms;
    timingEl.textContent = `${result.width}×${result.height} px; detection ${t.total.toFixed(1)} ms ` +
      `(P-Net ${t.pnet.toFixed(1)}, R-Net ${t.rnet.toFixed(1)}, O-Net ${t.onet.toFixed(1)})`;
  }

  async function detect() {
    if (!file) return;
    const mine = ++seq;
    errorEl.hidden = true;
    again.disabled = true;
    setState("loading", "Detecting…");
    try {
      if (inBrowser.checked && window.mtcnnWasm) {
        await detectHere(mine);
        return;
      }
      const resp = await fetch("v1/detect?" + query(), {
        method: "POST",
        headers: { "Content-Type": file.type || "application/octet-stream" },
        body: file,
      });
      const body = await resp.json().catch(() => null);
      if (mine !== seq) return;
      if (!resp.ok) {
        const msg = body && body.error ? body.error.message : resp.statusText;
        showError(`Error ${resp.status}: ${msg}`);
        return;
      }
      result = body;
      active = -1;
      draw();
      list();
      setState("done", `Found ${result.faces.length} face(s).`);
    } catch (e) {
      if (mine === seq) showError(`Request failed: ${e}`);
    } finally {
      if (mine === seq) again.disabled = false;
    }
  }

  async function choose(f) {
    if (!f) return;
    file = f;
    result = null;
    list();
    errorEl.hidden = true;
    try {
      bitmap = await createImageBitmap(f, { imageOrientation: "from-image" });
    } catch (e) {
      // The browser cannot show it; the server may still read it.
      bitmap = null;
      canvas.width = canvas.height = 0;
    }
    draw();
    await detect();
  }

  // Offer in-browser detection when the server has the wasm build.
  if (window.mtcnnWasm) {
    window.mtcnnWasm.available().then((ok) => { inBrowserLabel.hidden = !ok; });
  }
  inBrowser.addEventListener("change", detect);

  fileInput.addEventListener("change", () => choose(fileInput.files[0]));
  again.addEventListener("click", detect);

  let timer = 0;
  for (const s of sliders) {
    const out = $(s.id + "_out");
    s.addEventListener("input", () => {
      out.textContent = s.value;
      clearTimeout(timer);
      timer = setTimeout(detect, 300);
    });
  }

  for (const ev of ["dragenter", "dragover"]) {
    document.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const ev of ["dragleave", "drop"]) {
    document.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  document.addEventListener("drop", (e) => {
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) choose(f);
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fileInput.click(); }
  });
})();

// The demo page: each panel streams one render from /api/compute/{mode}/stream (Server-Sent
// Events read with fetch, so Stop can abort it and errors keep their message), paints every
// tile as it arrives, and keeps the records to replay the run in slow motion.
"use strict";

// One colour per thread, easy to tell apart (matplotlib's tab10).
const THREAD_COLOURS = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];
const threadColour = (id) => THREAD_COLOURS[id % THREAD_COLOURS.length];
const IMAGE = { width: 800, height: 600 };

// Escape counts to colours: points in the set (count == max_iter) black, the others along a
// blue-gold gradient on a log scale, so that the many fast-escaping points still show detail.
function palette(maxIter) {
  const stops = [[0, [0, 7, 100]], [0.16, [32, 107, 203]], [0.42, [237, 255, 255]],
    [0.64, [255, 170, 0]], [0.86, [120, 40, 0]], [1, [0, 2, 0]]];
  const table = new Uint8ClampedArray((maxIter + 1) * 3);
  for (let n = 0; n <= maxIter; n++) {
    const t = n >= maxIter ? 1 : Math.log(1 + n) / Math.log(1 + maxIter);
    let i = 1;
    while (i < stops.length - 1 && stops[i][0] < t) i++;
    const [t0, c0] = stops[i - 1];
    const [t1, c1] = stops[i];
    const f = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
    for (let k = 0; k < 3; k++) table[n * 3 + k] = c0[k] + f * (c1[k] - c0[k]);
  }
  for (let k = 0; k < 3; k++) table[maxIter * 3 + k] = 0;
  return table;
}

// A tile's escape counts from the stream: base64 of little-endian uint32, row-major.
function decodeCounts(text) {
  const bytes = Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  const counts = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < counts.length; i++) counts[i] = view.getUint32(4 * i, true);
  return counts;
}

// Reads a text/event-stream response, calling handlers[event](data) for each message.
async function readEvents(response, handlers) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (handlers[event] && data.length) handlers[event](JSON.parse(data.join("\n")));
    }
  }
}

class Panel {
  constructor(section) {
    this.section = section;
    this.mode = section.dataset.mode;
    this.canvas = section.querySelector("canvas");
    this.ctx = this.canvas.getContext("2d");
    this.info = section.querySelector(".info-display");
    this.runButton = section.querySelector("button.run");
    this.stopButton = section.querySelector("button.stop");
    this.replayButton = section.querySelector("button.replay");
    this.speed = section.querySelector("input.speed");
    this.outline = section.querySelector("input.outline");
    this.container = section.querySelector(".thread-container");
    this.tiles = [];
    this.controller = null;
    this.replaying = null;
    this.result = null;

    this.runButton.addEventListener("click", () => this.run());
    this.stopButton.addEventListener("click", () => this.stop());
    this.replayButton.addEventListener("click", () => this.replay());
    this.speed.addEventListener("input", () => {
      section.querySelector(".speed-value").textContent = `${this.speed.value}× slower than real time`;
    });
    if (this.outline) this.outline.addEventListener("change", () => this.repaint(Infinity));
    this.clearCanvas();
  }

  params() {
    const tile = document.getElementById("tile-size").value;
    const query = {
      width: IMAGE.width, height: IMAGE.height, tile_w: tile, tile_h: tile,
      max_iter: document.getElementById("max-iter").value,
      time_limit_ms: document.getElementById("time-limit").value,
    };
    if (this.mode === "concurrent") {
      query.num_threads = this.section.querySelector("input.threads").value;
      query.strategy = this.section.querySelector("select.strategy").value;
    }
    return new URLSearchParams(query);
  }

  setState(state, text) {
    this.section.dataset.state = state;
    this.info.className = `info-display ${state}`;
    this.info.textContent = text;
    const busy = state === "running" || state === "replaying";
    this.runButton.disabled = busy;
    this.stopButton.disabled = !busy;
    this.replayButton.disabled = busy;
  }

  clearCanvas() {
    this.ctx.fillStyle = "#333";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  async run() {
    this.stop(true);
    this.tiles = [];
    this.result = null;
    this.clearCanvas();
    this.container.hidden = true;
    this.container.querySelector(".replay-controls").hidden = true;
    this.setState("running", `Running the ${this.mode} render…`);
    const controller = (this.controller = new AbortController());
    try {
      const response = await fetch(`api/compute/${this.mode}/stream?${this.params()}`, {
        signal: controller.signal,
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({ message: response.statusText }));
        this.setState("error", `Error ${response.status}: ${body.message}`);
        return;
      }
      await readEvents(response, {
        start: (data) => this.onStart(data),
        progress: (data) => this.onProgress(data),
        complete: (data) => this.onComplete(data),
        error: (data) => this.setState("error", `Error: ${data.message}`),
      });
      if (this.section.dataset.state === "running") this.setState("error", "The server closed the stream early");
    } catch (error) {
      if (error.name !== "AbortError") this.setState("error", `Error: ${error.message}`);
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  stop(quiet = false) {
    if (this.controller) this.controller.abort(); // the server cancels the render when we hang up
    this.controller = null;
    if (this.replaying) cancelAnimationFrame(this.replaying);
    this.replaying = null;
    if (!quiet) {
      const done = this.tiles.length;
      this.setState("stopped", `Stopped after ${done}/${this.total || "?"} tiles`);
    }
  }

  onStart(data) {
    this.total = data.total_tasks;
    this.threads = data.num_threads;
    this.maxIter = data.params.max_iter;
    this.timeLimit = data.params.time_limit_ms;
    this.colours = palette(this.maxIter);
    this.makeBars();
  }

  onProgress(data) {
    const task = data.task;
    task.end_time_ms = task.start_time_ms + task.duration_ms;
    const counts = decodeCounts(data.counts_base64);
    this.tiles.push({ task, counts });
    this.paintTile(task, counts);
    this.info.textContent = `Processing: ${data.current}/${data.total} tiles (thread ${task.thread_id} finished tile ${task.task_id})`;
    this.scheduleBars(Infinity);
  }

  onComplete(data) {
    this.result = data;
    this.controller = null;
    const limited = data.was_time_limited ? " — time limit reached" : "";
    const threads = data.num_threads === 1 ? "1 thread" : `${data.num_threads} threads (${data.strategy})`;
    this.setState(
      "complete",
      `Completed: ${data.completed_tasks}/${data.total_tasks} tiles using ${threads} in ${data.elapsed_ms.toFixed(1)} ms${limited}. Replay to watch it again.`,
    );
    this.drawBars(Infinity);
    this.container.querySelector(".replay-controls").hidden = false;
    summarise();
  }

  paintTile(task, counts) {
    const image = this.ctx.createImageData(task.tile_w, task.tile_h);
    const px = image.data;
    for (let p = 0, i = 0; p < counts.length; p++, i += 4) {
      const c = Math.min(counts[p], this.maxIter) * 3;
      px[i] = this.colours[c];
      px[i + 1] = this.colours[c + 1];
      px[i + 2] = this.colours[c + 2];
      px[i + 3] = 255;
    }
    this.ctx.putImageData(image, task.tile_x, task.tile_y);
    if (this.outline && this.outline.checked) {
      this.ctx.strokeStyle = threadColour(task.thread_id);
      this.ctx.lineWidth = 2;
      this.ctx.strokeRect(task.tile_x + 1, task.tile_y + 1, task.tile_w - 2, task.tile_h - 2);
    }
  }

  // Paints the tiles finished by time t (ms since the run started).
  repaint(t) {
    this.clearCanvas();
    for (const { task, counts } of this.tiles) if (task.end_time_ms <= t) this.paintTile(task, counts);
  }

  makeBars() {
    const bars = this.container.querySelector(".bars");
    bars.innerHTML = "";
    this.bars = [];
    for (let id = 0; id < this.threads; id++) {
      const div = document.createElement("div");
      div.className = "thread-bar";
      div.innerHTML = `
        <div class="thread-label"><span>${this.threads === 1 ? "The only thread" : `Thread ${id}`}</span>
          <span class="thread-stats">0 tiles</span></div>
        <div class="progress-bar"><div class="progress-fill"></div><span class="progress-text">0%</span></div>
        <canvas class="lane" width="760" height="12"></canvas>`;
      div.querySelector(".progress-fill").style.background = threadColour(id);
      bars.appendChild(div);
      this.bars.push({
        stats: div.querySelector(".thread-stats"),
        fill: div.querySelector(".progress-fill"),
        text: div.querySelector(".progress-text"),
        lane: div.querySelector("canvas.lane"),
      });
    }
    this.container.hidden = false;
    this.drawBars(Infinity);
  }

  scheduleBars(t) {
    if (this.barsPending) return;
    this.barsPending = requestAnimationFrame(() => {
      this.barsPending = null;
      this.drawBars(t);
    });
  }

  // Each bar: the share of the image its thread had rendered by time t. Under it, the thread's
  // lane: a block for every tile, from its start to its end, on the run's time axis (which
  // grows as tiles arrive); a red line marks the time limit when the run reached it.
  drawBars(t) {
    if (!this.bars) return;
    const span = Math.max(1, ...this.tiles.map(({ task }) => task.end_time_ms));
    const limitShown = this.timeLimit < span;
    this.bars.forEach((bar, id) => {
      const mine = this.tiles.filter(({ task }) => task.thread_id === id && task.start_time_ms <= t);
      const finished = mine.filter(({ task }) => task.end_time_ms <= t);
      const busy = mine.reduce((sum, { task }) => sum + Math.min(task.end_time_ms, t) - task.start_time_ms, 0);
      const share = this.total ? (100 * finished.length) / this.total : 0;
      bar.fill.style.width = `${share}%`;
      bar.text.textContent = `${share.toFixed(0)}% of the image`;
      bar.stats.textContent = `${finished.length} tiles · busy ${busy.toFixed(1)} ms`;
      const ctx = bar.lane.getContext("2d");
      const w = bar.lane.width;
      const h = bar.lane.height;
      ctx.clearRect(0, 0, w, h);
      ctx.fillStyle = threadColour(id);
      for (const { task } of mine) {
        const x0 = (task.start_time_ms / span) * w;
        const x1 = (Math.min(task.end_time_ms, t) / span) * w;
        ctx.fillRect(x0, 0, Math.max(1, x1 - x0 - 0.5), h);
      }
      if (limitShown) {
        ctx.fillStyle = "#ff4d4d";
        ctx.fillRect((this.timeLimit / span) * w - 1, 0, 2, h);
      }
      if (Number.isFinite(t)) {
        ctx.fillStyle = "#fff";
        ctx.fillRect((t / span) * w, 0, 1, h);
      }
    });
    const axis = this.container.querySelector(".axis");
    const limit = limitShown ? ` · red: the ${this.timeLimit} ms time limit` : "";
    axis.innerHTML = `<span>0 ms</span><span>time since the run started${limit} →</span><span>${span.toFixed(1)} ms</span>`;
  }

  // Plays the recorded run again, `speed` times slower: tiles appear when they finished.
  replay() {
    if (!this.tiles.length) return;
    this.stop(true);
    const slow = Number(this.speed.value);
    const end = Math.max(...this.tiles.map(({ task }) => task.end_time_ms));
    const started = performance.now();
    this.setState("replaying", "Replaying the recorded run…");
    this.repaint(-1);
    let shown = 0;
    const frame = (now) => {
      const t = (now - started) / slow;
      const done = this.tiles.filter(({ task }) => task.end_time_ms <= t);
      if (done.length !== shown) {
        this.repaint(t);
        shown = done.length;
      }
      this.drawBars(t);
      this.info.textContent = `Replaying at 1/${slow} speed: ${shown}/${this.tiles.length} tiles at t = ${t.toFixed(1)} ms`;
      if (t < end) {
        this.replaying = requestAnimationFrame(frame);
      } else {
        this.replaying = null;
        this.repaint(Infinity);
        this.drawBars(Infinity);
        this.setState("complete", "Replay complete. Each lane shows when its thread was busy: were they busy at the same time?");
      }
    };
    this.replaying = requestAnimationFrame(frame);
  }
}

const panels = {};

function summarise() {
  const seq = panels.sequential && panels.sequential.result;
  const con = panels.concurrent && panels.concurrent.result;
  const line = (name, r) =>
    `${name}: ${r.completed_tasks}/${r.total_tasks} tiles in ${r.elapsed_ms.toFixed(1)} ms` +
    (r.was_time_limited ? " (time limit reached)" : "");
  const parts = [];
  if (seq) parts.push(line("Sequential", seq));
  if (con) parts.push(line(`Concurrent, ${con.num_threads} threads (${con.strategy})`, con));
  if (seq && con && !seq.was_time_limited && !con.was_time_limited) {
    parts.push(`Speedup: ${(seq.elapsed_ms / con.elapsed_ms).toFixed(2)}× on this server right now.`);
  } else if (seq && con) {
    parts.push(`Within the time limit: ${con.completed_tasks} tiles concurrently, ${seq.completed_tasks} sequentially.`);
  }
  document.getElementById("summary").textContent = parts.length ? parts.join(" · ") : "Run both modes to compare them.";
}

for (const section of document.querySelectorAll("section[data-mode]")) {
  panels[section.dataset.mode] = new Panel(section);
}

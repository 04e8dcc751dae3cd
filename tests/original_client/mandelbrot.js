// A stand-in for the course page's assets/js/mandelbrot.js, which seed 000 loads but does
// not contain. It offers what the page's script uses (new MandelbrotAPI(config), on, start,
// stop) and calls the API the way the course's clients do: fetch only, GET
// {apiBaseUrl}/{mode}?width=…, with the course's fetch options (CORS mode, credentials, a
// JSON Content-Type and an X-Origin header — two non-simple headers, so the browser sends
// a preflight first). It draws each tile's rectangle in its thread's grey, in start order.
// The test replaces the API address below with the lab server's.

const API_BASE_URL = 'http://localhost:8405/api/compute';

const FETCH_OPTIONS = {
  method: 'GET',
  mode: 'cors',
  cache: 'default',
  credentials: 'include',
  headers: { 'Content-Type': 'application/json', 'X-Origin': 'client' },
};

const GREYS = ['#2a2a2a', '#3d3d3d', '#505050', '#636363', '#767676', '#898989', '#9c9c9c', '#afafaf'];

class MandelbrotAPI {
  constructor(config) {
    this.config = { apiBaseUrl: API_BASE_URL, mode: 'sequential', num_threads: 4, ...config };
    this.canvas = document.getElementById(this.config.canvasId);
    this.canvas.width = this.config.width;
    this.canvas.height = this.config.height;
    this.ctx = this.canvas.getContext('2d');
    this.handlers = { progress: [], complete: [], error: [] };
    this.controller = null;
  }

  on(event, callback) {
    (this.handlers[event] ||= []).push(callback);
  }

  emit(event, data) {
    for (const callback of this.handlers[event] || []) callback(data);
  }

  query() {
    const { width, height, tile_w, tile_h, max_iter, time_limit_ms, mode, num_threads } = this.config;
    const params = new URLSearchParams({ width, height, tile_w, tile_h, max_iter, time_limit_ms });
    if (mode === 'concurrent') params.append('num_threads', num_threads);
    return params;
  }

  async start() {
    this.controller = new AbortController();
    const url = `${this.config.apiBaseUrl}/${this.config.mode}?${this.query()}`;
    try {
      const response = await fetch(url, { ...FETCH_OPTIONS, signal: this.controller.signal });
      const result = await response.json();
      if (!response.ok || !result.success) throw new Error(result.message || result.error || 'API request failed');
      const records = [...result.data].sort((a, b) => a.start_time_ms - b.start_time_ms);
      records.forEach((record, i) => {
        this.draw(record);
        this.emit('progress', { current: i + 1, total: records.length, task: record });
      });
      this.emit('complete', {
        completed_tasks: records.length,
        total_tasks: records.length,
        num_threads: this.config.mode === 'concurrent' ? this.config.num_threads : 1,
        was_time_limited: false,
        mode: this.config.mode,
      });
    } catch (error) {
      if (error.name !== 'AbortError') this.emit('error', { message: error.message });
    }
  }

  draw(record) {
    const w = Math.min(record.tile_w, this.canvas.width - record.tile_x);
    const h = Math.min(record.tile_h, this.canvas.height - record.tile_y);
    if (w <= 0 || h <= 0) return;
    this.ctx.fillStyle = GREYS[record.thread_id % GREYS.length];
    this.ctx.fillRect(record.tile_x, record.tile_y, w, h);
    this.ctx.strokeStyle = '#00ffaa';
    this.ctx.strokeRect(record.tile_x, record.tile_y, w, h);
  }

  stop() {
    if (this.controller) this.controller.abort();
  }
}

window.MandelbrotAPI = MandelbrotAPI;

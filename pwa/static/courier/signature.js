// A signature pad on a <canvas>, drawn with pointer events (finger, pen or mouse).

export class SignaturePad {
  constructor(canvas, { onChange } = {}) {
    this.canvas = canvas;
    this.onChange = onChange || (() => {});
    this.strokes = 0;
    this.drawing = false;
    this.last = null;
    this.resize();
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
  }

  resize() {
    const ratio = Math.max(1, window.devicePixelRatio || 1);
    const rect = this.canvas.getBoundingClientRect();
    const w = Math.max(200, Math.round((rect.width || 320) * ratio));
    const h = Math.max(100, Math.round((rect.height || 180) * ratio));
    this.canvas.width = w;
    this.canvas.height = h;
    this.ratio = ratio;
    this.clear();
  }

  clear() {
    const ctx = this.canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.strokes = 0;
    this.onChange(this);
  }

  get isEmpty() {
    return this.strokes === 0;
  }

  point(e) {
    const rect = this.canvas.getBoundingClientRect();
    const sx = this.canvas.width / rect.width;
    const sy = this.canvas.height / rect.height;
    return { x: (e.clientX - rect.left) * sx, y: (e.clientY - rect.top) * sy };
  }

  down(e) {
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.drawing = true;
    this.last = this.point(e);
    this.dot(this.last, e);
  }

  move(e) {
    if (!this.drawing) return;
    e.preventDefault();
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev);
      this.line(this.last, p, ev);
      this.last = p;
    }
  }

  up(e) {
    if (!this.drawing) return;
    this.drawing = false;
    this.canvas.releasePointerCapture?.(e.pointerId);
    this.strokes += 1;
    this.onChange(this);
  }

  width(e) {
    const pressure = e.pressure && e.pointerType === "pen" ? e.pressure : 0.5;
    return (2 + 3 * pressure) * this.ratio;
  }

  dot(p, e) {
    const ctx = this.canvas.getContext("2d");
    ctx.fillStyle = "#111111";
    ctx.beginPath();
    ctx.arc(p.x, p.y, this.width(e) / 2, 0, Math.PI * 2);
    ctx.fill();
  }

  line(a, b, e) {
    const ctx = this.canvas.getContext("2d");
    ctx.strokeStyle = "#111111";
    ctx.lineWidth = this.width(e);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }

  /** The signature as a PNG data URL. */
  toDataURL() {
    return this.canvas.toDataURL("image/png");
  }
}

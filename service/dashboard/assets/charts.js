// SVG charts drawn by hand: bars, a donut, horizontal bars, an area over days, and a range
// plot of percentiles. Each chart is an <svg data-chart="name">, and each mark it draws
// carries data-label and data-value, so tests (and curious people) can read what was drawn.
// Hovering a mark shows its <title>.

import { h, number } from "./dom.js";

const FONT = 11;

function svg(name, width, height, ...children) {
  return h(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${width} ${height}`,
      preserveAspectRatio: "xMidYMid meet",
      role: "img",
      "aria-label": name,
      dataset: { chart: name },
    },
    ...children,
  );
}

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Gridlines from 0 to max: whole steps for counts (0, 1, 2 ... or 0, 10, 20 ...). */
function ticks(max) {
  let count = 4;
  if (max <= 5 && Number.isInteger(max)) count = Math.max(1, max);
  else if ((max * 2) % 5 === 0) count = 5;
  return Array.from({ length: count + 1 }, (_, i) => (max * i) / count);
}

function compact(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/**
 * Grouped vertical bars. rows: [{label, values: {key: n}}]; series: [{key, label, color}].
 */
export function barChart(name, rows, series, { width = 720, height = 220, every = 1 } = {}) {
  const pad = { left: 36, right: 8, top: 12, bottom: 24 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const top = niceMax(Math.max(0, ...rows.flatMap((r) => series.map((s) => r.values[s.key] || 0))));
  const y = (v) => pad.top + innerH - (v / top) * innerH;
  const band = innerW / Math.max(1, rows.length);
  const barW = Math.max(2, (band * 0.78) / series.length);
  const grid = ticks(top).map((t) =>
    h(
      "g",
      { class: "grid" },
      h("line", { x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t) }),
      h("text", { x: pad.left - 6, y: y(t) + 4, "text-anchor": "end", "font-size": FONT }, compact(t)),
    ),
  );
  const bars = rows.map((row, i) => {
    const x0 = pad.left + i * band + (band - barW * series.length) / 2;
    return h(
      "g",
      { class: "group" },
      series.map((s, j) => {
        const v = row.values[s.key] || 0;
        return h(
          "rect",
          {
            class: "bar",
            x: x0 + j * barW,
            y: y(v),
            width: Math.max(1, barW - 1),
            height: Math.max(0, pad.top + innerH - y(v)),
            rx: 2,
            fill: s.color,
            dataset: { label: row.label, series: s.key, value: v },
          },
          h("title", `${row.label} · ${s.label}: ${number(v)}`),
        );
      }),
      i % every === 0
        ? h(
            "text",
            { x: pad.left + i * band + band / 2, y: height - 6, "text-anchor": "middle", "font-size": FONT, class: "axis" },
            row.label,
          )
        : null,
    );
  });
  return svg(name, width, height, grid, bars);
}

/** A donut of parts [{label, value, color}], the total in its middle. */
export function donut(name, parts, { size = 180, caption = "reviews" } = {}) {
  const total = parts.reduce((sum, p) => sum + p.value, 0);
  const r = size / 2 - 10;
  const c = size / 2;
  const stroke = 26;
  const circumference = 2 * Math.PI * r;
  let offset = 0;
  const arcs = parts.map((p) => {
    const length = total ? (p.value / total) * circumference : 0;
    const arc = h(
      "circle",
      {
        class: "arc",
        cx: c,
        cy: c,
        r,
        fill: "none",
        stroke: p.color,
        "stroke-width": stroke,
        "stroke-dasharray": `${length} ${circumference - length}`,
        "stroke-dashoffset": -offset,
        transform: `rotate(-90 ${c} ${c})`,
        dataset: { label: p.label, value: p.value },
      },
      h("title", `${p.label}: ${number(p.value)} (${total ? Math.round((100 * p.value) / total) : 0}%)`),
    );
    offset += length;
    return arc;
  });
  return svg(
    name,
    size,
    size,
    h("circle", { cx: c, cy: c, r, fill: "none", class: "track", "stroke-width": stroke }),
    arcs,
    h("text", { x: c, y: c + 2, "text-anchor": "middle", class: "big" }, number(total)),
    h("text", { x: c, y: c + 20, "text-anchor": "middle", class: "axis", "font-size": FONT }, caption),
  );
}

/** Horizontal bars [{label, value, color, note}], longest first as given. */
export function hbars(name, items, { width = 420, row = 26, labelWidth = 150 } = {}) {
  const height = Math.max(row, items.length * row) + 4;
  const max = Math.max(1, ...items.map((i) => i.value));
  const barSpace = width - labelWidth - 48;
  return svg(
    name,
    width,
    height,
    items.map((item, i) => {
      const y = i * row + 4;
      const w = Math.max(2, (item.value / max) * barSpace);
      const label = item.label.length > 24 ? `${item.label.slice(0, 23)}…` : item.label;
      return h(
        "g",
        { class: "hbar" },
        h("text", { x: labelWidth - 8, y: y + row / 2 + 1, "text-anchor": "end", "font-size": 12, class: "label" }, label),
        h(
          "rect",
          {
            class: "bar",
            x: labelWidth,
            y: y + 3,
            width: w,
            height: row - 10,
            rx: 4,
            fill: item.color,
            dataset: { label: item.label, value: item.value },
          },
          h("title", `${item.label}: ${number(item.value)}${item.note ? ` · ${item.note}` : ""}`),
        ),
        h("text", { x: labelWidth + w + 6, y: y + row / 2 + 1, "font-size": 11, class: "axis" }, number(item.value)),
      );
    }),
  );
}

/** An area over days: points [{day: "YYYY-MM-DD", value}], in order. */
export function areaChart(name, points, { width = 720, height = 200, color = "#6366f1" } = {}) {
  const pad = { left: 36, right: 10, top: 12, bottom: 24 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const top = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const x = (i) => pad.left + (points.length < 2 ? innerW / 2 : (i / (points.length - 1)) * innerW);
  const y = (v) => pad.top + innerH - (v / top) * innerH;
  const line = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const area = points.length
    ? `${line} L${x(points.length - 1).toFixed(1)},${y(0)} L${x(0).toFixed(1)},${y(0)} Z`
    : "";
  const labelEvery = Math.max(1, Math.ceil(points.length / 6));
  return svg(
    name,
    width,
    height,
    ticks(top).map((t) =>
      h(
        "g",
        { class: "grid" },
        h("line", { x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t) }),
        h("text", { x: pad.left - 6, y: y(t) + 4, "text-anchor": "end", "font-size": FONT }, compact(t)),
      ),
    ),
    h("path", { d: area, fill: color, "fill-opacity": 0.16, stroke: "none" }),
    h("path", { d: line, fill: "none", stroke: color, "stroke-width": 2, "stroke-linejoin": "round" }),
    points.map((p, i) =>
      h(
        "circle",
        { class: "dot", cx: x(i), cy: y(p.value), r: points.length > 60 ? 1.5 : 3, fill: color, dataset: { label: p.day, value: p.value } },
        h("title", `${p.day}: ${number(p.value)}`),
      ),
    ),
    points.map((p, i) =>
      i % labelEvery === 0 || i === points.length - 1
        ? h("text", { x: x(i), y: height - 6, "text-anchor": "middle", "font-size": FONT, class: "axis" }, p.day.slice(5))
        : null,
    ),
  );
}

/**
 * Percentiles per row on a log-scale time axis: a bar from p50 to p99, ticks at p50/p90/p99
 * and a dot at the max. rows: [{label, color, p: {count, p50, p90, p99, max} | null}].
 */
export function rangePlot(name, rows, { width = 720, row = 34 } = {}) {
  const labelWidth = 130;
  const pad = { right: 16, top: 8, bottom: 26 };
  const height = rows.length * row + pad.top + pad.bottom;
  const values = rows.flatMap((r) => (r.p ? [r.p.p50, r.p.max] : [])).filter((v) => v > 0);
  const low = Math.max(0.001, 10 ** Math.floor(Math.log10(Math.min(1, ...values))));
  const high = Math.max(low * 100, 10 ** Math.ceil(Math.log10(Math.max(...values, low))));
  const innerW = width - labelWidth - pad.right;
  const x = (v) => labelWidth + ((Math.log10(Math.max(low, v)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * innerW;
  const axis = [];
  for (let v = low; v <= high * 1.0001; v *= 10) {
    axis.push(
      h(
        "g",
        { class: "grid" },
        h("line", { x1: x(v), x2: x(v), y1: pad.top, y2: height - pad.bottom }),
        h("text", { x: x(v), y: height - 8, "text-anchor": "middle", "font-size": FONT }, timeLabel(v)),
      ),
    );
  }
  const marks = rows.map((r, i) => {
    const y = pad.top + i * row + row / 2;
    const label = h("text", { x: labelWidth - 10, y: y + 4, "text-anchor": "end", "font-size": 12, class: "label" }, r.label);
    if (!r.p) {
      return h("g", { class: "range empty", dataset: { label: r.label } }, label,
        h("text", { x: labelWidth + 6, y: y + 4, "font-size": 11, class: "axis" }, "none that day"));
    }
    const { p50, p90, p99, max, count } = r.p;
    const tip = `${r.label}: p50 ${timeLabel(p50)} · p90 ${timeLabel(p90)} · p99 ${timeLabel(p99)} · max ${timeLabel(max)} (${count})`;
    return h(
      "g",
      { class: "range", dataset: { label: r.label, p50, p90, p99, max, count } },
      h("title", tip),
      label,
      h("line", { x1: x(p50), x2: x(max), y1: y, y2: y, stroke: r.color, "stroke-opacity": 0.35, "stroke-width": 2 }),
      h("rect", { x: x(p50), y: y - 8, width: Math.max(3, x(p99) - x(p50)), height: 16, rx: 4, fill: r.color, "fill-opacity": 0.25 }),
      [p50, p90, p99].map((v, k) =>
        h("line", { x1: x(v), x2: x(v), y1: y - 9, y2: y + 9, stroke: r.color, "stroke-width": k === 0 ? 3 : 2 }),
      ),
      h("circle", { cx: x(max), cy: y, r: 4, fill: r.color }),
    );
  });
  return svg(name, width, height, axis, marks);
}

export function timeLabel(seconds) {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${+seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${+(seconds / 60).toFixed(seconds < 600 ? 1 : 0)} min`;
  if (seconds < 86400) return `${+(seconds / 3600).toFixed(1)} h`;
  return `${+(seconds / 86400).toFixed(1)} d`;
}

/** A thin stacked bar (e.g. a sentiment split) as an HTML element. */
export function stackBar(parts, { title } = {}) {
  const total = parts.reduce((s, p) => s + p.value, 0);
  return h(
    "div.stack",
    { title: title || parts.map((p) => `${p.label} ${number(p.value)}`).join(" · ") },
    parts.map((p) =>
      h("span", {
        class: `seg ${p.cls || ""}`,
        style: { width: `${total ? (100 * p.value) / total : 0}%` },
        dataset: { label: p.label, value: p.value },
      }),
    ),
  );
}

/** A legend: [{label, color}] */
export function legend(items) {
  return h(
    "div.legend",
    items.map((i) => h("span.key", h("i", { style: { background: i.color } }), i.label)),
  );
}
